"""Versions rows of unit `gpu-operator`: its chart, the ClusterPolicy CRD and the images the chart's render
runs. `kit/versions.py` collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, ChartImages, CrdPin, HelmChart
from ...kit.versions import MirrorValue

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

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("gpu-operator", "operator.repository", "nvcr.io/nvidia"),
    MirrorValue("gpu-operator", "validator.repository", "nvcr.io/nvidia"),
    MirrorValue("gpu-operator", "driver.repository", "nvcr.io/nvidia"),
    MirrorValue("gpu-operator", "driver.manager.repository", "nvcr.io/nvidia/cloud-native"),
    MirrorValue("gpu-operator", "toolkit.repository", "nvcr.io/nvidia/k8s"),
    MirrorValue("gpu-operator", "devicePlugin.repository", "nvcr.io/nvidia"),
    MirrorValue("gpu-operator", "dcgm.repository", "nvcr.io/nvidia/cloud-native"),
    MirrorValue("gpu-operator", "dcgmExporter.repository", "nvcr.io/nvidia/k8s"),
    MirrorValue("gpu-operator", "gfd.repository", "nvcr.io/nvidia"),
    MirrorValue("gpu-operator", "migManager.repository", "nvcr.io/nvidia/cloud-native"),
    MirrorValue("gpu-operator", "nodeStatusExporter.repository", "nvcr.io/nvidia"),
    MirrorValue("gpu-operator", "gds.repository", "nvcr.io/nvidia/cloud-native"),
    MirrorValue("gpu-operator", "gdrcopy.repository", "nvcr.io/nvidia/cloud-native"),
    MirrorValue("gpu-operator", "vgpuManager.driverManager.repository", "nvcr.io/nvidia/cloud-native"),
    MirrorValue("gpu-operator", "vgpuDeviceManager.repository", "nvcr.io/nvidia/cloud-native"),
    MirrorValue("gpu-operator", "vfioManager.repository", "nvcr.io/nvidia/cloud-native"),
    MirrorValue("gpu-operator", "vfioManager.driverManager.repository", "nvcr.io/nvidia/cloud-native"),
    MirrorValue("gpu-operator", "sandboxDevicePlugin.repository", "nvcr.io/nvidia"),
    MirrorValue("gpu-operator", "kataSandboxDevicePlugin.repository", "nvcr.io/nvidia/cloud-native"),
    MirrorValue("gpu-operator", "ccManager.repository", "nvcr.io/nvidia/cloud-native"),
    MirrorValue("gpu-operator", "draDriver.repository", "nvcr.io/nvidia"),
    MirrorValue("gpu-operator", "node-feature-discovery.image.repository", "registry.k8s.io/nfd/node-feature-discovery"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("gpu-operator", "operator.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "node-feature-discovery.imagePullSecrets", "", part="pull_secrets"),
    MirrorValue("gpu-operator", "validator.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "driver.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "toolkit.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "devicePlugin.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "dcgm.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "dcgmExporter.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "gfd.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "migManager.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "nodeStatusExporter.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "gds.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "vgpuManager.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "vgpuDeviceManager.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "vfioManager.imagePullSecrets", "", part="pull_secret_names"),
    MirrorValue("gpu-operator", "ccManager.imagePullSecrets", "", part="pull_secret_names"),
)
