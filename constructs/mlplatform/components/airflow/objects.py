"""Component `airflow`: Apache Airflow 3 (KubernetesExecutor) at `https://platform.<domain>/airflow`.

One Argo CD Application, two sources: the pinned `airflow` chart (`helm`) and our own objects
(`build`: the Ingress on the shared ALB, the pools ConfigMap + sync Job, the StatsD ServiceMonitor).

The rest of the unit, by concern: `names.py` (release, service accounts, URLs), `values.py` (the
chart values and `helm`), `login.py` (`webserver_config.py`: Keycloak login), `pools.py` (the pools
ConfigMap + sync Job). This module builds our own objects.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import monitoring, versions
from ...kit.ingress import ingress
from ...kit.meta import Obj, metadata
from .access import ROUTE
from .names import NAME, NAMESPACE, RELEASE, STATSD_MONITOR, STATSD_SCRAPE_PORT
from .pools import pools_sync

if TYPE_CHECKING:
    from ...config.models import Env


def _service_monitor(env: Env) -> list[Obj]:
    a = env.airflow
    if not a.service_monitor:
        return []
    return [{
        "apiVersion": versions.crd("ServiceMonitor").api_version, "kind": "ServiceMonitor",
        # The platform Prometheus's selector labels (kit/monitoring.py), plus any of the env file.
        "metadata": metadata(STATSD_MONITOR, component=NAME, env=env.name, namespace=NAMESPACE,
                             extra_labels=monitoring.monitor_labels(dict(a.service_monitor_labels))),
        "spec": {
            "selector": {"matchLabels": {"tier": "airflow", "component": "statsd", "release": RELEASE}},
            "namespaceSelector": {"matchNames": [NAMESPACE]},
            "endpoints": [{"port": STATSD_SCRAPE_PORT, "interval": "30s", "path": "/metrics"}],
        },
    }]


def build(env: Env) -> list[Obj]:
    if not env.airflow.enabled:
        return []
    return [ingress(env, ROUTE, component=NAME), *pools_sync(env), *_service_monitor(env)]

