"""Versions rows of unit `kuberay`: its chart, the Ray CRDs and the Ray, Redis and operator images.
`kit/versions.py` collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, CrdPin, HelmChart, Image
from ...kit.versions import MirrorValue

VERSIONS = (
    HelmChart("kuberay-operator", "https://ray-project.github.io/kuberay-helm/", "1.7.0", "v1.7.0",
              crds_need_server_side_apply=True, cluster_kinds=CLUSTER_RBAC + CRD_KIND,
              provides_crds=("RayCluster.ray.io", "RayJob.ray.io", "RayService.ray.io"),
              commented_values=("watchNamespace",), free_form_values=("resources",)),
    CrdPin("RayCluster", "ray.io", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/ray-project/kuberay/v1.7.0/ray-operator/config/crd/bases/ray.io_rayclusters.yaml",
           sha256="c44704442eef0c6721ad40c1d66782c8bd3fdab9d3344306a5820910a679baa1"),
    CrdPin("RayJob", "ray.io", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/ray-project/kuberay/v1.7.0/ray-operator/config/crd/bases/ray.io_rayjobs.yaml",
           sha256="01a5cf3b17c1769fda44af7e82debcd98722f0c27b9ab84d084681c6649121f5"),
    CrdPin("RayService", "ray.io", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/ray-project/kuberay/v1.7.0/ray-operator/config/crd/bases/ray.io_rayservices.yaml",
           sha256="0a8fc325e6e22b9231c1f282b309555e2ecf94227ca20a03df3d1d9a403907ab"),
    Image("ray", "rayproject/ray", "2.52.0"),
    Image("ray-llm", "rayproject/ray-llm", "2.52.0-py311-cu128"),
    # The CUDA build of the same Ray and Python as `ray` (GPU worker groups; head and workers must match).
    Image("ray-gpu", "rayproject/ray", "2.52.0-gpu"),
    # In-cluster Redis for Ray GCS fault tolerance where the env has no ElastiCache.
    Image("redis", "redis", "7.4.11-alpine"),
    Image("kuberay-operator", "quay.io/kuberay/operator", "v1.7.0"),
)

# Where the chart takes the mirror's pull Secret (registry.pull_secret); the operator image is ours (IMAGES).
VERSIONS += (
    MirrorValue("kuberay-operator", "imagePullSecrets", "", part="pull_secrets"),
)
