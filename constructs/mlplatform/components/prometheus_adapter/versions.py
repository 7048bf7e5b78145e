"""Versions rows of unit `prometheus-adapter`: its chart and the image the chart's render runs.
`kit/versions.py` collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, ChartImages, HelmChart
from ...kit.versions import MirrorValue

VERSIONS = (
    HelmChart("prometheus-adapter", "https://prometheus-community.github.io/helm-charts", "5.3.0", "v0.12.0",
              cluster_kinds=CLUSTER_RBAC + (("apiregistration.k8s.io", "APIService"),)),
    ChartImages("prometheus-adapter", ("registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0",)),
)

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("prometheus-adapter", "image.repository", "registry.k8s.io/prometheus-adapter/prometheus-adapter"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("prometheus-adapter", "image.pullSecrets", "", part="pull_secret_names"),
)
