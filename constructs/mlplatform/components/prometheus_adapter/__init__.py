"""Component `prometheus-adapter`: each served model's queue as a Kubernetes custom metric.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .versions import VERSIONS
from .objects import NAME, build, helm

UNIT = Component(
    NAME,
    "prometheus-adapter: each served model's queue as a custom metric for its HPA",
    build,
    helm=helm,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
