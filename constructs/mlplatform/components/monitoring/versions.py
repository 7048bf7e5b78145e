"""Versions rows of unit `monitoring`: the kube-prometheus-stack chart and the images its render runs.
`kit/versions.py` collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, WEBHOOKS, ChartImages, HelmChart

VERSIONS = (
    HelmChart("kube-prometheus-stack", "https://prometheus-community.github.io/helm-charts", "88.5.3",
              "v0.93.1", crds_need_server_side_apply=True, cluster_kinds=CLUSTER_RBAC + CRD_KIND + WEBHOOKS,
              provides_crds=("PrometheusRule.monitoring.coreos.com", "ServiceMonitor.monitoring.coreos.com", "PodMonitor.monitoring.coreos.com"),
              # Subcharts (grafana 12.11.1, kube-state-metrics 8.4.0, prometheus-node-exporter
              # 4.56.1): their default values.yaml are not mirrored, and kube-prometheus-stack's
              # shows only a few of their keys. The keys this unit sets there (objects.py) were
              # checked against those charts' sources (see that module).
              free_form_values=("grafana", "kube-state-metrics", "prometheus-node-exporter")),
    ChartImages("kube-prometheus-stack", ("docker.io/grafana/grafana:13.2.0", "quay.io/kiwigrid/k8s-sidecar:2.10.1",
                                          "quay.io/prometheus-operator/prometheus-operator:v0.93.1",
                                          "quay.io/prometheus/node-exporter:v1.12.1-distroless",
                                          "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0")),
)
