"""Component `node-pools`: what Karpenter may launch -- one EC2NodeClass and two NodePools.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .objects import GPU_POOL, GPU_RESOURCE, NAME, POOL_LABEL, build

UNIT = Component(NAME,
                 "Karpenter EC2NodeClass and NodePools: default (CPU) and gpu (tainted)",
                 build)

__all__ = ["UNIT", "GPU_POOL", "GPU_RESOURCE", "NAME", "POOL_LABEL"]
