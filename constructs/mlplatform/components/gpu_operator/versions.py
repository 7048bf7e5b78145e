"""Versions rows of unit `gpu-operator`: its chart, the ClusterPolicy CRD and the images the chart's render
runs. `kit/versions.py` collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, ChartImages, CrdPin, HelmChart

VERSIONS = (
    HelmChart("gpu-operator", "https://helm.ngc.nvidia.com/nvidia", "v26.7.0", "v26.7.0",
              cluster_kinds=CLUSTER_RBAC + CRD_KIND + (("node.k8s.io", "RuntimeClass"),),
              provides_crds=("ClusterPolicy.nvidia.com",),
              # node-feature-discovery.*: the subchart's own values (its values.yaml in charts/), which
              # the parent's default values show only in part
              free_form_values=("operator.nodeSelector", "node-feature-discovery.master",
                                "node-feature-discovery.worker", "node-feature-discovery.gc")),
    CrdPin("ClusterPolicy", "nvidia.com", "v1", namespaced=False,
           url="https://raw.githubusercontent.com/NVIDIA/gpu-operator/v26.7.0/config/crd/bases/nvidia.com_clusterpolicies.yaml",
           sha256="fcece7d07504e57fd5815525b3baa1eccc659a2f3b48895578be731dcde4042a"),
    ChartImages("gpu-operator", ("nvcr.io/nvidia/gpu-operator:v26.7.0", "registry.k8s.io/nfd/node-feature-discovery:v0.19.0")),
)
