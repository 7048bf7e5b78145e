"""Component `airflow`: Apache Airflow 3 (KubernetesExecutor) at `https://platform.<domain>/airflow`.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from . import access
from . import monitoring
from .versions import VERSIONS
from .names import NAME, NAMESPACE, STATSD_MONITOR, WORKER_SA
from .objects import build
from .values import helm

UNIT = Component(
    NAME,
    "Airflow 3 at platform.<domain>/airflow: KubernetesExecutor, Keycloak login, RDS, pools",
    build,
    helm=helm,
    routes=access.routes,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    rules=monitoring.rules,
    dashboards=monitoring.dashboards,
    metrics=monitoring.FACTS,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME", "NAMESPACE", "STATSD_MONITOR", "WORKER_SA"]
