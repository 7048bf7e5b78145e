"""Component `node-pools`: what Karpenter may launch -- one EC2NodeClass and two NodePools.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .config import GpuNodePoolConfig, NodePoolConfig
from .objects import GPU_POOL, GPU_RESOURCE, NAME, POOL_LABEL, build, gpu_pools
from .asks import (GpuAsk, GpuPoolName, gpu_ask_env_problems, gpu_asks, gpu_pod_parts, gpu_pool_field,
                   mig_profile_field)
from .overlays import needs_node_overlay
from .placement import GpuPlacement, gpu_ask_problems, gpu_placements
from .sharing import DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL, MIG_RESOURCE_PREFIX, GpuSharing, MigProfileName

UNIT = Component(
    NAME,
    "Karpenter EC2NodeClass and NodePools: default (CPU) and gpu (tainted)",
    build,
)

__all__ = ["UNIT", "GPU_POOL", "GPU_RESOURCE", "NAME", "POOL_LABEL"]
__all__ += ["GpuNodePoolConfig", "NodePoolConfig", "GpuSharing"]
__all__ += ["gpu_pools", "GpuPlacement", "gpu_placements", "gpu_ask_problems", "DEVICE_PLUGIN_CONFIG_LABEL",
            "MIG_CONFIG_LABEL", "MIG_RESOURCE_PREFIX"]
__all__ += ["GpuAsk", "GpuPoolName", "MigProfileName", "gpu_asks", "gpu_ask_env_problems", "gpu_pod_parts",
            "gpu_pool_field", "mig_profile_field", "needs_node_overlay"]
