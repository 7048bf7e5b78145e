"""Component `karpenter`: the self-managed Karpenter controller (pinned chart, IRSA).

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
from . import monitoring
from .versions import VERSIONS
from .objects import NAME, helm

UNIT = Component(
    NAME,
    "Karpenter controller (self-managed, IRSA, interruption queue)",
    no_objects,
    helm=helm,
    rules=monitoring.rules,
    dashboards=monitoring.dashboards,
    metrics=monitoring.FACTS,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
