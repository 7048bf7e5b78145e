"""Versions rows of unit `kubeflow-trainer`: its chart, the Trainer CRDs, the PyTorch runtime image and the
images the chart's render runs. `kit/versions.py` collects every unit's rows into the one versions table
(`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, WEBHOOKS, ChartImages, CrdPin, HelmChart, Image
from ...kit.versions import MirrorValue

VERSIONS = (
    HelmChart("kubeflow-trainer", "ghcr.io/kubeflow/charts", "2.3.0", "v2.3.0", oci=True,
              crds_need_server_side_apply=True, cluster_kinds=CLUSTER_RBAC + CRD_KIND + WEBHOOKS,
              provides_crds=("TrainJob.trainer.kubeflow.org", "TrainingRuntime.trainer.kubeflow.org", "ClusterTrainingRuntime.trainer.kubeflow.org"),
              # a container securityContext (the default values show four of its fields)
              free_form_values=("manager.securityContext",)),
    CrdPin("ClusterTrainingRuntime", "trainer.kubeflow.org", "v1alpha1", namespaced=False,
           url="https://raw.githubusercontent.com/kubeflow/trainer/v2.3.0/manifests/base/crds/trainer.kubeflow.org_clustertrainingruntimes.yaml",
           sha256="ec84dc3388fcdbe8c61d3c247a773d14458dd9438e995bea8e50d2a18080eef9"),
    CrdPin("TrainJob", "trainer.kubeflow.org", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/kubeflow/trainer/v2.3.0/manifests/base/crds/trainer.kubeflow.org_trainjobs.yaml",
           sha256="a742cafc5b5582640c7e0b7467c024fc237256fbca5ba0a9f0531dfb66d64416"),
    CrdPin("TrainingRuntime", "trainer.kubeflow.org", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/kubeflow/trainer/v2.3.0/manifests/base/crds/trainer.kubeflow.org_trainingruntimes.yaml",
           sha256="69b8dbdf60a18e28cddcc2b8dfc4ce72a943e14b531b9389d593118faee4919f"),
    # Kubeflow Trainer runtimes (torchrun; CUDA 13.0, cuDNN 9): the tag the pinned Trainer 2.3.0's
    # own torch-distributed runtime uses (chart files/runtimes/torch-distributed.yaml, checked by
    # validate/bom.py). CUDA 13 needs driver >= 580, which the AL2023 NVIDIA AMI ships.
    Image("pytorch-cuda", "pytorch/pytorch", "2.13.0-cuda13.0-cudnn9-runtime"),
    ChartImages("kubeflow-trainer", ("ghcr.io/kubeflow/trainer/trainer-controller-manager:v2.3.0",
                                     "registry.k8s.io/jobset/jobset:v0.12.0")),
)

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("kubeflow-trainer", "image.registry", "ghcr.io", part="registry"),
    MirrorValue("kubeflow-trainer", "jobset.image.repository", "registry.k8s.io/jobset/jobset"),
    MirrorValue("kubeflow-trainer", "dataCache.cacheImage.registry", "ghcr.io", part="registry"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("kubeflow-trainer", "image.pullSecrets", "", part="pull_secrets"),
    MirrorValue("kubeflow-trainer", "jobset.image.pullSecrets", "", part="pull_secrets"),
)
