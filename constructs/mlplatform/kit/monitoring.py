"""The monitoring contract every component shares: which labels make Prometheus pick up a
ServiceMonitor, PodMonitor or PrometheusRule, where Prometheus answers queries, and the shape of
a series a unit offers its HPAs as a custom metric (`PodMetric`, served by prometheus-adapter).

Everything that scrapes, records, alerts or autoscales derives from these names, so a
ServiceMonitor can't miss the selector. The metric families themselves ship with the unit that
exports them (`components/<unit>/monitoring.py`). `validate/` cross-checks the result on every synth.
"""
from __future__ import annotations

from dataclasses import dataclass

# kube-prometheus-stack release (the `monitoring` unit). Its Prometheus selects monitors and
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


# ----------------------------------------------------------------------------- custom metrics for HPAs
@dataclass(frozen=True)
class PodMetric:
    """A series served per pod as a Kubernetes custom metric (`Component.custom_metrics`).

    `name` is what an HPA's Pods metric asks for; `series` the series Prometheus stores; `matchers`
    the equality matchers (label, value) that pick exactly the contributor's series, in order. The
    `prometheus-adapter` unit turns each into an adapter rule keyed by namespace and pod, so one
    workload's series can never steer another's replicas.
    """

    name: str
    series: str
    matchers: tuple[tuple[str, str], ...]
