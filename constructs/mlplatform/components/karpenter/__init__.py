"""Component `karpenter`: the self-managed Karpenter controller (pinned chart, IRSA).

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
# -- imports: routes, credentials, secrets
# -- imports: rules, dashboards
from . import monitoring
# -- imports: checks
# -- imports: versions
from .versions import VERSIONS
from .objects import NAME, helm

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "Karpenter controller (self-managed, IRSA, interruption queue)",
    no_objects,
    helm=helm,
    # -- routes, credentials, secrets
    # -- rules, dashboards
    rules=monitoring.rules,
    dashboards=monitoring.dashboards,
    metrics=monitoring.FACTS,
    # -- checks
    # -- versions
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
