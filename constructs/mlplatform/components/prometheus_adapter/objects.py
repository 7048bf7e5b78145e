"""Component `prometheus-adapter`: each served model's queue as a Kubernetes custom metric.

The pinned chart registers `v1beta1.custom.metrics.k8s.io` and answers HPAs from Prometheus.
Its rules are generated from `serving.models`, the same list the vLLM Deployments and HPAs come
from, through `kit.monitoring.adapter_rule`: per model, vLLM's `vllm:num_requests_waiting`
filtered on that model's namespace and `model_name` label, associated with the pod that reported
it, exposed as `kit.monitoring.queue_metric(<model>)`. The chart's default rules are off: the
adapter serves exactly the metrics HPAs use (every rule is a Prometheus query per relist).

Prometheus is reached through the operator's `prometheus-operated` Service (independent of the
kube-prometheus-stack release's object names). The adapter serves the aggregated API with its
own self-signed certificate (the chart's default; the APIService skips verification): there is
no cert-manager on the platform to issue one, and the API server reaches the pod over the
cluster network only.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import monitoring
from ...kit.component import HelmRelease
from .. import vllm

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "prometheus-adapter"
RELEASE = "prometheus-adapter"
METRICS_RELIST = "1m"


def rules(env: Env) -> list[dict]:
    return [monitoring.adapter_rule(vllm.namespace(env, m), m.name, m.name)
            for m in sorted(vllm.models(env), key=lambda m: m.name)]


def values(env: Env) -> dict:
    mon = env.monitoring
    return {
        "replicas": mon.adapter_replicas,
        "logLevel": 2,
        "metricsRelistInterval": METRICS_RELIST,
        "prometheus": {"url": monitoring.prometheus_url(env.namespaces.monitoring_namespace),
                       "port": monitoring.PROMETHEUS_PORT},
        "rules": {"default": False, "custom": rules(env), "external": []},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        "nodeSelector": dict(sorted(env.infrastructure.system_node_labels.items())),
        "podDisruptionBudget": {"enabled": mon.adapter_replicas > 1, "maxUnavailable": 1},
    }


def helm(env: Env) -> HelmRelease | None:
    if not env.monitoring.enabled:
        return None
    return HelmRelease(chart="prometheus-adapter", release=RELEASE,
                       namespace=env.namespaces.monitoring_namespace, values=values(env))


def build(env: Env) -> list:
    return []
