"""Component `monitoring`: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, the Prometheus

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
# -- imports: routes, credentials, secrets
from . import access
# -- imports: rules, dashboards
from . import monitoring
# -- imports: checks
# -- imports: versions
from .versions import VERSIONS
from .objects import NAME, build, helm

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "kube-prometheus-stack: Prometheus, Alertmanager, Grafana (Keycloak login), dashboards",
    build,
    helm=helm,
    # -- routes, credentials, secrets
    routes=access.routes,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    # -- rules, dashboards
    rules=monitoring.rules,
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
