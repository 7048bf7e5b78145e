"""The `monitoring` section: Prometheus, Alertmanager, Grafana and prometheus-adapter, and the
thresholds of the platform's alerting rules."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ...config.base import ControllerResources, Model, Quantity

PromDuration = Annotated[str, Field(pattern=r"^[0-9]+(s|m|h|d)$", examples=["30s", "10m", "1h", "15d"])]


class AlertThresholds(Model):
    """Thresholds of the platform's PrometheusRules (`components/prometheus_rules.py`), per env.
    `serving.models[].slo` overrides the vLLM ones per model. Durations are Prometheus durations:
    how long a condition must hold (`for:`) or the window a count is taken over."""

    gpu_idle_utilization_percent: Annotated[int, Field(ge=1, le=100)] = Field(
        default=5, description="a GPU a pod holds counts as idle below this utilization (10-minute mean)")
    gpu_idle_for: PromDuration = Field(default="1h", description="how long an allocated GPU stays idle before it alerts")
    gpu_memory_used_percent: Annotated[int, Field(ge=50, le=100)] = Field(
        default=98, description="framebuffer use of a GPU a pod holds (vLLM replicas are left out: they "
                                "preallocate it by design)")
    gpu_temperature_celsius: Annotated[int, Field(ge=50, le=110)] = Field(default=87,
        description="GPU temperature (DCGM) in degrees Celsius that alerts")
    vllm_waiting_per_replica_high: Annotated[float, Field(gt=0)] = Field(
        default=10, description="requests waiting per replica that alert while the model's HPA is at max "
                                "(keep it above the models' autoscaling.target_waiting_per_replica)")
    vllm_ttft_p95_seconds: Annotated[float, Field(gt=0)] = Field(
        default=5, description="5-minute p95 time to first token of a model without slo.ttft_p95_seconds")
    vllm_kv_cache_usage_percent: Annotated[int, Field(ge=50, le=100)] = Field(default=95,
        description="KV-cache usage of a model's replicas, in percent, that alerts (requests get preempted near 100)")
    vllm_for: PromDuration = Field(default="10m", description="how long a vLLM queue, latency or KV-cache "
                                                              "condition holds before it alerts")
    hpa_at_max_for: PromDuration = Field(default="15m",
        description="how long an HPA stays at max_replicas before it alerts")
    metric_absent_for: PromDuration = Field(default="10m", description="a model's queue metric (what its HPA "
                                                                        "scales on) missing, or its HPA unable to read it")
    component_down_for: PromDuration = Field(default="5m", description="JupyterHub hub/proxy or a team's Ray head "
                                                                         "not ready")
    jupyterhub_spawn_failures_per_hour: Annotated[int, Field(ge=1)] = Field(default=3,
        description="failed notebook spawns within an hour that alert")
    airflow_heartbeat_missing_for: PromDuration = Field(default="5m",
        description="how long the Airflow scheduler's heartbeat may be missing before it alerts")
    airflow_task_failures_per_hour: Annotated[int, Field(ge=1)] = Field(default=5,
        description="failed Airflow task instances within an hour that alert")
    pvc_used_percent: Annotated[int, Field(ge=50, le=99)] = Field(default=90,
        description="used space of a PVC, in percent, that alerts")
    pod_restarts: Annotated[int, Field(ge=1)] = Field(
        default=3, description="container restarts within pod_restarts_window that alert (platform and team namespaces)")
    pod_restarts_window: PromDuration = Field(default="6h", description="window the pod_restarts count is taken over")
    karpenter_pool_usage_percent: Annotated[int, Field(ge=50, le=100)] = Field(
        default=90, description="a NodePool's usage of one of its limits (cpu, memory, nvidia.com/gpu)")


class MonitoringConfig(Model):
    """kube-prometheus-stack: Prometheus, Alertmanager, Grafana (Keycloak login), platform rules
    and dashboards; prometheus-adapter serves the vLLM queue metrics to the HPAs."""

    enabled: bool = Field(default=True,
        description="install kube-prometheus-stack and prometheus-adapter (serving.models need it: the HPAs scale on its metrics)")
    retention: PromDuration = Field(default="15d",
        description="how long Prometheus keeps samples (Prometheus duration: 15d)")
    retention_size: Annotated[str, Field(pattern=r"^[0-9]+(MB|GB|TB)$")] | None = Field(
        default=None, description="also cap the TSDB by size (e.g. 45GB, below storage)")
    storage: Quantity = Field(default="50Gi", description="size of each Prometheus replica's volume (gp3 PVC)")
    prometheus_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1,
        description="Prometheus pods (each scrapes everything and has its own volume)")
    prometheus_resources: Annotated[ControllerResources, Field(
        description="requests and limits of the Prometheus container")] = ControllerResources(
        cpu_request="500m", memory_request="2Gi", cpu_limit="2", memory_limit="4Gi")
    scrape_interval: PromDuration = Field(default="30s", description="default interval between scrapes of each target")
    evaluation_interval: PromDuration = Field(default="30s",
        description="how often recording and alerting rules are evaluated")
    alertmanager: bool = Field(default=True, description="run Alertmanager (receivers from the Secrets Manager "
                                                         "secret monitoring/alertmanager)")
    alertmanager_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1, description="Alertmanager pods")
    grafana_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1, description="Grafana pods")
    adapter_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1,
        description="prometheus-adapter pods (serve the custom metrics API the model HPAs read)")
    alerts: AlertThresholds = Field(default=AlertThresholds(),
        description="thresholds of the platform's alerting rules")
