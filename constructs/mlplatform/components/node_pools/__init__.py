"""Component `node-pools`: what Karpenter may launch -- one EC2NodeClass and two NodePools.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
# -- imports: config
from .config import GpuNodePoolConfig, NodePoolConfig
# -- imports: routes, credentials, secrets
# -- imports: rules, dashboards
# -- imports: checks
# -- imports: versions
from .objects import GPU_POOL, GPU_RESOURCE, NAME, POOL_LABEL, build, gpu_pools
from .asks import (GpuAsk, GpuPoolName, gpu_ask_env_problems, gpu_asks, gpu_pod_parts, gpu_pool_field,
                   mig_profile_field)
from .overlays import needs_node_overlay
from .placement import GpuPlacement, gpu_ask_problems, gpu_placements
from .sharing import DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL, MIG_RESOURCE_PREFIX, GpuSharing, MigProfileName

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "Karpenter EC2NodeClass and NodePools: default (CPU) and gpu (tainted)",
    build,
    # -- routes, credentials, secrets
    # -- rules, dashboards
    # -- checks
    # -- versions
)

__all__ = ["UNIT", "GPU_POOL", "GPU_RESOURCE", "NAME", "POOL_LABEL"]
# -- published facts: config
__all__ += ["GpuNodePoolConfig", "NodePoolConfig", "GpuSharing"]
# -- published facts: GPU pools and their sharing
__all__ += ["gpu_pools", "GpuPlacement", "gpu_placements", "gpu_ask_problems", "DEVICE_PLUGIN_CONFIG_LABEL",
            "MIG_CONFIG_LABEL", "MIG_RESOURCE_PREFIX"]
# -- published facts: what workloads ask of the GPU pools
__all__ += ["GpuAsk", "GpuPoolName", "MigProfileName", "gpu_asks", "gpu_ask_env_problems", "gpu_pod_parts",
            "gpu_pool_field", "mig_profile_field", "needs_node_overlay"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
