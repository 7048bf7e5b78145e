"""The metrics facts table: every metric and label a rule, dashboard or adapter query may use.

Each row says which exporter emits the series, at which pinned version it was checked (the pin
itself is read from `kit.versions`), and the source that shows it. `validate/metrics.py` reads
every PrometheusRule, Grafana dashboard and prometheus-adapter rule we emit and reports a metric
or label that is not here -- and every row whose exporter's pin moved away from the version the
row was checked at: a version bump that renames a metric fails the synth instead of blanking a
panel or silencing an alert.

`verified`: True where the source was read at that version (the path is in the release's own
package); False where the row restates what the code cited before and nobody has re-read it at
the pin (the `source` then says so). Recorded series (a rule's `record:`) need no row: their
inputs are checked.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import versions


@dataclass(frozen=True)
class Exporter:
    name: str
    pin_kind: str  # "chart" (app_version or version) | "image" (tag) | "" (not pinned by us)
    pin_name: str
    checked_at: str  # the version the rows below were checked against
    # Labels Prometheus adds when scraping (the monitor's target labels), on every series.
    target_labels: tuple[str, ...]
    chart_version: bool = False  # pin is the chart's version, not its app_version

    def pinned(self) -> str | None:
        if self.pin_kind == "chart":
            c = versions.CHARTS[self.pin_name]
            return c.version if self.chart_version else c.app_version
        if self.pin_kind == "image":
            return versions.IMAGES[self.pin_name].tag
        return None


@dataclass(frozen=True)
class Metric:
    name: str  # as Prometheus stores it (histograms: the family, without _bucket/_count/_sum)
    exporter: str
    labels: tuple[str, ...]
    source: str
    verified: bool
    kind: str = "gauge"  # gauge | counter | histogram


_SM = ("job", "instance", "namespace", "service", "pod", "container", "endpoint")  # ServiceMonitor
_PM = ("job", "instance", "namespace", "pod", "container", "endpoint")  # PodMonitor

EXPORTERS: dict[str, Exporter] = {e.name: e for e in (
    Exporter("vllm", "image", "vllm", "v0.34.0", _SM),
    # dcgm-exporter as the gpu-operator chart deploys it; honorLabels false renames the exporter's
    # own namespace/pod/container (the GPU's workload) to exported_* (prometheus_rules.py).
    Exporter("dcgm-exporter", "chart", "gpu-operator", "v26.7.0", _SM),
    Exporter("kube-state-metrics", "chart", "kube-prometheus-stack", "88.5.3", _SM, chart_version=True),
    Exporter("kubelet", "chart", "kube-prometheus-stack", "88.5.3", _SM + ("node", "metrics_path"),
             chart_version=True),
    Exporter("prometheus", "chart", "kube-prometheus-stack", "88.5.3", (), chart_version=True),
    Exporter("jupyterhub", "chart", "jupyterhub", "5.5.0", _SM),
    # Airflow's StatsD names through the chart's statsd-exporter mapping (chart version: the mapping
    # file ships with the chart; Airflow's own version is checked by the `airflow-core` rows).
    Exporter("airflow-statsd", "chart", "airflow", "1.21.0", _SM, chart_version=True),
    Exporter("airflow-core", "chart", "airflow", "3.2.0", _SM),
    # Ray's metrics agent; the PodMonitor's podTargetLabels add ray_io_cluster / ray_io_node_type.
    Exporter("ray", "image", "ray", "2.52.0", _PM + ("ray_io_cluster", "ray_io_node_type")),
    Exporter("karpenter", "chart", "karpenter", "1.14.1", _SM),
)}

_UNVERIFIED = "not re-read at the pin: cited by the code before the facts table"
_VLLM = ("vllm-0.34.0 wheel: vllm/v1/metrics/loggers.py PrometheusStatLogger (labelnames model_name, engine; "
         "request_success adds finished_reason)")
_DCGM = (f"NVIDIA/dcgm-exporter etc/dcp-metrics-included.csv (counters), internal/pkg/transformation/const.go "
         f"(pod labels) ({_UNVERIFIED})")
_KSM = f"kubernetes/kube-state-metrics docs/metrics/workload/*-metrics.md ({_UNVERIFIED})"
_KARP = f"kubernetes-sigs/karpenter pkg/controllers/metrics, karpenter.sh docs reference/metrics ({_UNVERIFIED})"
_RAY = f"ray-project/ray python/ray/dashboard/modules/reporter/reporter_agent.py METRICS_GAUGES ({_UNVERIFIED})"
_JH = "jupyterhub-5.5.0 wheel: jupyterhub/metrics.py"
_AF_MAP = "apache-airflow chart 1.21.0: files/statsd-mappings.yml"
_VLLM_L = ("model_name", "engine")
_DCGM_L = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", "exported_namespace",
           "exported_pod", "exported_container")
_HPA = ("namespace", "horizontalpodautoscaler")
_RAY_NODE = ("ip", "SessionName")

METRICS: dict[str, Metric] = {m.name: m for m in (
    # vLLM (V1 engine)
    Metric("vllm:num_requests_waiting", "vllm", _VLLM_L, _VLLM, True),
    Metric("vllm:num_requests_running", "vllm", _VLLM_L, _VLLM, True),
    Metric("vllm:kv_cache_usage_perc", "vllm", _VLLM_L, _VLLM, True),
    Metric("vllm:generation_tokens_total", "vllm", _VLLM_L, _VLLM, True, "counter"),
    Metric("vllm:prompt_tokens_total", "vllm", _VLLM_L, _VLLM, True, "counter"),
    Metric("vllm:request_success_total", "vllm", _VLLM_L + ("finished_reason",), _VLLM, True, "counter"),
    Metric("vllm:time_to_first_token_seconds", "vllm", _VLLM_L, _VLLM, True, "histogram"),
    Metric("vllm:e2e_request_latency_seconds", "vllm", _VLLM_L, _VLLM, True, "histogram"),
    # DCGM
    *(Metric(n, "dcgm-exporter", _DCGM_L, _DCGM, False) for n in (
        "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_XID_ERRORS")),
    # kube-state-metrics (scraped with honorLabels: namespace/pod are the object's)
    Metric("kube_deployment_status_replicas_available", "kube-state-metrics", ("namespace", "deployment"), _KSM, False),
    Metric("kube_horizontalpodautoscaler_spec_max_replicas", "kube-state-metrics", _HPA, _KSM, False),
    Metric("kube_horizontalpodautoscaler_spec_min_replicas", "kube-state-metrics", _HPA, _KSM, False),
    Metric("kube_horizontalpodautoscaler_status_current_replicas", "kube-state-metrics", _HPA, _KSM, False),
    Metric("kube_horizontalpodautoscaler_status_desired_replicas", "kube-state-metrics", _HPA, _KSM, False),
    Metric("kube_horizontalpodautoscaler_status_condition", "kube-state-metrics", _HPA + ("condition", "status"),
           _KSM, False),
    Metric("kube_node_status_allocatable", "kube-state-metrics", ("node", "resource", "unit"), _KSM, False),
    Metric("kube_pod_container_resource_requests", "kube-state-metrics",
           ("namespace", "pod", "uid", "container", "node", "resource", "unit"), _KSM, False),
    Metric("kube_pod_container_status_ready", "kube-state-metrics", ("namespace", "pod", "uid", "container"),
           _KSM, False),
    Metric("kube_pod_container_status_restarts_total", "kube-state-metrics",
           ("namespace", "pod", "uid", "container"), _KSM, False, "counter"),
    Metric("kube_pod_status_phase", "kube-state-metrics", ("namespace", "pod", "uid", "phase"), _KSM, False),
    # kubelet
    *(Metric(n, "kubelet", ("namespace", "persistentvolumeclaim"),
             f"kubernetes/kubernetes pkg/kubelet/metrics/collectors/volume_stats.go ({_UNVERIFIED})", False)
      for n in ("kubelet_volume_stats_used_bytes", "kubelet_volume_stats_capacity_bytes")),
    # Prometheus itself: `up` carries the target labels of every scrape target.
    Metric("up", "prometheus", tuple(sorted({lb for e in EXPORTERS.values() for lb in e.target_labels})),
           f"prometheus/prometheus docs/concepts/jobs_instances.md ({_UNVERIFIED})", False),
    # JupyterHub 5.5.0 (read in the release wheel)
    Metric("jupyterhub_running_servers", "jupyterhub", (), f"{_JH} RUNNING_SERVERS", True),
    Metric("jupyterhub_total_users", "jupyterhub", (), f"{_JH} TOTAL_USERS", True),
    Metric("jupyterhub_active_users", "jupyterhub", ("period",),
           f"{_JH} ACTIVE_USERS, period = ActiveUserPeriods 24h|7d|30d", True),
    Metric("jupyterhub_server_spawn_duration_seconds", "jupyterhub", ("status",),
           f"{_JH} SERVER_SPAWN_DURATION_SECONDS", True, "histogram"),
    Metric("jupyterhub_request_duration_seconds", "jupyterhub", ("method", "handler", "code"),
           f"{_JH} REQUEST_DURATION_SECONDS", True, "histogram"),
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
             f"by components/airflow.py STATSD_DROP_MAPPINGS", True)
      for g in ("open_slots", "starving_tasks")),
    *(Metric(f"airflow_pool_{g}", "airflow-statsd", ("pool",),
             f"components/airflow.py STATSD_POOL_MAPPINGS airflow.pool.{g}.* -> pool=$1 (the chart maps none); "
             f"airflow-core 3.2.0 wheel: airflow/jobs/scheduler_job_runner.py _emit_pool_metrics", True)
      for g in ("running_slots", "queued_slots")),
    # One executor: Airflow sends executor.<gauge> without the class suffix, so the chart's
    # `airflow.executor.<gauge>.*` -> executor=$1 mapping does not apply: no `executor` label.
    *(Metric(f"airflow_executor_{g}", "airflow-core", (),
             "airflow-core 3.2.0 wheel: airflow/executors/base_executor.py _get_metric_name (suffix only with "
             "more than one executor; config allows KubernetesExecutor only)", True)
      for g in ("open_slots", "queued_tasks", "running_tasks")),
    # Ray
    *(Metric(n, "ray", _RAY_NODE, _RAY, False)
      for n in ("ray_node_cpu_utilization", "ray_node_mem_used", "ray_node_mem_total")),
    Metric("ray_node_gpus_utilization", "ray", _RAY_NODE + ("GpuIndex", "GpuDeviceName"), _RAY, False),
    Metric("ray_tasks", "ray", ("State", "Name", "IsRetry", "Source"),
           f"ray-project/ray core worker task/actor state metrics ({_UNVERIFIED})", False),
    Metric("ray_actors", "ray", ("State", "Name", "Source"),
           f"ray-project/ray core worker task/actor state metrics ({_UNVERIFIED})", False),
    # Karpenter
    Metric("karpenter_build_info", "karpenter", ("version", "goversion", "commit"), _KARP, False),
    Metric("karpenter_nodeclaims_created_total", "karpenter", ("nodepool", "reason", "capacity_type"), _KARP,
           False, "counter"),
    Metric("karpenter_nodeclaims_terminated_total", "karpenter", ("nodepool", "capacity_type"), _KARP, False,
           "counter"),
    Metric("karpenter_nodeclaims_disrupted_total", "karpenter", ("nodepool", "reason", "capacity_type"), _KARP,
           False, "counter"),
    Metric("karpenter_nodepools_usage", "karpenter", ("nodepool", "resource_type"), _KARP, False),
    Metric("karpenter_nodepools_limit", "karpenter", ("nodepool", "resource_type"), _KARP, False),
    Metric("karpenter_scheduler_queue_depth", "karpenter", ("controller",), _KARP, False),
    Metric("operator_nodepool_status_condition_count", "karpenter", ("name", "type", "status", "reason"),
           f"aws/karpenter-provider-aws website/content/en/preview/reference/metrics.md ({_UNVERIFIED})", False),
)}

_HISTOGRAM_SERIES = {"_bucket": ("le",), "_count": (), "_sum": ()}


def lookup(series: str) -> tuple[Metric, tuple[str, ...]] | None:
    """The row a stored series name belongs to, and the labels that series has (the metric's,
    its exporter's target labels, `le` for a histogram bucket); None when it is not in the table."""
    if series in METRICS and METRICS[series].kind != "histogram":
        m = METRICS[series]
        return m, m.labels + EXPORTERS[m.exporter].target_labels
    for suffix, extra in _HISTOGRAM_SERIES.items():
        base = series.removesuffix(suffix)
        if base != series and base in METRICS and METRICS[base].kind == "histogram":
            m = METRICS[base]
            return m, m.labels + extra + EXPORTERS[m.exporter].target_labels
    return None


def stale_pins() -> list[str]:
    """Exporters whose pin moved away from the version their rows were checked at."""
    out = []
    for e in EXPORTERS.values():
        pinned = e.pinned()
        if pinned is not None and pinned != e.checked_at:
            names = sorted(m.name for m in METRICS.values() if m.exporter == e.name)
            out.append(f"{e.name}: pinned at {pinned} ({e.pin_kind} {e.pin_name}) but its metrics were checked at "
                       f"{e.checked_at}: re-check {', '.join(names)} in that release and update kit/metrics.py")
    return out
