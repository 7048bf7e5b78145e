"""Versions rows of unit `spark-operator`: its chart, the SparkApplication CRD and the image the chart's render
runs. `kit/versions.py` collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, WEBHOOKS, ChartImages, CrdPin, HelmChart
from ...kit.versions import MirrorValue

VERSIONS = (
    HelmChart("spark-operator", "https://kubeflow.github.io/spark-operator", "2.5.2", "2.5.2",
              crds_need_server_side_apply=True, cluster_kinds=CLUSTER_RBAC + CRD_KIND + WEBHOOKS,
              provides_crds=("SparkApplication.sparkoperator.k8s.io",)),
    CrdPin("SparkApplication", "sparkoperator.k8s.io", "v1beta2", namespaced=True,
           url="https://raw.githubusercontent.com/kubeflow/spark-operator/v2.5.2/config/crd/bases/sparkoperator.k8s.io_sparkapplications.yaml",
           sha256="ecd9c14fcadb9d5f8ced4c4ee31920548ea53a892e0a69c3e43aa758bfca6d94"),
    ChartImages("spark-operator", ("ghcr.io/kubeflow/spark-operator/controller:2.5.2",)),
)

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("spark-operator", "image.registry", "ghcr.io", part="registry"),
    MirrorValue("spark-operator", "hook.image.registry", "ghcr.io", part="registry"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("spark-operator", "image.pullSecrets", "", part="pull_secrets"),
)
