"""Versions rows of unit `external-dns`: its chart and the image the chart's render runs. `kit/versions.py`
collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, ChartImages, HelmChart
from ...kit.versions import MirrorValue

VERSIONS = (
    HelmChart("external-dns", "https://kubernetes-sigs.github.io/external-dns/", "1.21.1", "0.21.0",
              values_schema=True, cluster_kinds=CLUSTER_RBAC),
    ChartImages("external-dns", ("registry.k8s.io/external-dns/external-dns:v0.21.0",)),
)

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("external-dns", "image.repository", "registry.k8s.io/external-dns/external-dns"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("external-dns", "imagePullSecrets", "", part="pull_secrets"),
)
