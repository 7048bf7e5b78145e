"""Component `monitoring`: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, the Prometheus

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from . import access
from . import monitoring
from .versions import VERSIONS
from .objects import NAME, build, helm

UNIT = Component(
    NAME,
    "kube-prometheus-stack: Prometheus, Alertmanager, Grafana (Keycloak login), dashboards",
    build,
    helm=helm,
    routes=access.routes,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    rules=monitoring.rules,
    metrics=monitoring.FACTS,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
