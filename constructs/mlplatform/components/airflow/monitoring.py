"""Airflow's monitoring contributions: its StatsD metric families, rules, the Airflow dashboard.

- `rules(env)`: area `airflow` (when Airflow and its StatsD ServiceMonitor are enabled): the
  scheduler not heartbeating, task instances failing. Thresholds from `monitoring.alerts`.
- `dashboards(env)`: "Airflow".
- `FACTS`: the StatsD exporter's rows of the metrics facts table (Airflow's names as the chart's
  statsd-exporter mapping, and ours, turn them into series).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.dashboards import Dashboard, Panel, Query
from ...kit.metrics import SERVICE_MONITOR_LABELS, Exporter, Metric
from ...kit.rules import Alert, RuleArea
from .names import NAMESPACE, STATSD_MONITOR

if TYPE_CHECKING:
    from ...config.models import Env

# Airflow 3.2 through the chart 1.21.0 StatsD exporter (apache/airflow chart/files/statsd-mappings.yml):
# airflow.scheduler_heartbeat -> airflow_scheduler_heartbeat{type="counter"}; ti_failures has no
# mapping, so the exporter's default escaping makes it airflow_ti_failures (no dag label: Airflow's
# plain StatsD client sends no tags). The exporter serves the classic text format: no _total suffix.
AF_HEARTBEAT = "airflow_scheduler_heartbeat"
AF_TI_FAILURES = "airflow_ti_failures"
STATSD_TARGET = f"serviceMonitor/{NAMESPACE}/{STATSD_MONITOR}"

# ------------------------------------------------------------------------------ metrics facts rows
_AF_MAP = "apache-airflow chart 1.21.0: files/statsd-mappings.yml"

FACTS = (
    # Airflow's StatsD names through the chart's statsd-exporter mapping (chart version: the mapping
    # file ships with the chart; Airflow's own version is checked by the `airflow-core` rows).
    Exporter("airflow-statsd", "chart", "airflow", "1.21.0", SERVICE_MONITOR_LABELS, chart_version=True),
    Exporter("airflow-core", "chart", "airflow", "3.2.0", SERVICE_MONITOR_LABELS),
    # Airflow 3.2.0 StatsD names (airflow-core wheel) as the chart 1.21.0 statsd-exporter maps them.
    Metric("airflow_scheduler_heartbeat", "airflow-statsd", (),
           f"{_AF_MAP} airflow.scheduler_heartbeat; airflow-core 3.2.0 wheel: "
           f"airflow/_shared/observability/metrics/metrics_template.yaml scheduler_heartbeat", True, "counter"),
    *(Metric(f"airflow_{n}", "airflow-core", (),
             "airflow-core 3.2.0 wheel: airflow/_shared/observability/metrics/metrics_template.yaml "
             f"{n} (no mapping: statsd-exporter's default name, no labels)", True, "counter")
      for n in ("ti_failures", "ti_successes")),
    *(Metric(f"airflow_pool_{g}", "airflow-statsd", ("pool",),
             f"{_AF_MAP} airflow.pool.{g}.* -> pool=$1; the unsuffixed duplicate Airflow 3.2 also sends "
             f"(airflow-core wheel: airflow/_shared/observability/metrics/dual_stats_manager.py) is dropped "
             f"by components/airflow/values.py STATSD_DROP_MAPPINGS", True)
      for g in ("open_slots", "starving_tasks")),
    *(Metric(f"airflow_pool_{g}", "airflow-statsd", ("pool",),
             f"components/airflow/values.py STATSD_POOL_MAPPINGS airflow.pool.{g}.* -> pool=$1 (the chart maps "
             f"none); airflow-core 3.2.0 wheel: airflow/jobs/scheduler_job_runner.py _emit_pool_metrics", True)
      for g in ("running_slots", "queued_slots")),
    # One executor: Airflow sends executor.<gauge> without the class suffix, so the chart's
    # `airflow.executor.<gauge>.*` -> executor=$1 mapping does not apply: no `executor` label.
    *(Metric(f"airflow_executor_{g}", "airflow-core", (),
             "airflow-core 3.2.0 wheel: airflow/executors/base_executor.py _get_metric_name (suffix only with "
             "more than one executor; config allows KubernetesExecutor only)", True)
      for g in ("open_slots", "queued_tasks", "running_tasks")),
)


# ------------------------------------------------------------------------------ rules
def rules(env: Env) -> list[RuleArea]:
    """Area `airflow`: the scheduler not heartbeating, task instances failing."""
    a = env.airflow
    if not (a.enabled and a.service_monitor):
        return []
    t, ns = env.monitoring.alerts, NAMESPACE
    alerts = [
        Alert("AirflowSchedulerHeartbeatMissing",
              f'(sum(rate({AF_HEARTBEAT}{{namespace="{ns}"}}[5m])) or vector(0)) == 0',
              "critical", "Airflow scheduler is not heartbeating",
              f"No scheduler heartbeat reached the StatsD exporter in {ns} for {t.airflow_heartbeat_missing_for}: "
              f"no task is being scheduled.",
              "the scheduler is down, hung, or cannot reach its metadata database (or its StatsD metrics stopped).",
              f"kubectl -n {ns} get pods -l component=scheduler; its logs (database connection, DAG parsing "
              f"errors); the statsd pod and Prometheus target {STATSD_TARGET}.",
              "restart a hung scheduler (kubectl rollout restart); fix database connectivity (RDS, the "
              "metadata Secret); if only metrics stopped, fix the StatsD exporter/ServiceMonitor.",
              for_=t.airflow_heartbeat_missing_for, labels={"namespace": ns}),
        Alert("AirflowTaskFailures",
              f'sum(increase({AF_TI_FAILURES}{{namespace="{ns}"}}[1h])) >= {t.airflow_task_failures_per_hour}',
              "warning", "Airflow tasks are failing",
              f"{{{{ $value | printf \"%.0f\" }}}} task instances failed in the last hour "
              f"(alert at {t.airflow_task_failures_per_hour}).",
              "DAG tasks fail more than usual: a dependency (database, S3, an API) is broken, or a DAG change "
              "broke tasks.",
              f"https://{env.host('platform')}/airflow -> Browse -> Task Instances, filter state failed: which "
              f"DAGs and tasks, their logs; the task pods' events (OOMKilled, image pull).",
              "fix the failing dependency or DAG; if task pods are OOMKilled or evicted, raise their "
              "resources in the DAG's executor_config.",
              labels={"namespace": ns}),
    ]
    return [RuleArea("airflow", (), alerts)]


# ------------------------------------------------------------------------------ dashboard
# Airflow 3.2 StatsD metrics through the chart's statsd-exporter and its mapping
# (apache/airflow chart/files/statsd-mappings.yml: scheduler_heartbeat, pool.open_slots.<pool>,
# pool.starving_tasks.<pool>, executor.*; pool.running_slots/queued_slots.<pool> by our
# statsd.extraMappings in objects.py, which also drop Airflow's unsuffixed pool.* duplicates
# that would otherwise read as a pool=""); unmapped names keep statsd-exporter's default
# (dots become underscores: airflow.ti_failures -> airflow_ti_failures).
AIRFLOW = Dashboard(
    "airflow", "Airflow",
    "Scheduler heartbeat, task outcomes, pool slots and executor capacity.",
    panels=(
        Panel("Scheduler heartbeats per minute", (Query("sum(rate(airflow_scheduler_heartbeat[5m])) * 60", "heartbeats"),),
              description="Flat at zero: the scheduler is not running its loop."),
        Panel("Task instances per hour", (
            Query("sum(increase(airflow_ti_failures[1h]))", "failed"),
            Query("sum(increase(airflow_ti_successes[1h]))", "succeeded"),
        )),
        Panel("Pool slots", (
            Query("sum by (pool) (airflow_pool_open_slots)", "{{pool}} open"),
            Query("sum by (pool) (airflow_pool_running_slots)", "{{pool}} running"),
            Query("sum by (pool) (airflow_pool_queued_slots)", "{{pool}} queued"),
        )),
        Panel("Tasks starving for pool slots", (Query("sum by (pool) (airflow_pool_starving_tasks)", "{{pool}}"),)),
        # One executor (config: airflow.executor is KubernetesExecutor only): Airflow sends the
        # unsuffixed executor.* names (airflow/executors/base_executor.py `_get_metric_name` adds
        # the executor class only when several are configured), so the series carry no
        # `executor` label.
        Panel("Executor", (
            Query("sum(airflow_executor_running_tasks)", "running"),
            Query("sum(airflow_executor_queued_tasks)", "queued"),
            Query("sum(airflow_executor_open_slots)", "open slots"),
        ), width=24, description="KubernetesExecutor: task pods running, tasks queued, slots left of core.parallelism."),
    ),
)


def dashboards(env: Env) -> list[Dashboard]:
    return [AIRFLOW]
