"""Component `airflow`: Apache Airflow 3 (KubernetesExecutor) at `https://platform.<domain>/airflow`.

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
from .names import NAME, NAMESPACE, STATSD_MONITOR, WORKER_SA
from .objects import build
from .values import helm

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "Airflow 3 at platform.<domain>/airflow: KubernetesExecutor, Keycloak login, RDS, pools",
    build,
    helm=helm,
    # -- routes, credentials, secrets
    routes=access.routes,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    # -- rules, dashboards
    rules=monitoring.rules,
    dashboards=monitoring.dashboards,
    metrics=monitoring.FACTS,
    # -- checks
    # -- versions
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME", "NAMESPACE", "STATSD_MONITOR", "WORKER_SA"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
