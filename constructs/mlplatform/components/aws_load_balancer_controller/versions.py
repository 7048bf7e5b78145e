"""Versions rows of unit `aws-load-balancer-controller`: its chart, the CRDs it installs and the image the
chart's render runs. `kit/versions.py` collects every unit's rows into the one versions table (`python
app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, WEBHOOKS, ChartImages, CrdPin, HelmChart
from ...kit.versions import MirrorValue

VERSIONS = (
    HelmChart("aws-load-balancer-controller", "https://aws.github.io/eks-charts", "3.5.0", "v3.5.0",
              cluster_kinds=CLUSTER_RBAC + CRD_KIND + WEBHOOKS + (("networking.k8s.io", "IngressClass"),),
              provides_crds=("IngressClassParams.elbv2.k8s.aws", "TargetGroupBinding.elbv2.k8s.aws"),
              # a container securityContext (the default values show only three of its fields)
              free_form_values=("securityContext",)),
    CrdPin("ALBTargetControlConfig", "elbv2.k8s.aws", "v1beta1", namespaced=True,
           url="https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/v3.5.0/helm/aws-load-balancer-controller/crds/crds.yaml",
           sha256="cb00e9a8ee22cc51307bbed799faff306ab4d23a9fd201d26fcd53ab035777d9"),
    CrdPin("GlobalAccelerator", "aga.k8s.aws", "v1beta1", namespaced=True,
           url="https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/v3.5.0/helm/aws-load-balancer-controller/crds/crds.yaml",
           sha256="cb00e9a8ee22cc51307bbed799faff306ab4d23a9fd201d26fcd53ab035777d9"),
    CrdPin("IngressClassParams", "elbv2.k8s.aws", "v1beta1", namespaced=False,
           url="https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/v3.5.0/helm/aws-load-balancer-controller/crds/crds.yaml",
           sha256="cb00e9a8ee22cc51307bbed799faff306ab4d23a9fd201d26fcd53ab035777d9"),
    CrdPin("TargetGroupBinding", "elbv2.k8s.aws", "v1beta1", namespaced=True,
           url="https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/v3.5.0/helm/aws-load-balancer-controller/crds/crds.yaml",
           sha256="cb00e9a8ee22cc51307bbed799faff306ab4d23a9fd201d26fcd53ab035777d9"),
    ChartImages("aws-load-balancer-controller", ("public.ecr.aws/eks/aws-load-balancer-controller:v3.5.0",)),
)

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("aws-load-balancer-controller", "image.repository", "public.ecr.aws/eks/aws-load-balancer-controller"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("aws-load-balancer-controller", "imagePullSecrets", "", part="pull_secrets"),
)
