"""Versions rows of unit `airflow`: its chart, the Airflow image it runs and the images the chart's render
runs. `kit/versions.py` collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, ChartImages, HelmChart, Image

VERSIONS = (
    HelmChart("airflow", "https://airflow.apache.org", "1.21.0", "3.2.0", values_schema=True,
              cluster_kinds=CLUSTER_RBAC),
    Image("airflow", "apache/airflow", "3.2.0"),
    ChartImages("airflow", ("quay.io/prometheus/statsd-exporter:v0.29.0", "registry.k8s.io/git-sync/git-sync:v4.4.2")),
)
