"""Versions rows of unit `monitoring`: the kube-prometheus-stack chart and the images its render runs.
`kit/versions.py` collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, WEBHOOKS, ChartImages, HelmChart
from ...kit.versions import MirrorValue

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

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("kube-prometheus-stack", "prometheusOperator.image.registry", "quay.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "prometheusOperator.prometheusConfigReloader.image.registry", "quay.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "prometheusOperator.thanosImage.registry", "quay.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "prometheusOperator.admissionWebhooks.deployment.image.registry", "quay.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "prometheusOperator.admissionWebhooks.patch.image.registry", "ghcr.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "alertmanager.alertmanagerSpec.image.registry", "quay.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "prometheus.prometheusSpec.image.registry", "quay.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "thanosRuler.thanosRulerSpec.image.registry", "quay.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "crds.upgradeJob.image.kubectl.registry", "registry.k8s.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "grafana.image.registry", "docker.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "grafana.sidecar.image.registry", "quay.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "kube-state-metrics.image.registry", "registry.k8s.io", part="registry"),
    MirrorValue("kube-prometheus-stack", "prometheus-node-exporter.image.registry", "quay.io", part="registry"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("kube-prometheus-stack", "global.imagePullSecrets", "", part="pull_secrets"),
)
