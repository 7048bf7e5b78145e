"""Component `monitoring`: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, the Prometheus

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .objects import NAME, build, helm

UNIT = Component(NAME,
                 "kube-prometheus-stack: Prometheus, Alertmanager, Grafana (Keycloak login), dashboards",
                 build,
                 helm=helm)

__all__ = ["UNIT", "NAME"]
