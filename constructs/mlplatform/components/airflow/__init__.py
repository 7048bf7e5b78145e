"""Component `airflow`: Apache Airflow 3 (KubernetesExecutor) at `https://platform.<domain>/airflow`.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .objects import NAME, NAMESPACE, STATSD_MONITOR, WORKER_SA, build, helm

UNIT = Component(NAME,
                 "Airflow 3 at platform.<domain>/airflow: KubernetesExecutor, Keycloak login, RDS, pools",
                 build,
                 helm=helm)

__all__ = ["UNIT", "NAME", "NAMESPACE", "STATSD_MONITOR", "WORKER_SA"]
