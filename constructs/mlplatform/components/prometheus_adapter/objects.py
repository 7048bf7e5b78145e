"""Component `prometheus-adapter`: each served model's queue as a Kubernetes custom metric.

The pinned chart registers `v1beta1.custom.metrics.k8s.io` and answers HPAs from Prometheus.
Its rules are collected from every unit's `custom_metrics` (`kit.monitoring.PodMetric`: a series,
the matchers that pick the contributor's series, the metric name its HPAs ask for) without naming
a unit; today the vllm unit offers, per served model, vLLM's queue filtered on that model's
namespace and `model_name` label. Each becomes one rule associated with the pod that reported it,
never summed per namespace. The chart's default rules are off: the adapter serves exactly the
metrics HPAs use (every rule is a Prometheus query per relist).

Prometheus is reached through the operator's `prometheus-operated` Service (independent of the
kube-prometheus-stack release's object names). The adapter serves the aggregated API with its
own self-signed certificate (the chart's default; the APIService skips verification): there is
no cert-manager on the platform to issue one, and the API server reaches the pod over the
cluster network only.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ...kit import component, monitoring
from ...kit.component import HelmRelease
from ..priority_classes import PRIORITY

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "prometheus-adapter"
RELEASE = "prometheus-adapter"
METRICS_RELIST = "1m"


def adapter_rule(m: monitoring.PodMetric) -> dict:
    """prometheus-adapter custom rule: one contributed series, per pod (never summed per namespace).

    The adapter lists the series by `seriesQuery`, ties each to its Namespace and Pod through the
    `namespace`/`pod` target labels Prometheus adds when scraping, renames it to `m.name`, and
    answers an HPA's Pods metric with `metricsQuery`, grouped by pod (`<<.GroupBy>>`) over the
    HPA's pods (`<<.LabelMatchers>>`).
    """
    sel = ",".join(f'{k}="{v}"' for k, v in m.matchers)
    return {
        "seriesQuery": f'{m.series}{{{sel},pod!=""}}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": f"^{re.escape(m.series)}$", "as": m.name},
        "metricsQuery": f"sum by (<<.GroupBy>>) ({m.series}{{{sel},<<.LabelMatchers>>}})",
    }


def rules(env: Env) -> list[dict]:
    """Every unit's custom metrics, in registry order."""
    return [adapter_rule(m) for u in component.units() if u.custom_metrics for m in u.custom_metrics(env)]


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
        "priorityClassName": PRIORITY.controllers,
    }


def helm(env: Env) -> HelmRelease | None:
    if not env.monitoring.enabled:
        return None
    return HelmRelease(chart="prometheus-adapter", release=RELEASE,
                       namespace=env.namespaces.monitoring_namespace, values=values(env))


def build(env: Env) -> list:
    return []
