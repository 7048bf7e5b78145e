"""Versions rows of unit `airflow`: its chart, the Airflow image it runs and the images the chart's render
runs. `kit/versions.py` collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, ChartImages, HelmChart, Image
from ...kit.versions import MirrorValue

VERSIONS = (
    HelmChart("airflow", "https://airflow.apache.org", "1.21.0", "3.2.0", values_schema=True,
              cluster_kinds=CLUSTER_RBAC),
    Image("airflow", "apache/airflow", "3.2.0"),
    ChartImages("airflow", ("quay.io/prometheus/statsd-exporter:v0.29.0", "registry.k8s.io/git-sync/git-sync:v4.4.2")),
)

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("airflow", "images.statsd.repository", "quay.io/prometheus/statsd-exporter"),
    MirrorValue("airflow", "images.gitSync.repository", "registry.k8s.io/git-sync/git-sync"),
    MirrorValue("airflow", "images.redis.repository", "redis"),
    MirrorValue("airflow", "images.pgbouncer.repository", "apache/airflow"),
    MirrorValue("airflow", "images.pgbouncerExporter.repository", "apache/airflow"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("airflow", "registry.secretName", "", part="pull_secret_name"),
)
