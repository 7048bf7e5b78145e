"""Versions rows of unit `karpenter`: its chart, the CRDs of the NodePools and node classes the platform emits,
and the controller image. `kit/versions.py` collects every unit's rows into the one versions table (`python
app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, WEBHOOKS, ChartImages, CrdPin, HelmChart
from ...kit.versions import MirrorValue

VERSIONS = (
    HelmChart("karpenter", "public.ecr.aws/karpenter", "1.14.1", "1.14.1", oci=True,
              cluster_kinds=CLUSTER_RBAC + CRD_KIND + WEBHOOKS,
              provides_crds=("NodePool.karpenter.sh", "NodeClaim.karpenter.sh", "EC2NodeClass.karpenter.k8s.aws",
                             "NodeOverlay.karpenter.sh"),  # NodeOverlay: no pin, the archive's crds/ (v1alpha1)
              free_form_values=("nodeSelector",)),
    CrdPin("EC2NodeClass", "karpenter.k8s.aws", "v1", namespaced=False,
           url="https://raw.githubusercontent.com/aws/karpenter-provider-aws/v1.14.1/pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml",
           sha256="62dec59f01c0972d4503ca3ed25f243ba9c2f561be0d964ce7a14c8df406132f"),
    CrdPin("NodeClaim", "karpenter.sh", "v1", namespaced=False,
           url="https://raw.githubusercontent.com/aws/karpenter-provider-aws/v1.14.1/pkg/apis/crds/karpenter.sh_nodeclaims.yaml",
           sha256="96037dc241031fe0f7a09ddf78183d885ce6a1dfe115f7b3fbf8a12c564be694"),
    CrdPin("NodePool", "karpenter.sh", "v1", namespaced=False,
           url="https://raw.githubusercontent.com/aws/karpenter-provider-aws/v1.14.1/pkg/apis/crds/karpenter.sh_nodepools.yaml",
           sha256="3bb64a20c80776b77aa19a699ebdaf34480a7b2e7ec4ef890b43225b3517f878"),
    ChartImages("karpenter", ("public.ecr.aws/karpenter/controller:1.14.1@sha256:"
                              "723130949e4cab989461ff07d1be4cd781d63515432494641b33c235f300ae23",)),
)

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("karpenter", "controller.image.repository", "public.ecr.aws/karpenter/controller"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("karpenter", "imagePullSecrets", "", part="pull_secrets"),
)
