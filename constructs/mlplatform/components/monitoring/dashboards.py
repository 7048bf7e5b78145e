"""The platform's Grafana dashboards, generated: one ConfigMap per dashboard (label
`grafana_dashboard: "1"`, key `<name>.json`), picked up by Grafana's dashboard sidecar in the
monitoring namespace (components/monitoring.py).

Every query reads raw series the exporters at our pinned versions really emit -- no recording
rules (those belong to components/prometheus_rules.py and may change on their own) -- and uses
fixed `[5m]`-style windows instead of Grafana macros, so each expression is plain PromQL that
`promtool` parses (tests/test_monitoring.py does, for every panel). Where each metric family
comes from is noted next to its dashboard.

Determinism: the JSON is rendered with sorted keys and a fixed layout; a dashboard's uid is
derived from its name, so links and bookmarks survive re-renders and renames of the title.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from ...kit.meta import Obj, metadata

# The Prometheus datasource kube-prometheus-stack provisions for Grafana (its sidecar's
# `grafana.sidecar.datasources.uid`; components/monitoring.py sets the same value).
DATASOURCE_UID = "prometheus"
DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}
SIDECAR_LABEL = "grafana_dashboard"
SIDECAR_LABEL_VALUE = "1"
TAG = "ml-platform"
SCHEMA_VERSION = 39  # Grafana's dashboard JSON schema version these panels are written for
WIDTH = 24  # Grafana's grid is 24 columns wide
HEIGHT = 8


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    description: str = ""
    kind: str = "timeseries"  # timeseries | stat
    width: int = 12


@dataclass(frozen=True)
class Variable:
    """A query variable: the values of `label` on `metric` (multi-select, "All" = any)."""

    name: str
    label: str
    metric: str
    series_label: str

    @property
    def query(self) -> str:
        return f"label_values({self.metric}, {self.series_label})"


@dataclass(frozen=True)
class Dashboard:
    name: str  # ConfigMap name suffix, JSON file name, uid seed
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[Variable, ...] = field(default_factory=tuple)


def uid(name: str) -> str:
    """A stable uid from the dashboard's name (Grafana allows up to 40 characters)."""
    return f"mlp-{name}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def configmap_name(d: Dashboard) -> str:
    return f"dashboard-{d.name}"


# --------------------------------------------------------------------------- rendering
def _variable(v: Variable) -> dict:
    return {
        "name": v.name, "label": v.label, "type": "query", "datasource": dict(DATASOURCE),
        "query": {"query": v.query, "refId": f"var-{v.name}"}, "definition": v.query,
        "refresh": 2, "includeAll": True, "allValue": ".*", "multi": True, "sort": 1,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
    }


def _panel(p: Panel, pid: int, x: int, y: int) -> dict:
    out: dict = {
        "id": pid, "type": p.kind, "title": p.title, "description": p.description,
        "datasource": dict(DATASOURCE),
        "gridPos": {"h": HEIGHT, "w": p.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
        "targets": [{"refId": chr(ord("A") + i), "expr": q.expr, "legendFormat": q.legend or "__auto",
                     "datasource": dict(DATASOURCE), "range": True}
                    for i, q in enumerate(p.queries)],
    }
    if p.kind == "timeseries":
        out["options"] = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                          "tooltip": {"mode": "multi", "sort": "desc"}}
    else:
        out["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "value", "graphMode": "area"}
    return out


def render(d: Dashboard) -> dict:
    panels, x, y = [], 0, 0
    for i, p in enumerate(d.panels):
        if x + p.width > WIDTH:
            x, y = 0, y + HEIGHT
        panels.append(_panel(p, i + 1, x, y))
        x += p.width
    return {
        "uid": uid(d.name), "title": d.title, "description": d.description, "tags": [TAG],
        "timezone": "utc", "editable": False, "graphTooltip": 1, "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION, "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []}, "links": [],
        "templating": {"list": [_variable(v) for v in d.variables]},
        "panels": panels,
    }


def to_json(d: Dashboard) -> str:
    return json.dumps(render(d), sort_keys=True, indent=2) + "\n"


def expressions(d: Dashboard) -> list[str]:
    return [q.expr for p in d.panels for q in p.queries]


# --------------------------------------------------------------------------- the dashboards
# vLLM: the V1 engine's Prometheus logger (vllm-project/vllm vllm/v1/metrics/loggers.py,
# `PrometheusStatLogger`; labels model_name = --served-model-name, engine); the HPA's bounds and
# replicas from kube-state-metrics (kube_horizontalpodautoscaler_*; components/vllm.py names each
# HPA after its model).
_M = 'model_name=~"$model"'
_HPA = 'horizontalpodautoscaler=~"$model"'
VLLM = Dashboard(
    "vllm", "vLLM serving",
    "Per served model: queue, latency, throughput, KV cache and the autoscaler's bounds.",
    variables=(Variable("model", "Model", "vllm:num_requests_waiting", "model_name"),),
    panels=(
        Panel("Requests waiting", (Query(f"sum by (model_name) (vllm:num_requests_waiting{{{_M}}})", "{{model_name}}"),),
              description="The queue the HPA scales on (per pod, through prometheus-adapter)."),
        Panel("Requests running", (Query(f"sum by (model_name) (vllm:num_requests_running{{{_M}}})", "{{model_name}}"),)),
        Panel("Time to first token, p95", (Query(
            f"histogram_quantile(0.95, sum by (le, model_name) (rate(vllm:time_to_first_token_seconds_bucket{{{_M}}}[5m])))",
            "{{model_name}}"),), unit="s"),
        Panel("End-to-end request latency, p95", (Query(
            f"histogram_quantile(0.95, sum by (le, model_name) (rate(vllm:e2e_request_latency_seconds_bucket{{{_M}}}[5m])))",
            "{{model_name}}"),), unit="s"),
        Panel("Generation tokens per second", (
            Query(f"sum by (model_name) (rate(vllm:generation_tokens_total{{{_M}}}[5m]))", "{{model_name}} generated"),
            Query(f"sum by (model_name) (rate(vllm:prompt_tokens_total{{{_M}}}[5m]))", "{{model_name}} prompt"),
        ), unit="short"),
        Panel("KV cache usage", (Query(f"max by (model_name, pod) (vllm:kv_cache_usage_perc{{{_M}}})",
                                       "{{model_name}} {{pod}}"),),
              unit="percentunit", description="1 = the KV cache is full: new requests wait or preempt."),
        Panel("Replicas vs HPA bounds", (
            Query(f"max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{{{_HPA}}})",
                  "{{horizontalpodautoscaler}} current"),
            Query(f"max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_desired_replicas{{{_HPA}}})",
                  "{{horizontalpodautoscaler}} desired"),
            Query(f"max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_min_replicas{{{_HPA}}})",
                  "{{horizontalpodautoscaler}} min"),
            Query(f"max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{{{_HPA}}})",
                  "{{horizontalpodautoscaler}} max"),
        )),
        Panel("Finished requests per second", (Query(
            f"sum by (model_name, finished_reason) (rate(vllm:request_success_total{{{_M}}}[5m]))",
            "{{model_name}} {{finished_reason}}"),), unit="reqps"),
    ),
)

# GPUs: dcgm-exporter's default counters (NVIDIA/dcgm-exporter etc/default-counters.csv; labels
# gpu, UUID, modelName, Hostname), scraped through the GPU operator's ServiceMonitor; GPU
# capacity and requests from kube-state-metrics (resource="nvidia_com_gpu").
_N = 'Hostname=~"$node"'
GPUS = Dashboard(
    "gpus", "GPUs (DCGM)",
    "Per node and GPU: utilization, framebuffer, temperature, power, XID errors; cluster GPU requests vs capacity.",
    variables=(Variable("node", "Node", "DCGM_FI_DEV_GPU_UTIL", "Hostname"),),
    panels=(
        Panel("GPU utilization", (Query(f"avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL{{{_N}}})", "{{Hostname}} gpu{{gpu}}"),),
              unit="percent"),
        Panel("Framebuffer used", (Query(
            f"max by (Hostname, gpu) (DCGM_FI_DEV_FB_USED{{{_N}}}) / (max by (Hostname, gpu) (DCGM_FI_DEV_FB_USED{{{_N}}}) "
            f"+ max by (Hostname, gpu) (DCGM_FI_DEV_FB_FREE{{{_N}}}))", "{{Hostname}} gpu{{gpu}}"),),
              unit="percentunit", description="vLLM preallocates the framebuffer by design (all of it unless gpu_memory_utilization caps it)."),
        Panel("GPU temperature", (Query(f"max by (Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP{{{_N}}})", "{{Hostname}} gpu{{gpu}}"),),
              unit="celsius"),
        Panel("Power draw", (Query(f"max by (Hostname, gpu) (DCGM_FI_DEV_POWER_USAGE{{{_N}}})", "{{Hostname}} gpu{{gpu}}"),),
              unit="watt"),
        Panel("Last XID error", (Query(f"max by (Hostname, gpu) (DCGM_FI_DEV_XID_ERRORS{{{_N}}})", "{{Hostname}} gpu{{gpu}}"),),
              description="The code of the last XID error a GPU reported (0 = none since the exporter started)."),
        Panel("GPUs requested vs allocatable", (
            Query('sum(kube_pod_container_resource_requests{resource="nvidia_com_gpu"} * on (namespace, pod) group_left() '
                  '(max by (namespace, pod) (kube_pod_status_phase{phase="Running"}) == 1))', "requested by running pods"),
            Query('sum(kube_node_status_allocatable{resource="nvidia_com_gpu"})', "allocatable"),
        )),
    ),
)

# JupyterHub 5.5: the hub's own metrics (jupyterhub/jupyterhub jupyterhub/metrics.py; active users
# are one gauge, jupyterhub_active_users, with period = 24h | 7d | 30d), scraped at
# /jupyter/hub/metrics by components/jupyterhub.py's ServiceMonitor.
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

# Airflow 3.2 StatsD metrics through the chart's statsd-exporter and its mapping
# (apache/airflow chart/files/statsd-mappings.yml: scheduler_heartbeat, pool.open_slots.<pool>,
# pool.starving_tasks.<pool>, executor.*; pool.running_slots/queued_slots.<pool> by our
# statsd.extraMappings in components/airflow.py, which also drop Airflow's unsuffixed pool.* duplicates
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

# Ray 2.52: the metrics agent on every Ray node (port `metrics`, which KubeRay adds to every Ray
# container; ray-project/ray python/ray/dashboard/modules/reporter/reporter_agent.py
# METRICS_GAUGES, exported with the `ray_` prefix; ray_tasks/ray_actors by State from the core
# workers), scraped by components/kuberay.py's PodMonitor, whose podTargetLabels copy KubeRay's
# pod labels ray.io/cluster and ray.io/node-type to ray_io_cluster / ray_io_node_type.
_R = 'ray_io_cluster=~"$cluster"'
RAY = Dashboard(
    "ray", "Ray clusters",
    "Per team Ray cluster: head and worker nodes up, node CPU/memory/GPU, tasks and actors.",
    variables=(Variable("cluster", "Cluster", "ray_node_cpu_utilization", "ray_io_cluster"),),
    panels=(
        Panel("Ray nodes up", (Query(
            f'sum by (namespace, ray_io_cluster, ray_io_node_type) (up{{ray_io_node_type=~"head|worker",{_R}}})',
            "{{namespace}} {{ray_io_cluster}} {{ray_io_node_type}}"),),
              description="Scrape targets answering: the head and each worker pod of a cluster."),
        Panel("Node CPU utilization", (Query(f"avg by (ray_io_cluster, pod) (ray_node_cpu_utilization{{{_R}}})",
                                             "{{ray_io_cluster}} {{pod}}"),), unit="percent"),
        Panel("Node memory used", (Query(
            f"sum by (ray_io_cluster, pod) (ray_node_mem_used{{{_R}}}) / sum by (ray_io_cluster, pod) (ray_node_mem_total{{{_R}}})",
            "{{ray_io_cluster}} {{pod}}"),), unit="percentunit"),
        Panel("Node GPU utilization", (Query(f"avg by (ray_io_cluster, pod) (ray_node_gpus_utilization{{{_R}}})",
                                             "{{ray_io_cluster}} {{pod}}"),), unit="percent"),
        Panel("Tasks by state", (Query(f"sum by (ray_io_cluster, State) (ray_tasks{{{_R}}})", "{{ray_io_cluster}} {{State}}"),)),
        Panel("Actors by state", (Query(f"sum by (ray_io_cluster, State) (ray_actors{{{_R}}})", "{{ray_io_cluster}} {{State}}"),)),
    ),
)

# Karpenter 1.14: its controller metrics (karpenter.sh docs reference/metrics: nodeclaims and
# nodepools families), scraped through the chart's ServiceMonitor; pending pods from
# kube-state-metrics.
KARPENTER = Dashboard(
    "karpenter", "Karpenter",
    "Node claims launched and terminated per pool, pool usage against its limits, pods waiting for capacity.",
    panels=(
        Panel("Node claims created per hour", (Query(
            "sum by (nodepool) (increase(karpenter_nodeclaims_created_total[1h]))", "{{nodepool}}"),)),
        Panel("Node claims terminated per hour", (Query(
            "sum by (nodepool) (increase(karpenter_nodeclaims_terminated_total[1h]))", "{{nodepool}}"),)),
        Panel("Pool usage / limit", (Query(
            "sum by (nodepool, resource_type) (karpenter_nodepools_usage) / on (nodepool, resource_type) "
            "sum by (nodepool, resource_type) (karpenter_nodepools_limit)", "{{nodepool}} {{resource_type}}"),),
              unit="percentunit", description="1 = the NodePool's limits are reached: Karpenter launches nothing more."),
        Panel("Node claims disrupted per hour", (Query(
            "sum by (nodepool, reason) (increase(karpenter_nodeclaims_disrupted_total[1h]))", "{{nodepool}} {{reason}}"),)),
        Panel("Pending pods", (
            Query('sum by (namespace) (kube_pod_status_phase{phase="Pending"})', "{{namespace}}"),
            Query("sum(karpenter_scheduler_queue_depth)", "Karpenter scheduling queue"),
        ), width=24),
    ),
)

DASHBOARDS: tuple[Dashboard, ...] = (VLLM, GPUS, JUPYTERHUB, AIRFLOW, RAY, KARPENTER)


def configmaps(env, namespace: str, component: str) -> list[Obj]:
    """One ConfigMap per dashboard, labelled for Grafana's dashboard sidecar."""
    return [{
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": metadata(configmap_name(d), component=component, env=env.name, namespace=namespace,
                             extra_labels={SIDECAR_LABEL: SIDECAR_LABEL_VALUE}),
        "data": {f"{d.name}.json": to_json(d)},
    } for d in DASHBOARDS]
