"""Component `gpu-operator`: the NVIDIA GPU operator (pinned chart) on Karpenter's GPU nodes.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
from . import monitoring
from .versions import VERSIONS
from .objects import NAME, TOLERATE_GPU_TAINT, helm

UNIT = Component(
    NAME,
    "NVIDIA GPU operator: device plugin, GFD/NFD, DCGM exporter (AMI ships the driver)",
    no_objects,
    helm=helm,
    rules=monitoring.rules,
    dashboards=monitoring.dashboards,
    metrics=monitoring.FACTS,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME", "TOLERATE_GPU_TAINT"]
