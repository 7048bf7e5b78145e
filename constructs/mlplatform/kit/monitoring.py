"""The monitoring contract every component shares: which labels make Prometheus pick up a
ServiceMonitor, PodMonitor or PrometheusRule, where Prometheus answers queries, and the
definition of the vLLM queue signal (the series vLLM exports, the label that names the model,
the custom metric the adapter serves and the HPA asks for).

Everything that scrapes, records, alerts or autoscales derives from these names, so a
ServiceMonitor can't miss the selector, and an HPA, its adapter rule and vLLM's label can't drift
apart. `validate/` cross-checks the result on every synth.
"""
from __future__ import annotations

import re

# kube-prometheus-stack release (components/monitoring.py). Its Prometheus selects monitors and
# rules by exactly these labels, in every namespace (explicit selectors, not the chart's
# nil-uses-Helm-values magic); the chart's own monitors carry them too.
RELEASE = "kube-prometheus-stack"
SELECTOR_LABELS: dict[str, str] = {"release": RELEASE}
# "Kind.group" of the Prometheus Operator CRDs a component's objects or chart values need.
SERVICE_MONITOR_CRD = "ServiceMonitor.monitoring.coreos.com"
POD_MONITOR_CRD = "PodMonitor.monitoring.coreos.com"

# The operator creates this Service for every Prometheus (independent of chart naming).
PROMETHEUS_SERVICE = "prometheus-operated"
PROMETHEUS_PORT = 9090


def prometheus_url(namespace: str) -> str:
    return f"http://{PROMETHEUS_SERVICE}.{namespace}.svc"


def monitor_labels(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Labels for a ServiceMonitor/PodMonitor/PrometheusRule: the Prometheus selector's, plus `extra`."""
    return {**(extra or {}), **SELECTOR_LABELS}


# ----------------------------------------------------------------------------- vLLM queue signal
# vLLM's OpenAI server exports this gauge per engine, labelled with the served model name.
VLLM_QUEUE_SERIES = "vllm:num_requests_waiting"
VLLM_RUNNING_SERIES = "vllm:num_requests_running"
VLLM_MODEL_LABEL = "model_name"
# The adapter's name for one model's queue: a Kubernetes custom-metric name per model, because
# model names (`org/repo`, or anything with `/`) can't be HPA label-selector values, and one
# metric per model keeps one model's queue from ever steering another's replicas.
_METRIC_PREFIX = "vllm_waiting_requests_"


def queue_metric(model: str) -> str:
    """`opt-125m` -> `vllm_waiting_requests_opt_125m` (the HPA's and the adapter's metric name)."""
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", model):
        raise ValueError(f"model name {model!r} is not a DNS label")
    return _METRIC_PREFIX + model.replace("-", "_")


def queue_selector(namespace: str, served_name: str) -> str:
    """PromQL label matchers of one model's queue series (namespace + vLLM's model label)."""
    return f'{{namespace="{namespace}",{VLLM_MODEL_LABEL}="{served_name}"}}'


def adapter_rule(namespace: str, served_name: str, model: str) -> dict:
    """prometheus-adapter custom rule: one model's queue, per pod (never summed per namespace).

    The adapter lists the series by `seriesQuery`, ties each to its Namespace and Pod through the
    `namespace`/`pod` target labels Prometheus adds when scraping, renames it to
    `queue_metric(model)`, and answers an HPA's Pods metric with `metricsQuery`, grouped by pod
    (`<<.GroupBy>>`) over the HPA's pods (`<<.LabelMatchers>>`).
    """
    sel = f'namespace="{namespace}",{VLLM_MODEL_LABEL}="{served_name}"'
    return {
        "seriesQuery": f'{VLLM_QUEUE_SERIES}{{{sel},pod!=""}}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": f"^{re.escape(VLLM_QUEUE_SERIES)}$", "as": queue_metric(model)},
        "metricsQuery": f"sum by (<<.GroupBy>>) ({VLLM_QUEUE_SERIES}{{{sel},<<.LabelMatchers>>}})",
    }
