"""How the GPUs of one GPU NodePool are shared (`compute.karpenter.gpu_pool.sharing`,
`gpu_pools.<name>.sharing`), and what a shared pool puts on its nodes.

- `whole` (default): one pod per GPU, `nvidia.com/gpu`.
- `time-slicing`: the device plugin advertises `replicas` x the GPUs under the **same** name
  `nvidia.com/gpu` (`renameByDefault: false`). Why not `nvidia.com/gpu.shared`: Karpenter decides
  what to launch from the EC2 GPU count under `nvidia.com/gpu` and knows no other GPU resource
  name, so a pod asking for `nvidia.com/gpu.shared` would never make it launch a node. Kept
  under the same name, Karpenter sizes new nodes pessimistically (one GPU per pending pod) and the
  scheduler packs `replicas` pods per GPU once the node is up. Pods tell shared from whole GPUs by
  the pool: its `platform.mlops.io/gpu-sharing=time-slicing:NoSchedule` taint keeps whole-GPU work
  off, and `failRequestsGreaterThanOne` makes the plugin refuse a pod asking for more than one
  replica (two replicas of one GPU are not twice the compute).
- `mig`: the MIG manager partitions every GPU of the pool's nodes with `mig_devices`
  (profile -> instances per GPU), and with the operator's `mig.strategy: mixed` the device
  plugin advertises each profile as its own resource, `nvidia.com/mig-<profile>`.

The node labels select the device plugin's config (`nvidia.com/device-plugin.config=<pool>`) and
the MIG manager's (`nvidia.com/mig.config=<pool>`) by the pool's name; the gpu-operator unit
writes those configs into the chart values (`devicePlugin.config`, `migManager.config`).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ...config.base import Model
from ...kit.instances import GPU_RESOURCE, MIG_PROFILE_PATTERN, MIG_RESOURCE_PREFIX

SHARING_TAINT_KEY = "platform.mlops.io/gpu-sharing"
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
MigProfileName = Annotated[str, Field(pattern=MIG_PROFILE_PATTERN, examples=["1g.10gb", "3g.40gb"])]


class GpuSharing(Model):
    """How the pool's GPUs are shared between pods: whole GPUs, time-slicing or MIG."""

    mode: Literal["whole", "time-slicing", "mig"] = Field(default="whole",
        description="whole: one pod per GPU; time-slicing: `replicas` pods take turns on each GPU (no memory "
                    "isolation); mig: each GPU is partitioned into MIG instances (`mig_devices`)")
    replicas: Annotated[int, Field(ge=2, le=64)] | None = Field(default=None,
        description="time-slicing: pods per GPU (the device plugin advertises replicas x GPUs as nvidia.com/gpu)")
    mig_devices: dict[MigProfileName, Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=dict,
        description="mig: MIG instances per GPU by profile (e.g. {\"1g.10gb\": 7}); the same layout on every GPU "
                    "of the pool, advertised as nvidia.com/mig-<profile>")

    @field_validator("mig_devices", mode="before")
    @classmethod
    def _integral_counts(cls, v: object) -> object:
        """An integral float (`2.0`) is the count 2, as for every integer field (config/strict.py); the
        strict model's own coercion only sees a field's top-level value, not a dict's values."""
        if isinstance(v, dict):
            return {k: int(n) if isinstance(n, float) and n.is_integer() else n for k, n in v.items()}
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "GpuSharing":
        if (self.mode == "time-slicing") != (self.replicas is not None):
            raise ValueError("replicas goes with mode time-slicing (and only with it)")
        if (self.mode == "mig") != bool(self.mig_devices):
            raise ValueError("mig_devices goes with mode mig (and only with it)")
        return self

    def resources(self) -> list[str]:
        """The extended resources a node of the pool advertises for its GPUs."""
        if self.mode == "mig":
            return [MIG_RESOURCE_PREFIX + p for p in sorted(self.mig_devices)]
        return [GPU_RESOURCE]

    def per_gpu(self, resource: str) -> int:
        """How many of `resource` one physical GPU of the pool gives (0: none)."""
        if self.mode == "mig":
            return self.mig_devices.get(resource.removeprefix(MIG_RESOURCE_PREFIX), 0) \
                if resource.startswith(MIG_RESOURCE_PREFIX) else 0
        if resource != GPU_RESOURCE:
            return 0
        return self.replicas if self.mode == "time-slicing" and self.replicas else 1


def node_labels(pool: str, s: GpuSharing) -> dict[str, str]:
    """Labels the pool's NodePool template puts on its nodes so the operator configures them."""
    if s.mode == "time-slicing":
        return {DEVICE_PLUGIN_CONFIG_LABEL: pool}
    if s.mode == "mig":
        return {MIG_CONFIG_LABEL: pool}
    return {}


def sharing_taint(s: GpuSharing) -> dict | None:
    """The taint that keeps whole-GPU pods off a shared pool (None for whole GPUs)."""
    if s.mode == "whole":
        return None
    return {"key": SHARING_TAINT_KEY, "value": s.mode, "effect": "NoSchedule"}


def sharing_toleration(s: GpuSharing) -> dict | None:
    """What a pod meant for the pool tolerates besides the GPU taint."""
    t = sharing_taint(s)
    return None if t is None else {"key": t["key"], "operator": "Equal", "value": t["value"], "effect": "NoSchedule"}
