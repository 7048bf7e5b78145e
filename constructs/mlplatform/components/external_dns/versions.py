"""Versions rows of unit `external-dns`: its chart and the image the chart's render runs. `kit/versions.py`
collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, ChartImages, HelmChart

VERSIONS = (
    HelmChart("external-dns", "https://kubernetes-sigs.github.io/external-dns/", "1.21.1", "0.21.0",
              values_schema=True, cluster_kinds=CLUSTER_RBAC),
    ChartImages("external-dns", ("registry.k8s.io/external-dns/external-dns:v0.21.0",)),
)
