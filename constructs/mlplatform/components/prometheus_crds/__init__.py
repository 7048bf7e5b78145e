"""Component `prometheus-crds`: the Prometheus Operator CRDs, from their pinned release tag.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
from .versions import VERSIONS
from .objects import NAME, upstream

UNIT = Component(
    NAME,
    "Prometheus Operator CRDs (ServiceMonitor, PrometheusRule, ...)",
    no_objects,
    upstream=upstream,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
