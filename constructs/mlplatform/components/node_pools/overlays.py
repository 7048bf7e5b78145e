"""NodeOverlays that teach Karpenter the MIG slices a MIG pool's nodes will advertise.

Karpenter decides what to launch by simulating the instance types' resources, and EC2 reports
GPUs only as `nvidia.com/gpu`: a pending pod asking `nvidia.com/mig-1g.10gb` fits no simulated
instance, so Karpenter would never launch a node for it. Karpenter 1.14's NodeOverlay
(`karpenter.sh/v1alpha1`, ALPHA, behind the `nodeOverlay` feature gate that the karpenter unit
turns on when a pool uses MIG) appends extended resources to the instance types it matches
during that simulation. For each MIG pool and each GPU count among the instance types it may
launch, one overlay matches `karpenter.sh/nodepool=<pool>` and `instance-gpu-count=<n>` and adds
`n x instances-per-GPU` of every profile of the pool's layout (the MIG manager applies the same
layout to every GPU, `sharing.mig_devices`). Its CRD comes from the pinned karpenter chart's
`crds/`; the synth validates the overlays against it.

The overlay changes Karpenter's simulation only: the real capacity appears once the MIG manager
has partitioned the GPUs and the device plugin advertises them (minutes after the node joins).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.instances import GPU_FAMILIES, gpu_families
from ...kit.meta import Obj, metadata
from .config import GpuNodePoolConfig
from .sharing import MIG_RESOURCE_PREFIX

if TYPE_CHECKING:
    from ...config.models import Env

NODE_OVERLAY_API = "karpenter.sh/v1alpha1"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
GPU_COUNT_LABEL = "karpenter.k8s.aws/instance-gpu-count"


def gpu_counts(p: GpuNodePoolConfig) -> list[int]:
    """The GPU counts of the instance types the pool may launch (kit/instances.py; a MIG pool names
    its families, the config refuses one that does not)."""
    sizes = set(p.instance_sizes) or None
    counts = {n for fam in gpu_families(list(p.instance_categories), list(p.instance_families), p.min_generation)
              for size, (n, _) in GPU_FAMILIES.get(fam, (0, {}))[1].items()
              if (sizes is None or size in sizes) and (p.max_gpus_per_node is None or n <= p.max_gpus_per_node)}
    return sorted(counts)


def mig_capacity(p: GpuNodePoolConfig, gpus: int) -> dict[str, str]:
    """The MIG resources a node of `gpus` GPUs of the pool advertises once partitioned."""
    return {MIG_RESOURCE_PREFIX + prof: str(gpus * n) for prof, n in sorted(p.sharing.mig_devices.items())}


def node_overlays(env: Env, pools: list[tuple[str, GpuNodePoolConfig]], component: str) -> list[Obj]:
    """One NodeOverlay per MIG pool and GPU count of its instance types."""
    out: list[Obj] = []
    for name, p in pools:
        if p.sharing.mode != "mig":
            continue
        for n in gpu_counts(p):
            out.append({
                "apiVersion": NODE_OVERLAY_API,
                "kind": "NodeOverlay",
                "metadata": metadata(f"{name}-{n}gpu", component=component, env=env.name),
                "spec": {
                    "requirements": [{"key": NODEPOOL_LABEL, "operator": "In", "values": [name]},
                                     {"key": GPU_COUNT_LABEL, "operator": "In", "values": [str(n)]}],
                    "capacity": mig_capacity(p, n),
                },
            })
    return out


def needs_node_overlay(pools: list[tuple[str, GpuNodePoolConfig]]) -> bool:
    """Whether Karpenter needs the NodeOverlay feature gate: a pool partitions its GPUs with MIG."""
    return any(p.sharing.mode == "mig" for _, p in pools)
