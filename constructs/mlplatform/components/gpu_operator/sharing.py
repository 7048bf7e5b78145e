"""The GPU operator's share of GPU sharing: the device plugin's and the MIG manager's configs, built
from the GPU pools' `sharing` (the node_pools unit labels each pool's nodes with the config name,
which is the pool's name).

- `devicePlugin.config`: a ConfigMap the chart creates (`create: true`) with one device-plugin
  config (format `version: v1`, NVIDIA k8s-device-plugin) per time-sliced pool plus `default`
  for every other node; a node picks its config by the `nvidia.com/device-plugin.config` label.
  Only written when a pool time-slices, so whole-GPU envs keep the chart's built-in config.
- `migManager.config`: a mig-parted ConfigMap (`config.yaml`, `version: v1`) with `all-disabled`
  (the default, for nodes without the label) and one config per MIG pool applying its layout to
  every GPU (`devices: all`); a node picks its config by the `nvidia.com/mig.config` label.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

from ..node_pools import GpuSharing, gpu_pools

if TYPE_CHECKING:
    from ...config.models import Env

DEVICE_PLUGIN_CONFIGMAP = "device-plugin-config"
MIG_CONFIGMAP = "mig-parted-config"
DEFAULT_PLUGIN_CONFIG = "default"
MIG_DISABLED = "all-disabled"


def _yaml(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def plugin_config(strategy: str, sharing: GpuSharing | None) -> dict:
    """One device-plugin config: the env's MIG strategy and, for a time-sliced pool, its replicas."""
    doc: dict = {"version": "v1", "flags": {"migStrategy": strategy}}
    if sharing is not None and sharing.mode == "time-slicing":
        doc["sharing"] = {"timeSlicing": {
            "renameByDefault": False,  # see node_pools/sharing.py: Karpenter only knows nvidia.com/gpu
            "failRequestsGreaterThanOne": True,
            "resources": [{"name": "nvidia.com/gpu", "replicas": sharing.replicas}],
        }}
    return doc


def device_plugin_values(env: Env) -> dict | None:
    """`devicePlugin.config` when a pool time-slices; None otherwise."""
    sliced = [(name, p.sharing) for name, p in gpu_pools(env) if p.sharing.mode == "time-slicing"]
    if not sliced:
        return None
    strategy = env.compute.gpu.mig_strategy
    data = {DEFAULT_PLUGIN_CONFIG: _yaml(plugin_config(strategy, None))}
    data.update({name: _yaml(plugin_config(strategy, s)) for name, s in sliced})
    return {"create": True, "name": DEVICE_PLUGIN_CONFIGMAP, "default": DEFAULT_PLUGIN_CONFIG, "data": data}


def mig_configs(env: Env) -> dict[str, list[dict]]:
    """mig-parted's `mig-configs`: all-disabled plus one config per MIG pool."""
    out: dict[str, list[dict]] = {MIG_DISABLED: [{"devices": "all", "mig-enabled": False}]}
    for name, p in gpu_pools(env):
        if p.sharing.mode == "mig":
            out[name] = [{"devices": "all", "mig-enabled": True,
                          "mig-devices": dict(sorted(p.sharing.mig_devices.items()))}]
    return out


def mig_manager_values(env: Env) -> dict | None:
    """`migManager.config` when a pool partitions its GPUs with MIG; None otherwise (the manager's
    configs generated from the hardware)."""
    configs = mig_configs(env)
    if len(configs) == 1:
        return None
    return {"create": True, "name": MIG_CONFIGMAP, "default": MIG_DISABLED,
            "data": {"config.yaml": _yaml({"version": "v1", "mig-configs": configs})}}
