"""JupyterHub's monitoring contributions: its metric families, rules, the JupyterHub dashboard.

- `rules(env)`: area `jupyterhub` (when JupyterHub is enabled): the hub or proxy down (from
  kube-state-metrics: a dead hub serves no metrics), notebook spawns failing, the hub's own
  metrics not scraped. Thresholds from `monitoring.alerts`.
- `dashboards(env)`: "JupyterHub".
- `FACTS`: the hub's rows of the metrics facts table.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.dashboards import Dashboard, Panel, Query
from ...kit.metrics import SERVICE_MONITOR_LABELS, Exporter, Metric
from ...kit.rules import Alert, RuleArea
from .objects import NAMESPACE

if TYPE_CHECKING:
    from ...config.models import Env

# JupyterHub 5.5 (jupyterhub/jupyterhub jupyterhub/metrics.py): histogram
# jupyterhub_server_spawn_duration_seconds{status=success|failure|already-pending|throttled|too-many-users},
# every status pre-created at 0 (so increase() sees the first failure).
JH_SPAWN_COUNT = "jupyterhub_server_spawn_duration_seconds_count"

# ------------------------------------------------------------------------------ metrics facts rows
_JH = "jupyterhub-5.5.0 wheel: jupyterhub/metrics.py"

FACTS = (
    Exporter("jupyterhub", "chart", "jupyterhub", "5.5.0", SERVICE_MONITOR_LABELS),
    # JupyterHub 5.5.0 (read in the release wheel)
    Metric("jupyterhub_running_servers", "jupyterhub", (), f"{_JH} RUNNING_SERVERS", True),
    Metric("jupyterhub_total_users", "jupyterhub", (), f"{_JH} TOTAL_USERS", True),
    Metric("jupyterhub_active_users", "jupyterhub", ("period",),
           f"{_JH} ACTIVE_USERS, period = ActiveUserPeriods 24h|7d|30d", True),
    Metric("jupyterhub_server_spawn_duration_seconds", "jupyterhub", ("status",),
           f"{_JH} SERVER_SPAWN_DURATION_SECONDS", True, "histogram"),
    Metric("jupyterhub_request_duration_seconds", "jupyterhub", ("method", "handler", "code"),
           f"{_JH} REQUEST_DURATION_SECONDS", True, "histogram"),
)


# ------------------------------------------------------------------------------ rules
def rules(env: Env) -> list[RuleArea]:
    """Area `jupyterhub`: the hub or proxy down, notebook spawns failing, the hub's metrics not scraped."""
    if not env.jupyterhub.enabled:
        return []
    t, ns = env.monitoring.alerts, NAMESPACE
    failures = f'{JH_SPAWN_COUNT}{{namespace="{ns}",status="failure"}}'
    alerts = [
        # kube-state-metrics, not the hub's own /metrics: a dead hub serves no metrics.
        Alert("JupyterHubDown",
              f'kube_deployment_status_replicas_available{{namespace="{ns}",deployment=~"hub|proxy"}} < 1',
              "critical", "JupyterHub is down",
              f"Deployment {ns}/{{{{ $labels.deployment }}}} has no available replica: nobody can log in to "
              f"or reach notebooks at https://{env.host('platform')}/jupyter.",
              "the hub (logins, spawning) or the proxy (all notebook traffic) is not running; running "
              "notebook servers keep their state but are unreachable while the proxy is down.",
              f"kubectl -n {ns} get pods; the hub's logs (database migration, Keycloak/OIDC errors, its PVC "
              f"hub-db-dir); events of the pod (scheduling, image pull).",
              "fix the cause in the logs; a hub stuck on its SQLite PVC: check the PVC is bound and not full; "
              "Argo CD re-syncs the chart's objects if something was changed by hand.",
              for_=t.component_down_for),
        Alert("JupyterHubSpawnFailures",
              f"sum(increase({failures}[1h])) >= {t.jupyterhub_spawn_failures_per_hour}",
              "warning", "Notebook servers fail to start",
              f"{{{{ $value | printf \"%.0f\" }}}} notebook server spawns failed in the last hour "
              f"(alert at {t.jupyterhub_spawn_failures_per_hour}).",
              "users click Start and get an error: the pod did not come up within the start timeout or was refused.",
              f"the hub logs (kubectl -n {ns} logs deploy/hub) for the failing users and profiles; pending "
              f"jupyter-* pods and their events (GPU capacity, quota, image pull, PVC attach).",
              "GPU profiles: check the gpu NodePool (KarpenterNodePool* alerts) and the image; quota: raise or "
              "free it; a profile that always fails: fix it in jupyterhub.profiles.",
              labels={"namespace": ns}),
        Alert("JupyterHubMetricsAbsent", f"absent({failures})", "warning",
              "JupyterHub's metrics are not scraped",
              f"Prometheus has no {JH_SPAWN_COUNT} from {ns}: JupyterHubSpawnFailures cannot fire.",
              "the hub's /metrics is not scraped (no ServiceMonitor for the hub Service, or metrics need a token).",
              f"Prometheus targets for the {ns} namespace; the hub's ServiceMonitor (port 8081, path "
              f"/jupyter/hub/metrics) and hub.authenticatePrometheus.",
              "add or fix the hub's ServiceMonitor in components/jupyterhub.py and synth.",
              for_="30m", labels={"namespace": ns}),
    ]
    return [RuleArea("jupyterhub", (), alerts)]


# ------------------------------------------------------------------------------ dashboard
# JupyterHub 5.5: the hub's own metrics (jupyterhub/jupyterhub jupyterhub/metrics.py; active users
# are one gauge, jupyterhub_active_users, with period = 24h | 7d | 30d), scraped at
# /jupyter/hub/metrics by objects.py's ServiceMonitor.
JUPYTERHUB = Dashboard(
    "jupyterhub", "JupyterHub",
    "Running notebook servers, users, spawn times and failures, hub errors.",
    panels=(
        Panel("Running servers", (Query("sum(jupyterhub_running_servers)", "servers"),), kind="stat", width=8),
        Panel("Active users (24h)", (Query('max(jupyterhub_active_users{period="24h"})', "users"),), kind="stat", width=8),
        Panel("Users", (Query("max(jupyterhub_total_users)", "users"),), kind="stat", width=8),
        Panel("Spawn duration (successful)", (
            Query('histogram_quantile(0.5, sum by (le) (rate(jupyterhub_server_spawn_duration_seconds_bucket{status="success"}[15m])))', "p50"),
            Query('histogram_quantile(0.95, sum by (le) (rate(jupyterhub_server_spawn_duration_seconds_bucket{status="success"}[15m])))', "p95"),
        ), unit="s"),
        Panel("Spawns that did not succeed (per hour)", (Query(
            'sum by (status) (increase(jupyterhub_server_spawn_duration_seconds_count{status!="success"}[1h]))',
            "{{status}}"),), description="failure, throttled, too-many-users, already-pending."),
        Panel("Hub HTTP 5xx per second", (Query(
            'sum by (code) (rate(jupyterhub_request_duration_seconds_count{code=~"5.."}[5m]))', "{{code}}"),), unit="reqps"),
    ),
)


def dashboards(env: Env) -> list[Dashboard]:
    return [JUPYTERHUB]
