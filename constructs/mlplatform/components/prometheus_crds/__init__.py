"""Component `prometheus-crds`: the Prometheus Operator CRDs, from their pinned release tag.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
# -- imports: routes, credentials, secrets
# -- imports: rules, dashboards
# -- imports: checks
# -- imports: versions
from .versions import VERSIONS
from .objects import NAME, upstream

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "Prometheus Operator CRDs (ServiceMonitor, PrometheusRule, ...)",
    no_objects,
    upstream=upstream,
    # -- routes, credentials, secrets
    # -- rules, dashboards
    # -- checks
    # -- versions
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
