"""Typed environment configuration: what differs per environment, with defaults.

One `Env` per file in `environments/`. Every model forbids unknown keys, so a typo in an env
file is an error that names the file, the field path and the line (see `config/loader.py`).
The exported JSON Schema (`environments/env.schema.json`) is generated from these models.
"""
from __future__ import annotations

import ipaddress
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from ..kit import quantity
from ..kit.instances import GPU_INSTANCE_CATEGORIES, gpus_per_node_cap, instance_category, instance_generation
from .guard import GuardConfig
from .strict import Loc, StrictModel, raise_problems
from ..kit.versions import SUPPORTED_KUBERNETES_MINORS

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class Model(StrictModel):
    """Unknown keys are errors; scalars are strict (config/strict.py)."""


def _twice(names: list[str]) -> set[str]:
    return {n for n in names if names.count(n) > 1}


def _refuse(what: str, names: set[str]) -> None:
    if names:
        raise ValueError(f"{what}: {', '.join(sorted(names))}")


def _quantity(v: str) -> str:
    quantity.parse(v)
    return v


Quantity = Annotated[str, AfterValidator(_quantity), Field(examples=["500m", "4", "16Gi"])]
DnsLabel = Annotated[str, Field(pattern=DNS_LABEL, min_length=1, max_length=63)]
Arn = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")]
AwsAccountId = Annotated[str, Field(pattern=r"^\d{12}$")]
AwsRegion = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]


def _cidr(v: str) -> str:
    ipaddress.ip_network(v, strict=True)
    return v


Cidr = Annotated[str, AfterValidator(_cidr)]


def _human(v: Decimal, key: str) -> str:
    """A sum of quantities, for messages: memory in Gi, the rest as plain numbers."""
    if "memory" in key:
        return f"{format((v / Decimal(2) ** 30).normalize(), 'f')}Gi"
    return format(v.normalize(), "f")


# --------------------------------------------------------------------------- infrastructure
class Database(Model):
    """An RDS PostgreSQL endpoint made by Terraform; credentials live in Secrets Manager."""

    host: Annotated[str, Field(min_length=1)] = Field(
        description="endpoint hostname of the RDS instance (Terraform output)")
    port: Annotated[int, Field(ge=1, le=65535)] = Field(default=5432, description="PostgreSQL port of the RDS instance")
    database: DnsLabel = Field(description="name of the database on that instance that the component connects to")
    credentials_secret: Annotated[str, Field(min_length=1, description="Secrets Manager secret name (never the value)")]


class Efs(Model):
    file_system_id: Annotated[str, Field(pattern=r"^fs-[0-9a-f]{8,17}$")] = Field(
        description="EFS file system shared by the namespaces in storage.efs_mounts (static PVs)")
    access_point_id: Annotated[str, Field(pattern=r"^fsap-[0-9a-f]{8,17}$")] = Field(
        description="EFS access point the static PVs mount (fixes the uid/gid and root directory)")


class IamRoles(Model):
    """IRSA role ARNs created by Terraform, one per controller or workload identity."""

    karpenter: Arn = Field(
        description="IRSA role of the Karpenter controller (launches and terminates EC2 nodes, reads the interruption queue)")
    efs_csi_driver: Arn = Field(description="IRSA role of the EFS CSI driver controller")
    external_dns: Arn = Field(description="IRSA role of external-dns (writes the records of route53_zone_id)")
    external_secrets: Arn = Field(
        description="IRSA role of the External Secrets Operator (reads secrets under secrets_manager_prefix)")
    load_balancer_controller: Arn = Field(
        description="IRSA role of the AWS Load Balancer Controller (creates the ALB and its target groups)")
    workloads_s3: Arn = Field(
        description="IRSA role of the pods that use workloads_bucket (the MLflow server, Airflow task pods and S3 task logs)")
    spark: Arn = Field(description="Spark drivers/executors in the job namespaces (S3, like workloads_s3)")


class Infrastructure(Model):
    """Inputs produced by the separate Terraform (`terraform output -json`); never hand-invented.

    `python app.py infra --env <name> --from <terraform-output.json>` writes this file from the
    outputs declared in `terraform/outputs.tf` (one output per field, same name).
    """

    cluster_name: DnsLabel = Field(
        description="EKS cluster name (Karpenter's discovery tags, the ALB controller, the EC2NodeClass)")
    region: AwsRegion = Field(description="AWS region of the cluster, e.g. eu-west-1")
    account_id: AwsAccountId = Field(
        description="12-digit AWS account ID of the cluster; outputs of another account's state are refused")
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")] = Field(
        description="the cluster's VPC (AWS Load Balancer Controller)")
    vpc_cidr: Cidr = Field(
        description="the VPC's CIDR: every subnet CIDR below must lie inside it; team egress never reaches it")
    alb_subnet_cidrs: list[Cidr] = Field(min_length=1, description="the public subnets of the internet-facing ALB: "
                                         "the only addresses ALB traffic to ip targets comes from")
    control_plane_subnet_cidrs: list[Cidr] = Field(min_length=1, description="the EKS control plane's ENI subnets (the "
                                                   "cluster's vpc_config): where webhook and aggregated-API calls come from")
    pod_subnet_cidrs: list[Cidr] = Field(min_length=1, description="the private subnets nodes and pods (VPC CNI) take "
                                         "addresses from: no NetworkPolicy ipBlock may cover them")
    private_subnet_tags: dict[str, str] = Field(min_length=1, description="tags that select the node subnets (Karpenter)")
    public_subnet_tags: dict[str, str] = Field(min_length=1, description="tags that select the internet-facing ALB subnets")
    node_security_group_tags: dict[str, str] = Field(min_length=1, description="tags that select the node security group (Karpenter)")
    system_node_labels: dict[str, str] = Field(min_length=1, description="labels of the managed node group that runs controllers")
    efs: Efs = Field(description="the shared EFS file system and access point")
    certificate_arn: Arn = Field(
        description="ACM certificate the ALB's HTTPS listener serves (its names: certificate_domains)")
    certificate_domains: list[str] = Field(min_length=1, description="the ACM certificate's domain and SANs (e.g. *.dev.example.com)")
    route53_zone_id: Annotated[str, Field(pattern=r"^Z[0-9A-Z]{4,32}$")] = Field(
        description="Route 53 hosted zone external-dns writes the env's records to")
    roles: IamRoles = Field(description="IRSA role ARNs, one per controller or workload identity")
    karpenter_node_role: Annotated[str, Field(pattern=r"^[\w+=,.@-]{1,64}$", description="IAM role name of Karpenter-launched nodes")]
    karpenter_interruption_queue: Annotated[str, Field(min_length=1, description="SQS queue name")]
    secrets_manager_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9/_+=.@-]+/$", description="every platform secret lives under this Secrets Manager name prefix")]
    workloads_bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="S3 bucket of the workloads-s3 role (MLflow artifacts, logs)")]
    databases: dict[DnsLabel, Database] = Field(
        description="RDS databases by name (keycloak always; airflow and mlflow when enabled): one missing for an enabled component is an error", default_factory=dict)
    redis_endpoint: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$")] | None = Field(
        default=None, description="host:port of the env's ElastiCache Redis (TLS, AUTH) for Ray GCS fault tolerance; "
                                  "null: the env has none")

    @model_validator(mode="after")
    def _subnets(self) -> "Infrastructure":
        vpc = ipaddress.ip_network(self.vpc_cidr)
        kinds = {"alb_subnet_cidrs": self.alb_subnet_cidrs, "control_plane_subnet_cidrs": self.control_plane_subnet_cidrs,
                 "pod_subnet_cidrs": self.pod_subnet_cidrs}
        for field, cidrs in kinds.items():
            outside = [c for c in cidrs if not ipaddress.ip_network(c).subnet_of(vpc)]
            _refuse(f"{field} outside vpc_cidr {self.vpc_cidr}", set(outside))
        pods = [ipaddress.ip_network(c) for c in self.pod_subnet_cidrs]
        for field in ("alb_subnet_cidrs", "control_plane_subnet_cidrs"):
            clash = {c for c in kinds[field] if any(ipaddress.ip_network(c).overlaps(p) for p in pods)}
            _refuse(f"{field} overlap the pod subnets (a policy admitting them would admit pods)", clash)
        return self


# --------------------------------------------------------------------------- tenants
class TeamQuota(Model):
    cpu: Quantity = Field(description="requests.cpu hard limit")
    memory: Quantity = Field(description="requests.memory hard limit")
    limits_cpu: Quantity | None = Field(default=None, description="limits.cpu (default: 2 x cpu)")
    limits_memory: Quantity | None = Field(default=None, description="limits.memory (default: memory)")
    gpus: Annotated[int, Field(ge=0)] = Field(default=0,
        description="requests.nvidia.com/gpu hard limit of the team namespace: everything the team can run at once (models at max replicas, Ray GPU groups, its largest training runtime) must fit; 0: no GPUs")
    pods: Annotated[int, Field(ge=1)] = Field(default=100,
        description="most pods the team namespace may hold at once (ResourceQuota pods)")
    persistent_volume_claims: Annotated[int, Field(ge=0)] = Field(default=20,
        description="most PVCs the team namespace may hold (ResourceQuota persistentvolumeclaims)")
    storage: Quantity = Field(default="500Gi",
        description="total storage all the team's PVCs may request (ResourceQuota requests.storage)")


class ContainerDefaults(Model):
    """LimitRange defaults applied to containers that declare no resources of their own."""

    cpu_request: Quantity = Field(default="100m",
        description="CPU request given to a container that declares none (LimitRange defaultRequest)")
    memory_request: Quantity = Field(default="256Mi",
        description="memory request given to a container that declares none (LimitRange defaultRequest)")
    cpu_limit: Quantity = Field(default="2",
        description="CPU limit given to a container that declares none (LimitRange default); not below cpu_request")
    memory_limit: Quantity = Field(default="2Gi",
        description="memory limit given to a container that declares none (LimitRange default); not below memory_request")

    @model_validator(mode="after")
    def _ordered(self) -> "ContainerDefaults":
        if quantity.parse(self.cpu_request) > quantity.parse(self.cpu_limit):
            raise ValueError("cpu_request must not exceed cpu_limit")
        if quantity.parse(self.memory_request) > quantity.parse(self.memory_limit):
            raise ValueError("memory_request must not exceed memory_limit")
        return self


class Team(Model):
    name: Annotated[str, Field(pattern=DNS_LABEL, max_length=40)] = Field(
        description="team name (DNS label, at most 40 characters): namespace <namespaces.team_prefix><name>, Volcano queue team-<name>, the key in volcano.queues and ray.clusters")
    description: str = Field(default="",
        description="free text, set as the platform.mlops.io/description annotation of the team namespace")
    quota: TeamQuota = Field(description="the team namespace's ResourceQuota")
    container_defaults: ContainerDefaults = Field(default=ContainerDefaults(),
        description="the team namespace's LimitRange defaults; the requests must fit the quota")

    @model_validator(mode="after")
    def _defaults_fit_quota(self) -> "Team":
        if quantity.parse(self.container_defaults.cpu_request) > quantity.parse(self.quota.cpu):
            raise ValueError("container_defaults.cpu_request exceeds quota.cpu")
        if quantity.parse(self.container_defaults.memory_request) > quantity.parse(self.quota.memory):
            raise ValueError("container_defaults.memory_request exceeds quota.memory")
        return self


# --------------------------------------------------------------------------- components
PodSecurityLevel = Literal["restricted", "baseline", "privileged"]


class PlatformNamespace(Model):
    """A namespace that a platform component runs in."""

    name: DnsLabel = Field(
        description="namespace name (must not also be in namespaces.external or be a team namespace)")
    component: DnsLabel = Field(description="the component (Argo CD Application) that lives here")
    pod_security: PodSecurityLevel = Field(default="restricted",
        description="Pod Security Admission level enforced on the namespace; anything but restricted needs pod_security_reason")
    pod_security_reason: str = Field(default="", description="required when pod_security is not restricted")
    control_plane_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=list, description="container ports of the webhooks and aggregated APIs the EKS control plane "
                                          "calls here: the control-plane subnets are admitted to these ports only")
    metrics_ports: list[Annotated[int, Field(ge=1, le=65535)] | DnsLabel] = Field(
        default_factory=list, description="container ports (numbers or names) the monitoring namespace scrapes here; "
                                          "empty: monitoring is not admitted")
    egress: "PlatformEgress | None" = Field(
        default=None, description="restrict the namespace's egress to these destinations (null: egress is open)")
    allow_from_namespaces: list[DnsLabel] = Field(
        description="other namespaces whose pods may connect to every pod here (NetworkPolicy ingress)", default_factory=list)
    container_defaults: ContainerDefaults = Field(default=ContainerDefaults(),
        description="the namespace's LimitRange defaults")
    allow_from_teams: bool = Field(default=False, description="admit traffic from every team namespace (shared services)")
    isolated_pods: dict[str, list[str]] = Field(
        default_factory=dict,
        description="pods with these label values get none of the namespace-wide allows (label key -> values); "
                    "their chart's own NetworkPolicies decide (e.g. user notebooks: only hub and proxy)")

    @model_validator(mode="after")
    def _reason(self) -> "PlatformNamespace":
        if self.pod_security != "restricted" and not self.pod_security_reason.strip():
            raise ValueError(f"pod_security {self.pod_security!r} needs a pod_security_reason")
        return self


class PlatformEgress(Model):
    """Where the pods of a platform namespace may connect to, besides DNS and their own namespace."""

    kubernetes_api: bool = Field(default=True, description="the EKS API (control-plane subnets, 443)")
    internet_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=list, description="TCP ports on addresses outside the VPC (never 169.254.169.254)")


PlatformNamespace.model_rebuild()


def _default_platform_namespaces() -> list[PlatformNamespace]:
    P = PlatformNamespace
    # control_plane_ports: the charts' webhook / aggregated-API container ports; metrics_ports: what
    # their ServiceMonitors scrape. ALB ports are not listed here: they come from kit/routes.py.
    return [
        P(name="external-secrets", component="external-secrets", control_plane_ports=[10250], metrics_ports=[8080]),
        # external-dns talks to the Kubernetes API and Route 53 only
        P(name="external-dns", component="external-dns", metrics_ports=[7979],
          egress=PlatformEgress(kubernetes_api=True, internet_ports=[443])),
        P(name="keycloak", component="keycloak", pod_security="baseline", metrics_ports=[9000],
          pod_security_reason="the upstream keycloak-operator Deployment is applied unmodified from its release "
                              "manifests and does not declare the restricted-profile securityContext"),
        P(name="jupyterhub", component="jupyterhub", metrics_ports=[8081],
          isolated_pods={"component": ["singleuser-server"]}),
        P(name="airflow", component="airflow", metrics_ports=[9102]),
        # the operator's admission webhook is called by the EKS control plane
        P(name="spark-operator", component="spark-operator", control_plane_ports=[9443], metrics_ports=[8080]),
        P(name="volcano-system", component="volcano", control_plane_ports=[8443], metrics_ports=[8080, 8081]),
        P(name="kubeflow-system", component="kubeflow-trainer", control_plane_ports=[9443], metrics_ports=[8080]),
        P(name="kuberay-system", component="kuberay", metrics_ports=[8080]),
        P(name="mlflow", component="mlflow", allow_from_teams=True,
          allow_from_namespaces=["jupyterhub", "airflow"]),
        # prometheus-operator's admission webhook (10250) and prometheus-adapter's custom metrics API (6443)
        P(name="monitoring", component="monitoring", control_plane_ports=[6443, 10250], pod_security="privileged",
          pod_security_reason="node-exporter needs hostNetwork, hostPID and hostPath mounts to read node metrics"),
        P(name="gpu-operator", component="gpu-operator", pod_security="privileged", metrics_ports=[8080, 9400],
          pod_security_reason="the NVIDIA device plugin, GPU feature discovery, DCGM exporter and operator validator run privileged containers with hostPath mounts"),
    ]


class NamespacesConfig(Model):
    """The `namespaces` component: platform and team namespaces with PSA, quota, limits, policies."""

    platform: list[PlatformNamespace] = Field(
        description="platform namespaces with their Pod Security level and network allows (replacing the list replaces the defaults)", default_factory=_default_platform_namespaces)
    monitoring_namespace: DnsLabel = Field(default="monitoring",
        description="namespace of Prometheus: the one admitted to every metrics_ports entry")
    # Namespaces that exist on the cluster without us (EKS, Argo CD bootstrap): objects may live
    # there, but this generator never creates or owns them.
    external: list[DnsLabel] = Field(
        description="namespaces that exist without this generator (EKS, the Argo CD bootstrap): objects may live there, but they are never created or owned here", default_factory=lambda: ["argocd", "default", "kube-system"])
    team_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][-a-z0-9]{0,20}$", description="team namespaces are <prefix><team>")] = "team-"
    tenant_internet_egress: bool = Field(
        default=True, description="team pods may open connections outside the VPC (model hubs, pip, S3); never to "
                                  "the VPC itself or the instance metadata endpoint")

    @model_validator(mode="after")
    def _unique(self) -> "NamespacesConfig":
        names = [p.name for p in self.platform]
        _refuse("platform namespaces listed twice", _twice(names))
        _refuse("namespaces both platform-owned and external", set(names) & set(self.external))
        return self


# --------------------------------------------------------------------------- cluster base
class Hosts(Model):
    """Host labels under the env domain: the one place every ingress host and OIDC URL comes from."""

    auth: DnsLabel = Field(default="auth", description="Keycloak")
    platform: DnsLabel = Field(default="platform", description="JupyterHub (/jupyter) and Airflow (/airflow)")
    argocd: DnsLabel = Field(default="argocd", description="Argo CD")
    grafana: DnsLabel = Field(default="grafana", description="Grafana")
    mlflow: DnsLabel = Field(default="mlflow", description="MLflow tracking server")
    prometheus: DnsLabel = Field(default="prometheus", description="Prometheus UI (Keycloak login at the ALB)")
    alertmanager: DnsLabel = Field(default="alertmanager", description="Alertmanager UI (Keycloak login at the ALB)")
    ray: DnsLabel = Field(default="ray", description="Ray dashboards")

    @model_validator(mode="after")
    def _distinct(self) -> "Hosts":
        labels = [v for v in self.model_dump().values()]
        _refuse("host labels used twice", _twice(labels))
        return self


class IngressConfig(Model):
    """The env's one shared internet-facing ALB (an IngressGroup) and its controller."""

    hosts: Hosts = Field(default=Hosts(), description="host label of each app under domain: <label>.<domain>")
    class_name: DnsLabel = Field(default="platform-alb", description="IngressClass every platform Ingress uses")
    ssl_policy: str = Field(
        description="ELB security policy of the HTTPS listener (TLS versions and ciphers); also the controller's default", default="ELBSecurityPolicy-TLS13-1-2-2021-06", pattern=r"^ELBSecurityPolicy-[A-Za-z0-9-]+$")
    inbound_cidrs: list[Cidr] = Field(default_factory=lambda: ["0.0.0.0/0"], min_length=1,
                                      description="who may reach the ALB at all")
    idle_timeout_seconds: Annotated[int, Field(ge=1, le=4000)] = Field(default=60,
        description="ALB idle connection timeout in seconds (long-running requests and websockets are cut after it)")
    deletion_protection: bool = Field(default=False,
        description="ALB deletion protection: AWS refuses to delete the load balancer while on")
    access_logs_bucket: str | None = Field(default=None, description="S3 bucket for ALB access logs (off when unset)")
    controller_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=2,
        description="AWS Load Balancer Controller pods")


class ExternalDnsConfig(Model):
    policy: Literal["sync", "upsert-only"] = Field(
        default="sync", description="sync also deletes records whose Ingress is gone; upsert-only never deletes")
    interval: Annotated[str, Field(pattern=r"^\d+[smh]$")] = Field(default="1m",
        description="how often external-dns reconciles records (Go duration: 30s, 1m, 1h)")


class EfsMount(Model):
    """A namespace that mounts the shared EFS file system (one static PV + PVC for it)."""

    namespace: DnsLabel = Field(description="namespace that gets the shared EFS PV + PVC")
    read_only: bool = Field(default=False, description="mount the share read-only in this namespace")


class StorageConfig(Model):
    gp3_iops: Annotated[int, Field(ge=3000, le=16000)] = Field(default=3000,
        description="provisioned IOPS of every gp3 EBS volume of the default StorageClass (3000 is gp3's free baseline)")
    gp3_throughput_mibps: Annotated[int, Field(ge=125, le=1000)] = Field(default=125,
        description="provisioned throughput of every gp3 EBS volume, MiB/s (125 is gp3's free baseline)")
    efs_mounts: list[EfsMount] = Field(
        description="namespaces that mount the shared EFS file system (model_cache efs needs the serving teams' namespaces here)", default_factory=lambda: [EfsMount(namespace="jupyterhub"),
                                                                 EfsMount(namespace="airflow")])

    @model_validator(mode="after")
    def _unique(self) -> "StorageConfig":
        _refuse("namespaces mounting the EFS share twice", _twice([m.namespace for m in self.efs_mounts]))
        return self


class KeycloakConfig(Model):
    instances: Annotated[int, Field(ge=1, le=9)] = Field(default=1,
        description="Keycloak server pods (more than one also gets a PodDisruptionBudget)")
    realm: DnsLabel = Field(default="mlplatform", description="the platform realm (never `master`)")
    public_admin_console: bool = Field(default=False, description="serve /admin on the internet (else the ALB answers 403)")
    cpu_request: Quantity = Field(default="500m", description="CPU request of each Keycloak pod")
    memory_request: Quantity = Field(default="1Gi", description="memory request of each Keycloak pod")
    cpu_limit: Quantity = Field(default="2", description="CPU limit of each Keycloak pod")
    memory_limit: Quantity = Field(default="2Gi", description="memory limit of each Keycloak pod")
    access_token_lifespan_seconds: Annotated[int, Field(ge=60, le=86400)] = Field(default=300,
        description="lifetime of an access token in seconds (realm accessTokenLifespan)")
    sso_session_idle_seconds: Annotated[int, Field(ge=300, le=604800)] = Field(default=1800,
        description="an SSO session idle this many seconds ends (realm ssoSessionIdleTimeout; also the Airflow session length)")
    sso_session_max_seconds: Annotated[int, Field(ge=600, le=2592000)] = Field(default=36000,
        description="an SSO session ends this many seconds after login at the latest (realm ssoSessionMaxLifespan)")

    @model_validator(mode="after")
    def _realm(self) -> "KeycloakConfig":
        if self.realm == "master":
            raise ValueError("realm must not be `master`: apps get a dedicated realm")
        return self


class SecretsConfig(Model):
    """External Secrets Operator: Secrets Manager values become Kubernetes Secrets."""

    controller_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1,
        description="External Secrets Operator controller pods")
    refresh_interval: Annotated[str, Field(pattern=r"^\d+[smh]$")] = Field(default="1h",
        description="how often each ExternalSecret re-reads Secrets Manager (e.g. 1h): a rotated value arrives within it")


# --------------------------------------------------------------------------- notebooks (jupyterhub)
KeycloakRole = Literal["admin", "ml-engineer", "data-scientist", "viewer"]  # realm roles (components/keycloak.py)


def _binary_memory(v: str) -> str:
    """KubeSpawner sizes memory in binary units with one-letter suffixes (4G = 4 GiB): accept the
    Kubernetes spelling (4Gi) in config and refuse decimal units that would silently mean less."""
    quantity.parse(v)
    if not v[-2:] in ("Mi", "Gi", "Ti"):
        raise ValueError(f"{v!r}: use Mi, Gi or Ti (binary units) for notebook memory")
    return v


BinaryMemory = Annotated[str, AfterValidator(_binary_memory), Field(examples=["512Mi", "4Gi"])]


class NotebookProfile(Model):
    """One entry of the JupyterHub spawn menu."""

    slug: DnsLabel = Field(description="profile id (DNS label): what the spawn form submits; unique")
    display_name: Annotated[str, Field(min_length=1, max_length=80)] = Field(description="title in the spawn menu")
    description: str = Field(default="", description="one line under the title in the spawn menu")
    image: str = Field(description="key of the image in kit/versions.py IMAGES (one versions table)")
    cpu_guarantee: Annotated[float, Field(gt=0, le=192)] = Field(
        description="CPUs reserved for the notebook (request), in cores")
    cpu_limit: Annotated[float, Field(gt=0, le=192)] = Field(
        description="most CPUs the notebook may use, in cores (not below cpu_guarantee)")
    mem_guarantee: BinaryMemory = Field(
        description="memory reserved for the notebook (request), binary units (Mi, Gi, Ti)")
    mem_limit: BinaryMemory = Field(
        description="most memory the notebook may use before it is OOM-killed, binary units (not below mem_guarantee)")
    gpus: Annotated[int, Field(ge=0, le=8)] = Field(default=0,
        description="nvidia.com/gpu of the notebook; above 0 it runs on the GPU pool")
    required_roles: list[KeycloakRole] = Field(
        default_factory=list, description="Keycloak realm roles allowed to see and start it (empty: everyone)")
    default: bool = Field(default=False, description="preselected in the spawn menu (at most one profile)")
    run_as_root: bool = Field(default=False, description="explicit opt-in; notebooks run as uid 1000 without sudo otherwise")

    @model_validator(mode="after")
    def _sizes(self) -> "NotebookProfile":
        from ..kit import versions
        if self.image not in versions.IMAGES:
            raise ValueError(f"image {self.image!r} is not in the versions table (kit/versions.py IMAGES)")
        if self.cpu_guarantee > self.cpu_limit:
            raise ValueError("cpu_guarantee must not exceed cpu_limit")
        if quantity.parse(self.mem_guarantee) > quantity.parse(self.mem_limit):
            raise ValueError("mem_guarantee must not exceed mem_limit")
        return self


class CullConfig(Model):
    timeout_seconds: Annotated[int, Field(ge=300)] = Field(default=3600,
        description="a notebook server idle this many seconds is stopped")
    every_seconds: Annotated[int, Field(ge=60)] = Field(default=300,
        description="how often the culler checks for idle servers, in seconds")
    max_age_seconds: Annotated[int, Field(ge=0)] = Field(default=604800, description="0: no maximum age")


def _default_profiles() -> list[NotebookProfile]:
    P = NotebookProfile
    return [
        P(slug="small", display_name="Small (CPU)", description="2 CPU, 4 GiB: exploring and light work",
          image="notebook-base", cpu_guarantee=0.5, cpu_limit=2, mem_guarantee="1Gi", mem_limit="4Gi", default=True),
        P(slug="datascience", display_name="Data science (CPU)", description="4 CPU, 16 GiB, the data-science image",
          image="notebook-datascience", cpu_guarantee=1, cpu_limit=4, mem_guarantee="4Gi", mem_limit="16Gi"),
        P(slug="gpu-1", display_name="1 GPU", description="One NVIDIA GPU, 8 CPU, 32 GiB (PyTorch, CUDA)",
          image="notebook-pytorch-cuda", cpu_guarantee=2, cpu_limit=8, mem_guarantee="16Gi", mem_limit="32Gi",
          gpus=1, required_roles=["admin", "ml-engineer", "data-scientist"]),
    ]


class JupyterHubConfig(Model):
    """JupyterHub at platform.<domain>/jupyter, logins through the platform realm."""

    enabled: bool = Field(default=True, description="install JupyterHub")
    admin_roles: list[KeycloakRole] = Field(
        description="realm roles that are JupyterHub admins", default_factory=lambda: ["admin"])
    allowed_roles: list[KeycloakRole] = Field(default_factory=lambda: ["admin", "ml-engineer", "data-scientist"],
                                              min_length=1, description="realm roles that may log in at all")
    profiles: list[NotebookProfile] = Field(
        description="the spawn menu; a user sees the profiles whose required_roles they have", default_factory=_default_profiles, min_length=1)
    home_size: Quantity = Field(default="10Gi", description="size of each user's home volume (a gp3 PVC per user)")
    hub_db_size: Quantity = Field(default="10Gi", description="size of the hub's sqlite database volume")
    start_timeout_seconds: Annotated[int, Field(ge=60, le=3600)] = Field(
        default=900, description="a GPU node takes minutes to join and pull a CUDA image")
    cull: CullConfig = Field(default=CullConfig(), description="stopping idle notebook servers")
    internet_egress: bool = Field(default=True, description="notebooks may reach public IPs (pip, git, datasets)")
    egress_namespaces: list[DnsLabel] = Field(default_factory=lambda: ["mlflow"],
                                              description="in-cluster namespaces notebooks may call")
    hub_cpu: Quantity = Field(default="500m", description="CPU request of the hub pod")
    hub_cpu_limit: Quantity = Field(default="2", description="CPU limit of the hub pod")
    hub_memory: Quantity = Field(default="1Gi", description="memory request and limit of the hub pod")

    @model_validator(mode="after")
    def _profiles(self) -> "JupyterHubConfig":
        _refuse("notebook profiles listed twice", _twice([p.slug for p in self.profiles]))
        defaults = [p.slug for p in self.profiles if p.default]
        if len(defaults) > 1:
            raise ValueError(f"more than one default profile: {', '.join(defaults)}")
        for p in self.profiles:
            if p.required_roles and not set(p.required_roles) & set(self.allowed_roles):
                raise ValueError(f"profile {p.slug!r} requires roles {p.required_roles} none of which may log in "
                                 f"(allowed_roles {self.allowed_roles})")
        return self


# --------------------------------------------------------------------------- tracking (mlflow)
class MlflowConfig(Model):
    """The MLflow tracking server: RDS backend, S3 artifacts (proxied), Keycloak login at the ALB."""

    enabled: bool = Field(default=True,
        description="install the MLflow tracking server (needs infrastructure.databases.mlflow)")
    replicas: Annotated[int, Field(ge=1, le=10)] = Field(default=1, description="tracking server pods")
    workers: Annotated[int, Field(ge=1, le=16)] = Field(default=2, description="uvicorn workers per pod")
    cpu_request: Quantity = Field(default="250m", description="CPU request of each tracking server pod")
    cpu_limit: Quantity = Field(default="1", description="CPU limit of each tracking server pod")
    memory_request: Quantity = Field(default="512Mi", description="memory request of each tracking server pod")
    memory_limit: Quantity = Field(default="1Gi", description="memory limit of each tracking server pod")
    artifact_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9/_-]*[a-z0-9]$")] = Field(
        default="mlflow", description="key prefix of artifacts in the workloads bucket")


# --------------------------------------------------------------------------- compute (karpenter, gpu)
# Durations as Karpenter's NodePool CRD spells them ("30s", "1h30m"; "Never" where allowed).
KarpenterDuration = Annotated[str, Field(pattern=r"^(([0-9]+(s|m|h))+|Never)$", examples=["30s", "10m", "720h", "Never"])]
# A budget window: hours and/or minutes only (the CRD's pattern for `budgets[].duration`).
BudgetDuration = Annotated[str, Field(pattern=r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$", examples=["8h", "1h30m"])]
# EC2 naming as Karpenter labels it: family `g5` = category `g` + generation `5` (+ suffix: `p4d`, `g4dn`).
InstanceCategory = Annotated[str, Field(pattern=r"^[a-z]{1,8}$", examples=["c", "m", "r", "g", "p"])]
InstanceFamily = Annotated[str, Field(pattern=r"^[a-z]{1,8}[0-9]{1,2}[a-z-]*$", examples=["g5", "g6e", "p4d", "p5"])]
InstanceSize = Annotated[str, Field(pattern=r"^(nano|micro|small|medium|large|[0-9]*xlarge|metal(-[0-9]+xl)?)$",
                                    examples=["xlarge", "2xlarge", "12xlarge", "metal"])]
# EC2 tag keys Karpenter refuses on an EC2NodeClass (it sets them itself).
_RESERVED_NODE_TAGS = ("eks:eks-cluster-name", "karpenter.sh/nodepool", "karpenter.sh/nodeclaim",
                       "karpenter.k8s.aws/ec2nodeclass")


class ControllerResources(Model):
    """Requests and limits of one controller container."""

    cpu_request: Quantity = Field(default="250m", description="CPU request (cores or millicores: 250m)")
    memory_request: Quantity = Field(default="256Mi", description="memory request (e.g. 256Mi)")
    cpu_limit: Quantity = Field(default="1", description="CPU limit, not below cpu_request")
    memory_limit: Quantity = Field(default="512Mi",
        description="memory limit, not below memory_request (the container is OOM-killed above it)")

    @model_validator(mode="after")
    def _ordered(self) -> "ControllerResources":
        if quantity.parse(self.cpu_request) > quantity.parse(self.cpu_limit):
            raise ValueError("cpu_request must not exceed cpu_limit")
        if quantity.parse(self.memory_request) > quantity.parse(self.memory_limit):
            raise ValueError("memory_request must not exceed memory_limit")
        return self

    def render(self) -> dict[str, dict[str, str]]:
        return {"requests": {"cpu": self.cpu_request, "memory": self.memory_request},
                "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit}}


class DisruptionBudget(Model):
    """At most `nodes` (a count or a percentage of the pool) voluntarily disrupted at once; with
    `schedule` (cron, UTC) + `duration` the budget applies only inside that window, e.g.
    `{nodes: "0", schedule: "0 8 * * mon-fri", duration: 10h}` freezes business hours."""

    nodes: Annotated[str, Field(pattern=r"^((100|[0-9]{1,2})%|[0-9]+)$", examples=["10%", "0", "2"])] = Field(default="10%",
        description="most nodes disrupted at once: a count or a percentage of the pool; \"0\" blocks voluntary disruption")
    schedule: Annotated[str, Field(pattern=r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly)|\S+( \S+){4})$")] | None = Field(default=None,
        description="cron (UTC) at which the budget's window opens, lasting duration; null (and duration null): the budget always applies")
    duration: BudgetDuration | None = Field(default=None,
        description="how long the window lasts after each schedule tick (hours/minutes, e.g. 8h); goes with schedule")
    reasons: list[Literal["Underutilized", "Empty", "Drifted"]] = Field(
        default_factory=list, description="disruption reasons the budget limits (empty: all)")

    @model_validator(mode="after")
    def _window(self) -> "DisruptionBudget":
        if (self.schedule is None) != (self.duration is None):
            raise ValueError("schedule and duration go together: a budget window needs both")
        _refuse("reasons listed twice", _twice(list(self.reasons)))
        return self


class _NodePoolBase(Model):
    instance_categories: list[InstanceCategory] = Field(
        description="EC2 instance categories the pool may launch (c, m, r for CPU; g, p for NVIDIA GPUs)", min_length=1)
    instance_families: list[InstanceFamily] = Field(
        default_factory=list, description="narrow the categories to these families (empty: every family)")
    instance_sizes: list[InstanceSize] = Field(default_factory=list, description="empty: every size")
    min_generation: Annotated[int, Field(ge=1, le=99)] | None = Field(
        default=None, description="oldest instance generation allowed (e.g. 5: c5 yes, c4 no)")
    capacity_types: list[Literal["on-demand", "spot"]] = Field(
        description="on-demand and/or spot (spot nodes can be reclaimed with 2 minutes' notice)", default_factory=lambda: ["on-demand"], min_length=1)
    architectures: list[Literal["amd64", "arm64"]] = Field(
        description="CPU architectures of the nodes (images must exist for each)", default_factory=lambda: ["amd64"], min_length=1)
    cpu_limit: Quantity = Field(description="total CPU of all nodes in the pool")
    memory_limit: Quantity = Field(description="total memory of all nodes in the pool")
    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] = Field(default="WhenEmptyOrUnderutilized",
        description="WhenEmpty: remove only nodes without pods; WhenEmptyOrUnderutilized: also repack pods to remove or replace nodes")
    consolidate_after: KarpenterDuration = Field(default="5m", description="how long a node stays empty/underutilized before it goes")
    expire_after: KarpenterDuration = Field(default="720h", description="node lifetime (picks up new AMIs); Never to disable")
    budgets: list[DisruptionBudget] = Field(
        description="disruption budgets (Karpenter applies the most restrictive active one)", default_factory=lambda: [DisruptionBudget()], min_length=1, max_length=50)
    weight: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None, description="preference among pools that fit the same pod (higher first)")

    def _check_role(self) -> None:
        """What the pool's role (general-purpose or GPU) rules out; checked first."""

    @model_validator(mode="after")
    def _consistent(self) -> "_NodePoolBase":
        self._check_role()
        for what in ("instance_categories", "instance_families", "instance_sizes", "capacity_types", "architectures"):
            _refuse(f"{what} listed twice", _twice(list(getattr(self, what))))
        _refuse("instance_families outside instance_categories "
                f"({', '.join(self.instance_categories)})",
                {f for f in self.instance_families if instance_category(f) not in self.instance_categories})
        if self.min_generation is not None:
            _refuse(f"instance_families older than min_generation {self.min_generation}",
                    {f for f in self.instance_families if (instance_generation(f) or 0) < self.min_generation})
        for what in ("cpu_limit", "memory_limit"):
            if quantity.parse(getattr(self, what)) <= 0:
                raise ValueError(f"{what} must be positive (a zero limit launches no node)")
        return self


class NodePoolConfig(_NodePoolBase):
    """The general-purpose Karpenter NodePool (`default`): CPU instances, no taint."""

    instance_categories: list[InstanceCategory] = Field(
        description="EC2 instance categories the pool may launch (CPU only: g and p belong in gpu_pool)", default_factory=lambda: ["c", "m", "r"], min_length=1)
    min_generation: Annotated[int, Field(ge=1, le=99)] | None = Field(default=5,
        description="oldest instance generation allowed (e.g. 5: c5 yes, c4 no); null: any")
    cpu_limit: Quantity = Field(default="200",
        description="total CPU of all nodes in the pool: Karpenter launches no node past it")
    memory_limit: Quantity = Field(default="800Gi",
        description="total memory of all nodes in the pool: Karpenter launches no node past it")
    weight: Annotated[int, Field(ge=1, le=100)] | None = Field(default=10,
        description="preference among pools that fit the same pod (higher first)")

    def _check_role(self) -> None:
        _refuse("GPU instance categories belong in gpu_pool (its nodes carry the nvidia.com/gpu taint)",
                set(self.instance_categories) & set(GPU_INSTANCE_CATEGORIES))


class GpuNodePoolConfig(_NodePoolBase):
    """The GPU Karpenter NodePool (`gpu`): NVIDIA instances, tainted `nvidia.com/gpu:NoSchedule`
    so only pods that tolerate it (and ask for GPUs) land there."""

    instance_categories: list[InstanceCategory] = Field(
        description="EC2 instance categories with NVIDIA GPUs (g, p)", default_factory=lambda: ["g", "p"], min_length=1)
    cpu_limit: Quantity = Field(default="1000",
        description="total CPU of all GPU nodes: Karpenter launches no node past it")
    memory_limit: Quantity = Field(default="4000Gi",
        description="total memory of all GPU nodes: Karpenter launches no node past it")
    gpu_limit: Annotated[int, Field(ge=1, le=10000)] = Field(
        default=8, description="total nvidia.com/gpu of all nodes in the pool (the cost ceiling)")
    max_gpus_per_node: Annotated[int, Field(ge=1, le=16)] | None = Field(
        default=None, description="largest instance by GPU count (e.g. 1: single-GPU sizes only)")
    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] = Field(default="WhenEmpty",
        description="WhenEmpty (default): a GPU node goes only once empty (no repacking of GPU pods); WhenEmptyOrUnderutilized: also repack")
    consolidate_after: KarpenterDuration = Field(default="10m",
        description="how long a GPU node stays empty before it goes")
    weight: Annotated[int, Field(ge=1, le=100)] | None = Field(default=20,
        description="preference among pools that fit the same pod (higher first)")

    def gpus_per_node(self) -> tuple[int, str] | None:
        """(most GPUs on one node, why): max_gpus_per_node, else derived from the instance families."""
        return gpus_per_node_cap(list(self.instance_categories), list(self.instance_families),
                                 list(self.instance_sizes) or None, self.min_generation, self.max_gpus_per_node)

    def _check_role(self) -> None:
        _refuse(f"gpu_pool categories without NVIDIA GPUs (use {' or '.join(GPU_INSTANCE_CATEGORIES)})",
                set(self.instance_categories) - set(GPU_INSTANCE_CATEGORIES))
        if self.max_gpus_per_node is not None and self.max_gpus_per_node > self.gpu_limit:
            raise ValueError(f"max_gpus_per_node {self.max_gpus_per_node} exceeds gpu_limit {self.gpu_limit}: "
                             "no node of that size could ever launch")


class KarpenterConfig(Model):
    """Self-managed Karpenter (Helm, IRSA) and what it launches: one EC2NodeClass, two NodePools."""

    replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=2,
        description="Karpenter controller pods (leader-elected)")
    log_level: Literal["debug", "info", "error"] = Field(default="info", description="controller log level")
    resources: Annotated[ControllerResources, Field(
        description="requests and limits of the controller container")] = ControllerResources(
        cpu_request="500m", memory_request="1Gi", cpu_limit="1", memory_limit="1Gi")
    root_volume_gib: Annotated[int, Field(ge=20, le=16384)] = Field(
        default=100, description="encrypted gp3 root volume of every node (GPU images are large)")
    node_tags: dict[Annotated[str, Field(min_length=1, max_length=128)], Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=dict, description="extra EC2 tags on launched instances and volumes")
    default_pool: NodePoolConfig = Field(default=NodePoolConfig(),
        description="the general-purpose NodePool (CPU instances, no taint)")
    gpu_pool: GpuNodePoolConfig | None = Field(default_factory=GpuNodePoolConfig,
                                               description="null: no GPU nodes in this env")

    @model_validator(mode="after")
    def _tags(self) -> "KarpenterConfig":
        _refuse("node_tags Karpenter sets itself",
                {k for k in self.node_tags if k in _RESERVED_NODE_TAGS or k.startswith("kubernetes.io/cluster")})
        return self


class GpuConfig(Model):
    """The NVIDIA GPU operator: device plugin, GPU feature discovery, DCGM metrics (the node AMI
    ships the driver and container toolkit)."""

    enabled: bool = Field(default=True,
        description="install the NVIDIA GPU operator (required when compute.karpenter.gpu_pool is set)")
    mig_strategy: Literal["none", "single", "mixed"] = Field(
        default="single", description="how MIG slices are advertised (single: as nvidia.com/gpu)")
    mig_manager: bool = Field(default=False, description="run the MIG manager (A100/H100-class GPUs only)")
    cdi: bool = Field(default=False, description="device plugin injects GPUs via CDI instead of the AMI's nvidia runtime")
    dcgm_exporter: bool = Field(default=True,
        description="run the DCGM exporter (GPU metrics: utilization, memory, temperature; the GPU alerts and dashboards need it)")
    dcgm_interval: Annotated[str, Field(pattern=r"^[0-9]+(s|m)$")] = Field(default="15s", description="scrape interval")
    service_monitor: bool = Field(default=True, description="a ServiceMonitor for the DCGM exporter (needs the Prometheus Operator CRDs)")

    @model_validator(mode="after")
    def _consistent(self) -> "GpuConfig":
        if self.mig_manager and self.mig_strategy == "none":
            raise ValueError("mig_manager needs mig_strategy single or mixed")
        if self.service_monitor and not self.dcgm_exporter:
            raise ValueError("service_monitor needs dcgm_exporter")
        return self


class ComputeConfig(Model):
    """Nodes and accelerators: the `karpenter`, `node-pools` and `gpu-operator` components."""

    karpenter: KarpenterConfig = Field(default=KarpenterConfig(), description="Karpenter and its NodePools")
    gpu: GpuConfig = Field(default=GpuConfig(), description="the NVIDIA GPU operator")

    @model_validator(mode="after")
    def _gpu_nodes_need_the_operator(self) -> "ComputeConfig":
        if self.karpenter.gpu_pool is not None and not self.gpu.enabled:
            raise ValueError("karpenter.gpu_pool needs gpu.enabled: without the NVIDIA device plugin the nodes "
                             "never advertise nvidia.com/gpu (set gpu_pool: null for an env without GPUs)")
        return self


# --------------------------------------------------------------------------- pipelines (airflow, spark)
# Roles the FAB auth manager of Airflow ships (Public: logged in, no permissions).
AirflowRole = Literal["Admin", "Op", "User", "Viewer", "Public"]
_AIRFLOW_ROLES_TO_MAP = ("Admin", "Op", "User", "Viewer")


def _relative_path(v: str) -> str:
    if v.startswith("/") or ".." in v.split("/") or v.endswith("/"):
        raise ValueError(f"{v!r}: a relative path inside the volume or repository (no leading or trailing /, no ..)")
    return v


RelativePath = Annotated[str, AfterValidator(_relative_path), Field(examples=["airflow_home/dags", "dags"])]
S3Bucket = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]


def _res(cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str) -> "ControllerResources":
    return ControllerResources(cpu_request=cpu_request, memory_request=memory_request,
                               cpu_limit=cpu_limit, memory_limit=memory_limit)


class AirflowResources(Model):
    """Requests and limits per Airflow container; `worker` is the default of every task pod
    (KubernetesExecutor pod template; a task may override it with `executor_config`)."""

    scheduler: ControllerResources = Field(default=_res("500m", "1Gi", "2", "2Gi"), description="scheduler container")
    api_server: ControllerResources = Field(default=_res("500m", "1Gi", "2", "2Gi"),
        description="API server (UI) container")
    dag_processor: ControllerResources = Field(default=_res("250m", "1Gi", "1", "2Gi"),
        description="DAG processor container")
    triggerer: ControllerResources = Field(default=_res("250m", "512Mi", "1", "1Gi"), description="triggerer container")
    worker: ControllerResources = Field(default=_res("500m", "1Gi", "2", "4Gi"),
        description="default of every task pod (KubernetesExecutor pod template)")
    statsd: ControllerResources = Field(default=_res("50m", "64Mi", "200m", "128Mi"),
        description="StatsD exporter container (the metrics Prometheus scrapes)")
    migrate_job: ControllerResources = Field(default=_res("250m", "512Mi", "1", "1Gi"),
        description="database migration Job")
    pools_job: ControllerResources = Field(default=_res("100m", "512Mi", "1", "1Gi"),
        description="Job that creates and updates the pools")
    git_sync: ControllerResources = Field(default=_res("50m", "64Mi", "200m", "256Mi"),
        description="git-sync sidecar and init container (dags.source git_sync)")
    log_groomer: ControllerResources = Field(default=_res("25m", "64Mi", "100m", "128Mi"),
        description="log groomer sidecar that deletes old local logs")


class AirflowPool(Model):
    """An Airflow pool: at most `slots` task instances in it run at once (throttles pod storms)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,256}$")] = Field(
        description="pool name tasks refer to with pool=")
    slots: Annotated[int, Field(ge=1, le=100000, description="an empty pool (0 slots) would never run a task")]
    description: str = Field(default="", description="shown in the Airflow UI")
    include_deferred: bool = Field(default=False, description="deferred tasks count against the pool")


class GitSyncDags(Model):
    """DAGs cloned from git by a git-sync sidecar (scheduler, dag processor) and init container (task pods)."""

    repo: Annotated[str, Field(pattern=r"^https://\S+$", description="https clone URL (ssh is not offered)")]
    branch: Annotated[str, Field(min_length=1)] = Field(default="main", description="branch git-sync follows")
    sub_path: RelativePath | Literal[""] = Field(default="", description="folder of the DAGs in the repo (empty: root)")
    interval_seconds: Annotated[int, Field(ge=5, le=3600)] = Field(default=60,
        description="seconds between git-sync pulls")
    credentials: bool = Field(default=False, description="private repo: username + token from Secrets Manager "
                                                         "(airflow/git-sync) through an ExternalSecret")


class AirflowDags(Model):
    """Where DAG files come from: a git repo (git-sync) or the env's shared EFS volume."""

    source: Literal["git_sync", "efs"] = Field(default="efs",
        description="git_sync: clone git_sync.repo; efs: read efs_sub_path on the shared EFS volume")
    git_sync: GitSyncDags | None = Field(default=None,
        description="the DAG repository; required with source git_sync, forbidden with efs")
    efs_sub_path: RelativePath = Field(default="airflow_home/dags", description="folder on the shared EFS volume")

    @model_validator(mode="after")
    def _source(self) -> "AirflowDags":
        if self.source == "git_sync" and self.git_sync is None:
            raise ValueError("source git_sync needs git_sync.repo (the DAG repository to clone)")
        if self.source == "efs" and self.git_sync is not None:
            raise ValueError("git_sync is set but source is efs: set source: git_sync or drop git_sync")
        return self


class AirflowLogs(Model):
    """Task logs: remote in S3 (IRSA, workloads role) or on the shared EFS volume."""

    target: Literal["s3", "efs"] = Field(default="efs",
        description="s3: remote logging to s3_bucket/s3_prefix; efs: efs_sub_path on the shared EFS volume")
    s3_bucket: S3Bucket | None = Field(default=None, description="the env's workloads bucket (Terraform output "
                                                                  "workloads_bucket)")
    s3_prefix: RelativePath = Field(default="airflow/logs",
        description="key prefix of task logs in s3_bucket (target s3)")
    efs_sub_path: RelativePath = Field(default="airflow_home/logs",
        description="folder of task logs on the shared EFS volume (target efs)")

    @model_validator(mode="after")
    def _target(self) -> "AirflowLogs":
        if self.target == "s3" and not self.s3_bucket:
            raise ValueError("target s3 needs s3_bucket")
        if self.target == "efs" and self.s3_bucket:
            raise ValueError("s3_bucket is set but target is efs: set target: s3 or drop s3_bucket")
        return self


def _default_role_mapping() -> dict[str, str]:
    return {"admin": "Admin", "ml-engineer": "Op", "data-scientist": "User", "viewer": "Viewer"}


class AirflowConfig(Model):
    """Airflow 3 (KubernetesExecutor) at platform.<domain>/airflow, logins through the platform realm."""

    enabled: bool = Field(default=True, description="install Airflow (needs infrastructure.databases.airflow)")
    executor: Literal["KubernetesExecutor"] = Field(
        default="KubernetesExecutor", description="every task is its own pod (no Celery workers, no Redis)")
    scheduler_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1, description="scheduler pods")
    api_server_replicas: Annotated[int, Field(ge=1, le=10)] = Field(default=1, description="API server (UI) pods")
    dag_processor_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1, description="DAG processor pods")
    triggerer_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1,
        description="triggerer pods (deferred tasks)")
    parallelism: Annotated[int, Field(ge=1, le=10000)] = Field(
        default=32, description="task instances running at once across the env ([core] parallelism)")
    resources: AirflowResources = Field(default=AirflowResources(),
        description="requests and limits per Airflow container")
    pools: list[AirflowPool] = Field(description="pools created by the pools Job (names unique)", default_factory=list)
    prune_pools: bool = Field(default=True, description="delete pools that are not listed here (default_pool stays)")
    dags: AirflowDags = Field(default=AirflowDags(), description="where DAG files come from")
    logs: AirflowLogs = Field(default=AirflowLogs(), description="where task logs go")
    role_mapping: dict[KeycloakRole, AirflowRole] = Field(
        default_factory=_default_role_mapping,
        description="Keycloak realm role (token claim `roles`) -> Airflow role; users with none of them get Public")
    service_monitor: bool = Field(default=True, description="a ServiceMonitor for the StatsD exporter "
                                                            "(needs the Prometheus Operator CRDs)")
    service_monitor_labels: dict[str, str] = Field(default_factory=dict,
                                                   description="labels the Prometheus selects ServiceMonitors by")

    @model_validator(mode="after")
    def _consistent(self) -> "AirflowConfig":
        _refuse("pools listed twice", _twice([p.name for p in self.pools]))
        if "Admin" not in self.role_mapping.values():
            raise ValueError("role_mapping maps no Keycloak role to Admin: nobody could administer Airflow")
        return self


class SparkConfig(Model):
    """The Kubeflow Spark operator and where SparkApplications may run."""

    enabled: bool = Field(default=True, description="install the Spark operator")
    job_namespaces: list[DnsLabel] = Field(
        default_factory=lambda: ["airflow"], min_length=1,
        description="namespaces the operator watches (chart default is only `default`)")
    service_account: DnsLabel = Field(default="spark", description="driver/executor ServiceAccount in every job "
                                                                   "namespace (IRSA: infrastructure.roles.spark)")
    controller_replicas: Annotated[int, Field(ge=1, le=3)] = Field(default=1, description="operator controller pods")
    webhook_replicas: Annotated[int, Field(ge=1, le=3)] = Field(default=1,
        description="operator webhook pods (the EKS control plane calls them)")
    controller: ControllerResources = Field(default=_res("100m", "300Mi", "1", "1Gi"),
        description="requests and limits of the controller container")
    webhook: ControllerResources = Field(default=_res("50m", "128Mi", "500m", "256Mi"),
        description="requests and limits of the webhook container")
    pod_monitor: bool = Field(default=True, description="a PodMonitor for the operator's metrics "
                                                        "(needs the Prometheus Operator CRDs)")

    @model_validator(mode="after")
    def _unique(self) -> "SparkConfig":
        _refuse("job_namespaces listed twice", _twice(list(self.job_namespaces)))
        return self


# --------------------------------------------------------------------------- ray (kuberay)
RayUpscalingMode = Literal["Default", "Aggressive", "Conservative"]
# Branch names that make a working_dir URL move under a running service.
_MOVING_REFS = ("/refs/heads/", "/raw/main/", "/raw/master/", "/raw/HEAD/", "/archive/main.", "/archive/master.",
                "/archive/HEAD.", "/blob/main/", "/blob/master/")


def _pinned_url(v: str) -> str:
    if any(ref in v for ref in _MOVING_REFS) or "latest" in v.lower():
        raise ValueError(f"{v!r}: names a branch or `latest`; pin a tag, a commit or a versioned object")
    return v


PinnedUrl = Annotated[str, Field(pattern=r"^(https|s3|gs)://\S+\.zip$"), AfterValidator(_pinned_url)]
PinnedRequirement = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!*-]+$",
                                         examples=["torch==2.5.1"])]


class RayWorkerGroup(Model):
    """One worker group: identical pods that the in-tree autoscaler adds and removes between
    `min_replicas` and `max_replicas` (`replicas` is how many the cluster starts with)."""

    replicas: Annotated[int, Field(ge=0, le=1000)] = Field(default=1,
        description="pods the group starts with (between min_replicas and max_replicas)")
    min_replicas: Annotated[int, Field(ge=0, le=1000)] = Field(default=0,
        description="the autoscaler never goes below this many pods")
    max_replicas: Annotated[int, Field(ge=1, le=1000)] = Field(default=2,
        description="the autoscaler never goes above this many pods (quota checks count this many)")
    resources: ControllerResources = Field(default=_res("2", "8Gi", "2", "8Gi"),
        description="requests and limits of each worker pod's Ray container")
    gpus: Annotated[int, Field(ge=0, le=16)] = Field(default=0, description="nvidia.com/gpu per pod")
    shared_memory: Quantity = Field(
        default="1Gi", description="size of /dev/shm (a memory-backed emptyDir: Ray's object store); "
                                   "counts against the pod's memory limit")

    @model_validator(mode="after")
    def _sizes(self) -> "RayWorkerGroup":
        if not self.min_replicas <= self.replicas <= self.max_replicas:
            raise ValueError(f"need min_replicas <= replicas <= max_replicas "
                             f"(got {self.min_replicas} <= {self.replicas} <= {self.max_replicas})")
        if quantity.parse(self.shared_memory) >= quantity.parse(self.resources.memory_limit):
            raise ValueError("shared_memory must be smaller than resources.memory_limit (it is memory of the pod)")
        return self


class RayClusterConfig(Model):
    """A team's Ray cluster: a head (GCS, dashboard, autoscaler; no tasks), a CPU worker group and
    optionally a GPU worker group, scaled by the in-tree autoscaler (and nodes by Karpenter)."""

    head: ControllerResources = Field(default=_res("1", "4Gi", "2", "4Gi"),
        description="requests and limits of the head's Ray container")
    cpu_workers: RayWorkerGroup = Field(default=RayWorkerGroup(), description="the CPU worker group (gpus must be 0)")
    gpu_workers: RayWorkerGroup | None = Field(default=None, description="null: no GPU worker group")
    idle_timeout_seconds: Annotated[int, Field(ge=10, le=86400)] = Field(
        default=300, description="the autoscaler removes a worker idle for this long (down to min_replicas)")
    upscaling_mode: RayUpscalingMode = Field(
        default="Default", description="Conservative: ramp up gradually; Aggressive: request everything pending")
    autoscaler: ControllerResources = Field(default=_res("200m", "512Mi", "500m", "512Mi"),
        description="requests and limits of the autoscaler sidecar in the head pod")
    gcs_fault_tolerance: bool = Field(
        default=False, description="persist the GCS in Redis (ray.redis) so the cluster survives a head restart")
    head_disruption_budget: bool = Field(
        default=False, description="a PodDisruptionBudget for the head (maxUnavailable 1: never blocks a drain)")
    image: str = Field(default="ray", description="key of the head/CPU image in kit/versions.py IMAGES")
    gpu_image: str = Field(default="ray-gpu", description="key of the GPU worker image in kit/versions.py IMAGES")

    @model_validator(mode="after")
    def _groups(self) -> "RayClusterConfig":
        from ..kit import versions
        for what in ("image", "gpu_image"):
            if getattr(self, what) not in versions.IMAGES:
                raise ValueError(f"{what} {getattr(self, what)!r} is not in the versions table (kit/versions.py IMAGES)")
        if self.cpu_workers.gpus:
            raise ValueError("cpu_workers.gpus must be 0: GPUs belong in gpu_workers (tainted GPU nodes)")
        if self.gpu_workers is not None and not self.gpu_workers.gpus:
            raise ValueError("gpu_workers.gpus must be at least 1")
        return self


class ServeAutoscaling(Model):
    """Ray Serve replica autoscaling of one deployment (the deployment's `autoscaling_config`)."""

    min_replicas: Annotated[int, Field(ge=0, le=1000)] = Field(default=1,
        description="fewest replicas of the deployment (0: scale to zero when idle)")
    max_replicas: Annotated[int, Field(ge=1, le=1000)] = Field(default=2, description="most replicas of the deployment")
    target_ongoing_requests: Annotated[float, Field(gt=0, le=10000)] = Field(
        default=5, description="in-flight requests per replica the autoscaler aims for")

    @model_validator(mode="after")
    def _range(self) -> "ServeAutoscaling":
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        return self


class ServeDeployment(Model):
    """One Ray Serve deployment of an application: a fixed replica count or autoscaling."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = Field(
        description="the deployment's name in the application's code (@serve.deployment class or function name)")
    num_replicas: Annotated[int, Field(ge=1, le=1000)] | None = Field(default=None,
        description="fixed replica count; set exactly one of this and autoscaling")
    autoscaling: ServeAutoscaling | None = Field(default=None,
        description="replica autoscaling; set exactly one of this and num_replicas")
    num_cpus: Annotated[float, Field(gt=0, le=64)] = Field(default=1,
        description="CPUs each replica reserves from the Ray cluster (ray_actor_options.num_cpus)")
    num_gpus: Annotated[float, Field(ge=0, le=16)] = Field(default=0,
        description="GPUs each replica reserves from the Ray cluster (ray_actor_options.num_gpus; fractions share a GPU; only gpu_workers have GPUs)")
    user_config: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="handed to the deployment's reconfigure(); changes apply without a restart")

    @model_validator(mode="after")
    def _scaling(self) -> "ServeDeployment":
        if (self.num_replicas is None) == (self.autoscaling is None):
            raise ValueError("set exactly one of num_replicas and autoscaling")
        return self


class ServeApplication(Model):
    """One Ray Serve application: code from a pinned archive, pinned pip packages, its deployments."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,63}$")] = Field(
        description="application name (unique in the service)")
    import_path: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*[.:][A-Za-z_][A-Za-z0-9_]*$",
                                      examples=["text_ml.app"])] = Field(
        description="module.attribute (or module:attribute) of the bound application in working_dir")
    route_prefix: Annotated[str, Field(pattern=r"^/[A-Za-z0-9_/-]*$")] = Field(default="/",
        description="HTTP path prefix the application answers on (unique in the service)")
    working_dir: PinnedUrl = Field(description="zip of the application code at a pinned tag or commit (never a branch)")
    pip: list[PinnedRequirement] = Field(default_factory=list, description="pinned packages (name==version)")
    deployments: list[ServeDeployment] = Field(description="per-deployment settings, by deployment name", min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "ServeApplication":
        _refuse("deployments listed twice", _twice([d.name for d in self.deployments]))
        return self


class RayServiceConfig(Model):
    """A RayService (Ray Serve on its own Ray cluster) in a team's namespace."""

    name: Annotated[str, Field(pattern=DNS_LABEL, min_length=1, max_length=40)] = Field(
        description="RayService name (unique in the env)")
    team: DnsLabel = Field(description="the team (name) whose namespace runs it")
    cluster: Annotated[RayClusterConfig, Field(
        description="the service's own Ray cluster (counted twice against the team's quota: an upgrade runs old and new side by side)")] = RayClusterConfig(
        cpu_workers=RayWorkerGroup(replicas=1, min_replicas=1, max_replicas=2,
                                   resources=_res("500m", "2Gi", "1", "4Gi")))
    applications: list[ServeApplication] = Field(description="the Serve applications of the service", min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "RayServiceConfig":
        _refuse("applications listed twice", _twice([a.name for a in self.applications]))
        _refuse("route prefixes used twice", _twice([a.route_prefix for a in self.applications]))
        return self


class RayConfig(Model):
    """KubeRay: the operator, one persistent Ray cluster per team (keyed by team name), RayServices."""

    enabled: bool = Field(default=True, description="install KubeRay (ray.clusters and ray.services need it)")
    operator_replicas: Annotated[int, Field(ge=1, le=3)] = Field(default=1, description="KubeRay operator pods")
    operator: ControllerResources = Field(default=_res("100m", "256Mi", "500m", "512Mi"),
        description="requests and limits of the operator container")
    service_monitor: bool = Field(default=True, description="a ServiceMonitor for the operator's metrics and a "
                                                            "PodMonitor for the Ray nodes (needs the Prometheus "
                                                            "Operator CRDs)")
    redis: Literal["external", "in_cluster"] = Field(
        default="in_cluster", description="where GCS fault tolerance keeps its state: external = the env's ElastiCache "
                                          "(infrastructure.redis_endpoint, TLS); in_cluster = a small Redis per team "
                                          "namespace (no replica: survives a head restart, not a Redis pod loss)")
    redis_resources: ControllerResources = Field(default=_res("100m", "256Mi", "500m", "512Mi"),
        description="requests and limits of each in-cluster Redis (redis: in_cluster; counted against the team's quota)")
    dashboard_read_only: bool = Field(
        default=True, description="the ALB answers 403 to POST/PUT/PATCH/DELETE on the dashboards (no job "
                                  "submission from the internet; submit RayJobs or port-forward instead)")
    job_ttl_seconds_after_finished: Annotated[int, Field(ge=0, le=604800)] = Field(
        default=600, description="RayJob template: how long a finished job's cluster stays for its logs")
    clusters: dict[DnsLabel, RayClusterConfig] = Field(
        default_factory=dict, description="team name -> that team's persistent Ray cluster")
    services: list[RayServiceConfig] = Field(
        description="RayServices (Ray Serve) in team namespaces", default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> "RayConfig":
        _refuse("RayServices listed twice", _twice([s.name for s in self.services]))
        return self

    def fault_tolerant_teams(self) -> set[str]:
        """Teams whose cluster or services keep the GCS in Redis."""
        if not self.enabled:
            return set()
        return ({t for t, c in self.clusters.items() if c.gcs_fault_tolerance}
                | {s.team for s in self.services if s.cluster.gcs_fault_tolerance})


# --------------------------------------------------------------------------- training (volcano, kubeflow trainer)
class QueueCapability(Model):
    """The most a Volcano queue may hold at once, summed over its running jobs: a job whose gang
    would push the queue past it waits (it is never started half-way)."""

    cpu: Quantity = Field(description="CPU requests the queue's running jobs may hold in total")
    memory: Quantity = Field(description="memory requests the queue's running jobs may hold in total")
    gpus: Annotated[int, Field(ge=0, le=10000)] = Field(default=0, description="nvidia.com/gpu: the team's GPU budget")


class QueueGuarantee(Model):
    """Resources reserved for a queue: other queues never get them, even when this one idles."""

    cpu: Quantity | None = Field(default=None,
        description="CPU reserved for the queue (at most capability.cpu); null: none")
    memory: Quantity | None = Field(default=None,
        description="memory reserved for the queue (at most capability.memory); null: none")
    gpus: Annotated[int, Field(ge=0, le=10000)] | None = Field(default=None,
        description="nvidia.com/gpu reserved for the queue (at most capability.gpus); null: none")


class QueueConfig(Model):
    """One Volcano queue (scheduling.volcano.sh/v1beta1 Queue), judged by the `proportion` plugin:
    under contention queues share the cluster by `weight`, never beyond `capability`. (`deserved`
    is the `capacity` plugin's knob; the platform's scheduler runs `proportion`, so it is not offered.)"""

    weight: Annotated[int, Field(ge=1, le=65535)] = Field(default=1,
        description="share of the cluster under contention, relative to the other queues' weights")
    capability: QueueCapability = Field(
        description="the most the queue may hold at once; capability.gpus must not exceed the team's quota.gpus")
    guarantee: QueueGuarantee | None = Field(default=None,
        description="resources reserved for the queue; null: nothing reserved")
    reclaimable: bool = Field(
        default=False, description="other queues may evict this queue's pods to take back what it borrowed "
                                   "beyond its fair share (a gang loses the whole job)")

    @model_validator(mode="after")
    def _guarantee_fits(self) -> "QueueConfig":
        g, c = self.guarantee, self.capability
        if g is None:
            return self
        over = [what for what in ("cpu", "memory") if getattr(g, what) is not None
                and quantity.parse(getattr(g, what)) > quantity.parse(getattr(c, what))]
        if g.gpus is not None and g.gpus > c.gpus:
            over.append("gpus")
        _refuse("guarantee exceeds capability", set(over))
        return self


class VolcanoResources(Model):
    """Requests and limits of Volcano's scheduler, controller manager and admission webhook pods."""

    scheduler: ControllerResources = Field(default=_res("250m", "512Mi", "1", "1Gi"), description="scheduler container")
    controller: ControllerResources = Field(default=_res("100m", "256Mi", "500m", "512Mi"),
        description="controller manager container")
    admission: ControllerResources = Field(default=_res("100m", "128Mi", "500m", "256Mi"),
        description="admission webhook container")


class VolcanoConfig(Model):
    """Volcano: the batch scheduler behind gang scheduling and team queues (one queue per team,
    keyed by team name)."""

    enabled: bool = Field(default=True,
        description="install Volcano (trainer needs it: every training runtime is gang-scheduled)")
    scheduler_replicas: Annotated[int, Field(ge=1, le=3)] = Field(default=1,
        description="scheduler pods (more than one needs leader_election)")
    controller_replicas: Annotated[int, Field(ge=1, le=3)] = Field(default=1,
        description="controller manager pods (more than one needs leader_election)")
    admission_replicas: Annotated[int, Field(ge=1, le=5)] = Field(
        default=1, description="the PodGroup/queue webhooks (failurePolicy Fail): more replicas, fewer refused submissions")
    leader_election: bool = Field(default=True, description="required with more than one scheduler or controller")
    resources: VolcanoResources = Field(default=VolcanoResources(), description="requests and limits of Volcano's pods")
    default_queue: QueueConfig = Field(
        default_factory=lambda: QueueConfig(weight=1, reclaimable=True,
                                            capability=QueueCapability(cpu="8", memory="32Gi", gpus=0)),
        description="Volcano's `default` queue: where work outside team namespaces lands (no GPUs by default)")
    queues: dict[DnsLabel, QueueConfig] = Field(
        default_factory=dict, description="team name -> that team's queue `team-<name>` (every team needs one)")
    gpu_overcommit: bool = Field(
        default=False, description="allow the queues' GPU capabilities to add up to more than the GPU NodePool's "
                                   "limit (queues then compete for GPUs instead of owning a share)")
    webhook_scope: Literal["team-namespaces", "all-namespaces"] = Field(
        default="team-namespaces",
        description="where Volcano's namespaced admission webhooks (PodGroups, Volcano Jobs) apply; the chart "
                    "hard-codes failurePolicy Fail, so this bounds what an admission outage can block")

    @model_validator(mode="after")
    def _ha(self) -> "VolcanoConfig":
        if max(self.scheduler_replicas, self.controller_replicas) > 1 and not self.leader_election:
            raise ValueError("more than one scheduler or controller replica needs leader_election "
                             "(two active schedulers would bind the same pods)")
        return self


class TrainingRuntimeConfig(Model):
    """A ClusterTrainingRuntime the platform offers: torchrun on `num_nodes` pods, gang-scheduled by
    Volcano (all nodes start together or none does). A TrainJob may override nodes, image,
    command and resources per node."""

    name: DnsLabel = Field(description="runtime name TrainJobs reference (runtimeRef); unique")
    framework: Literal["torch"] = Field(default="torch", description="torch: torchrun (PET_* env injected by Trainer)")
    description: str = Field(default="",
        description="free text, set as the platform.mlops.io/description annotation of the runtime")
    image: str = Field(default="pytorch-cuda", description="key of the image in kit/versions.py IMAGES")
    num_nodes: Annotated[int, Field(ge=1, le=256)] = Field(default=1,
        description="pods of one training job (torchrun nodes), started together or not at all")
    gpus_per_node: Annotated[int, Field(ge=0, le=16)] = Field(default=0,
        description="nvidia.com/gpu per pod; must fit one node of the GPU pool; 0: CPU-only")
    node: ControllerResources = Field(default_factory=lambda: _res("2", "8Gi", "4", "16Gi"),
                                      description="requests and limits of each node's trainer container")
    shared_memory: Quantity = Field(default="2Gi", description="/dev/shm (memory-backed: NCCL, data loader workers); "
                                                                "counts against the memory limit")
    teams: list[DnsLabel] = Field(
        default_factory=list,
        description="teams that may use this runtime; empty: every team (a ClusterTrainingRuntime). Listed teams get "
                    "it as a TrainingRuntime in their own namespace, so no other team can reference it -- for runtimes "
                    "whose nodes only some teams' quotas can hold")

    @model_validator(mode="after")
    def _sane(self) -> "TrainingRuntimeConfig":
        from ..kit import versions
        if self.image not in versions.IMAGES:
            raise ValueError(f"image {self.image!r} is not in the versions table (kit/versions.py IMAGES)")
        if quantity.parse(self.shared_memory) >= quantity.parse(self.node.memory_limit):
            raise ValueError("shared_memory must be smaller than node.memory_limit (it is memory of the pod)")
        return self


def _default_runtimes() -> list[TrainingRuntimeConfig]:
    R = TrainingRuntimeConfig
    return [
        R(name="torch-distributed-gpu", description="PyTorch DDP/FSDP with torchrun over NCCL, one GPU per node",
          gpus_per_node=1, node=_res("4", "16Gi", "8", "32Gi"), shared_memory="4Gi"),
        R(name="torch-distributed-cpu", description="PyTorch with torchrun over Gloo on CPU nodes (small runs, tests)",
          num_nodes=2, node=_res("1", "4Gi", "2", "8Gi"), shared_memory="1Gi"),
    ]


class TrainerConfig(Model):
    """Kubeflow Trainer v2 (TrainJob API): the controller, the runtimes it offers, team access."""

    enabled: bool = Field(default=True, description="install Kubeflow Trainer (needs volcano.enabled)")
    replicas: Annotated[int, Field(ge=1, le=3)] = Field(default=1, description="controller pods")
    resources: ControllerResources = Field(default=_res("100m", "256Mi", "1", "1Gi"),
        description="requests and limits of the controller container")
    webhook_failure_policy: Literal["Fail", "Ignore"] = Field(
        default="Fail", description="Trainer's webhooks (TrainJobs and runtimes only, never pods): Ignore admits "
                                    "unvalidated TrainJobs while the controller is down")
    install_jobset: bool = Field(default=True, description="install JobSet (TrainJobs run as JobSets) as the chart's "
                                                           "subchart; false only if another component installs it")
    runtimes: list[TrainingRuntimeConfig] = Field(
        description="the training runtimes offered (names unique); a team only gets access to the ones whose whole gang fits its quota and queue", default_factory=_default_runtimes, min_length=1)
    member_group_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9:._-]*$")] = Field(
        default="ml-team-", description="Kubernetes group of a team's people is <prefix><team> (EKS access entries)")

    @model_validator(mode="after")
    def _unique(self) -> "TrainerConfig":
        _refuse("runtimes listed twice", _twice([r.name for r in self.runtimes]))
        return self


def _index(items, key: str = "name") -> dict[str, int]:
    """name -> position of the first item with that name (for locs that point into lists)."""
    out: dict[str, int] = {}
    for i, x in enumerate(items):
        out.setdefault(getattr(x, key), i)
    return out


def training_team_problems(env: "Env") -> list[tuple[Loc, str]]:
    """What `volcano.queues` (keyed by team name) and `trainer` need from the rest of the env, each
    at the field it is about."""
    v, out = env.volcano, []
    if env.trainer.enabled and not v.enabled:
        out.append((("trainer", "enabled"), "trainer needs volcano.enabled: every training runtime is gang-scheduled "
                                           "by Volcano"))
    if not v.enabled:
        return out
    teams = {t.name: t for t in env.teams}
    at = _index(env.teams)
    for name in sorted(set(v.queues) - set(teams)):
        out.append((("volcano", "queues", name), f"volcano.queues for teams this env does not have: {name}"))
    for name in sorted(set(teams) - set(v.queues)):
        out.append((("teams", at[name], "name"), f"teams without a Volcano queue: {name} (add volcano.queues.{name} "
                                                 "with its capability: the team's GPU budget)"))
    for name, q in sorted(v.queues.items()):
        if name in teams and q.capability.gpus > teams[name].quota.gpus:
            out.append((("volcano", "queues", name, "capability", "gpus"),
                        f"{q.capability.gpus} exceeds teams[{name}].quota.gpus {teams[name].quota.gpus} (the namespace "
                        "quota would refuse pods the queue admits)"))
    for i, r in enumerate(env.trainer.runtimes if env.trainer.enabled else []):
        unknown = sorted(set(r.teams) - set(teams))
        if unknown:
            out.append((("trainer", "runtimes", i, "teams"),
                        f"runtime {r.name} names teams this env does not have: {', '.join(unknown)}"))
    from ..kit import versions
    if (why := versions.kubernetes_minor_problem("volcano", env.kubernetes_version)) is not None:
        out.append((("kubernetes_version",), f"volcano: {why}"))
    return out


def gpu_node_fit_problems(env: "Env") -> list[tuple[Loc, str]]:
    """Pods that ask one node for more GPUs than any node of the GPU pool has -- max_gpus_per_node,
    or without it the largest instance of the families the pool allows: training runtimes'
    gpus_per_node, Ray GPU worker groups, served models' tensor_parallel_size."""
    pool = env.compute.karpenter.gpu_pool
    cap = pool.gpus_per_node() if pool is not None else None
    if cap is None:
        return []
    n, why = cap
    asks: list[tuple[Loc, int, str]] = []
    if env.trainer.enabled:
        asks += [(("trainer", "runtimes", i, "gpus_per_node"), r.gpus_per_node, f"runtime {r.name}'s pods")
                 for i, r in enumerate(env.trainer.runtimes)]
    if env.ray.enabled:
        asks += [(("ray", "clusters", t, "gpu_workers", "gpus"), c.gpu_workers.gpus, f"team {t}'s Ray GPU workers")
                 for t, c in env.ray.clusters.items() if c.gpu_workers is not None]
        asks += [(("ray", "services", i, "cluster", "gpu_workers", "gpus"), s.cluster.gpu_workers.gpus,
                  f"Ray service {s.name}'s GPU workers") for i, s in enumerate(env.ray.services)
                 if s.cluster.gpu_workers is not None]
    if env.serving.enabled:
        asks += [(("serving", "models", i, "tensor_parallel_size"), m.gpus, f"model {m.name}'s replicas")
                 for i, m in enumerate(env.serving.models)]
    where = "compute.karpenter.gpu_pool." + ("max_gpus_per_node" if pool.max_gpus_per_node is not None
                                              else "instance_families")
    return [(loc, f"{what} ask one node for {gpus} nvidia.com/gpu but no GPU node has more than {n} "
                  f"({where}: {why}): the pods would stay Pending")
            for loc, gpus, what in asks if gpus > n]


def runtime_fits(env: "Env", r: TrainingRuntimeConfig, team: "Team") -> bool:
    """Whether `team` may use runtime `r`: the runtime is offered to it (no `teams`, or listed) and its
    whole gang (num_nodes pods, started together) fits the team's quota and its Volcano queue's
    capability -- GPUs, CPU and memory requests. A runtime that fails this is one no TrainJob of the
    team could ever start, so the team gets no access to it (components/kubeflow_trainer.py)."""
    if r.teams and team.name not in r.teams:
        return False
    need = {"gpus": Decimal(r.num_nodes * r.gpus_per_node), "cpu": r.num_nodes * quantity.parse(r.node.cpu_request),
            "memory": r.num_nodes * quantity.parse(r.node.memory_request)}
    q = team.quota
    caps = [{"gpus": Decimal(q.gpus), "cpu": quantity.parse(q.cpu), "memory": quantity.parse(q.memory)}]
    queue = env.volcano.queues.get(team.name) if env.volcano.enabled else None
    if queue is not None:
        c = queue.capability
        caps.append({"gpus": Decimal(c.gpus), "cpu": quantity.parse(c.cpu), "memory": quantity.parse(c.memory)})
    return all(need[k] <= cap[k] for cap in caps for k in need)


def team_gpu_demand(env: "Env", team: "Team") -> list[tuple[str, int, bool]]:
    """(what, GPUs, gang-scheduled by Volcano) of everything the team can run at once: its models at
    max replicas (plus a surge replica each with rollout: surge), its Ray clusters with their GPU
    groups at max_replicas (a RayService twice: an upgrade starts the new cluster next to the old),
    and the largest training runtime it may use (num_nodes x gpus_per_node)."""
    out: list[tuple[str, int, bool]] = []
    if env.serving.enabled:
        for m in env.serving.models:
            if m.team == team.name:
                n = m.gpus * (m.autoscaling.max_replicas + (1 if m.rollout == "surge" else 0))
                out.append((f"model {m.name} {n}", n, False))
    if env.ray.enabled:
        volcano = env.volcano.enabled
        c = env.ray.clusters.get(team.name)
        if c is not None and c.gpu_workers is not None and c.gpu_workers.gpus:
            n = c.gpu_workers.max_replicas * c.gpu_workers.gpus
            out.append((f"Ray cluster {n}", n, volcano))
        for s in env.ray.services:
            g = s.cluster.gpu_workers
            if s.team == team.name and g is not None and g.gpus:
                n = 2 * g.max_replicas * g.gpus
                out.append((f"RayService {s.name} {n} (twice during an upgrade)", n, volcano))
    if env.trainer.enabled:
        fits = [r for r in env.trainer.runtimes if runtime_fits(env, r, team) and r.gpus_per_node]
        if fits:
            r = max(fits, key=lambda r: (r.num_nodes * r.gpus_per_node, r.name))
            n = r.num_nodes * r.gpus_per_node
            out.append((f"training runtime {r.name} {n}", n, env.volcano.enabled))
    return out


def team_demand_problems(env: "Env") -> list[tuple[Loc, str]]:
    """Each team's GPU demand in total (`team_gpu_demand`) against its quota, and the part Volcano
    schedules against its queue's capability: a team that uses everything it was given at once must
    not have pods refused by the quota, or gangs waiting forever in the queue."""
    out: list[tuple[Loc, str]] = []
    for i, t in enumerate(env.teams):
        demand = team_gpu_demand(env, t)
        total = sum(n for _, n, _ in demand)
        if total > t.quota.gpus:
            out.append((("teams", i, "quota", "gpus"),
                        f"team {t.name} can run {total} GPUs at once ({', '.join(w for w, _, _ in demand)}) but its "
                        f"quota.gpus is {t.quota.gpus}: raise it (within compute.karpenter.gpu_pool.gpu_limit), lower "
                        "max_replicas, or limit the runtime to other teams (trainer.runtimes[].teams)"))
        q = env.volcano.queues.get(t.name) if env.volcano.enabled else None
        gang = [(w, n) for w, n, v in demand if v]
        if q is not None and sum(n for _, n in gang) > q.capability.gpus:
            out.append((("volcano", "queues", t.name, "capability", "gpus"),
                        f"team {t.name}'s Volcano-scheduled work needs {sum(n for _, n in gang)} GPUs at once "
                        f"({', '.join(w for w, _ in gang)}) but its queue may hold {q.capability.gpus}: the gangs past "
                        "it would wait for each other"))
    return out


# --------------------------------------------------------------------------- serving (vllm) and monitoring
PromDuration = Annotated[str, Field(pattern=r"^[0-9]+(s|m|h|d)$", examples=["30s", "10m", "1h", "15d"])]
HfRepo = Annotated[str, Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]*/[-A-Za-z0-9_.]+$", examples=["facebook/opt-125m"])]


class ServingSlo(Model):
    """Alert thresholds of one model (defaults: `monitoring.alerts`)."""

    ttft_p95_seconds: Annotated[float, Field(gt=0, le=600)] | None = Field(
        default=None, description="alert when the 5-minute p95 time to first token is above this")
    waiting_per_replica_high: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="alert when the queue per replica stays above this (with the HPA at max)")


class LoraAdapter(Model):
    """A LoRA adapter served next to its base model (`--lora-modules name=source`); clients
    select it with `"model": "<name>"`. vLLM downloads a Hugging Face repo source into the model
    cache at start, like the base model."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][-a-z0-9_.]{0,62}$")] = Field(
        description="name clients send as \"model\" to use the adapter (unique among the env's models and adapters)")
    source: HfRepo = Field(description="Hugging Face repository of the adapter weights")


class Autoscaling(Model):
    """The model's HorizontalPodAutoscaler on its own queue (`vllm:num_requests_waiting` of this
    model's pods, per pod, through prometheus-adapter)."""

    min_replicas: Annotated[int, Field(ge=1, le=100)] = Field(default=1, description="fewest replicas the HPA keeps")
    max_replicas: Annotated[int, Field(ge=1, le=100)] = Field(default=1,
        description="most replicas the HPA asks for; the team's GPU quota must hold max_replicas x tensor_parallel_size (+1 replica with rollout surge)")
    target_waiting_per_replica: Annotated[float, Field(gt=0, le=1000)] = Field(
        default=4, description="average waiting requests per replica the HPA steers to")
    scale_up_pods_per_minute: Annotated[int, Field(ge=1, le=100)] = Field(
        default=2, description="at most this many replicas added per minute (each needs a GPU node)")
    scale_down_stabilization_seconds: Annotated[int, Field(ge=0, le=3600)] | None = Field(
        default=None, description="default: the model's startup_timeout_seconds (never shorter: a replica "
                                  "removed now costs that long to get back)")

    @model_validator(mode="after")
    def _bounds(self) -> "Autoscaling":
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        milli = self.target_waiting_per_replica * 1000
        if round(milli) < 1 or abs(milli - round(milli)) > 1e-9:
            raise ValueError("target_waiting_per_replica must be a multiple of 0.001 (the HPA target is a milli-quantity)")
        return self


class ServedModel(Model):
    """One model: a vLLM OpenAI-compatible server Deployment in its team's namespace, its Service,
    ServiceMonitor, PDB, HPA and public host `<serving.host_prefix>-<name>.<domain>` (`/v1`)."""

    name: Annotated[str, Field(pattern=DNS_LABEL, max_length=40)] = Field(
        description="object names and host label; also the served model name clients send")
    team: DnsLabel = Field(description="the team whose namespace, quota and GPU budget serve it")
    model: HfRepo = Field(description="Hugging Face repository of the weights")
    revision: Annotated[str, Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]{0,99}$")] | None = Field(
        default=None, description="Hugging Face branch, tag or commit (pin it: a moving main changes the model)")
    gated: bool = Field(default=False, description="needs the Hugging Face token (license-gated repository)")
    max_model_len: Annotated[int, Field(ge=128, le=1048576)] = Field(description="context length (--max-model-len)")
    gpu_memory_utilization: Annotated[float, Field(ge=0.3, le=0.98)] | None = Field(
        default=None, description="unset (the default): vLLM sizes its KV cache from measured GPU memory (the "
                                  "extensible KV cache, vLLM >= 0.34 resolves this to 1.0, and its docs advise "
                                  "leaving it unset); set it only when something vLLM does not measure shares "
                                  "the GPU")
    tensor_parallel_size: Annotated[int, Field(ge=1, le=8)] = Field(default=1, description="GPUs per replica")
    dtype: Literal["auto", "bfloat16", "float16"] = Field(default="auto",
        description="weights and activations dtype (--dtype); auto: the model config's")
    min_gpu_memory_gib: Annotated[int, Field(ge=1, le=192)] = Field(
        description="GPU memory each of its GPUs must have (weights/TP + KV cache): Karpenter picks only such instances")
    resources: ControllerResources = Field(description="CPU and host memory of the server container")
    shared_memory: Quantity = Field(default="2Gi", description="memory-backed /dev/shm (NCCL between TP workers)")
    lora_adapters: list[LoraAdapter] = Field(
        description="LoRA adapters served with the base model (--enable-lora)", default_factory=list)
    max_lora_rank: Annotated[int, Field(ge=1, le=512)] = Field(default=16,
        description="largest adapter rank vLLM accepts (--max-lora-rank; used when lora_adapters is set)")
    startup_timeout_seconds: Annotated[int, Field(ge=60, le=7200)] = Field(
        default=1200, description="download + load budget before the startup probe gives up")
    termination_grace_seconds: Annotated[int, Field(ge=10, le=3600)] = Field(
        default=120, description="in-flight generations finish within this after the pod leaves the endpoints")
    rollout: Literal["surge", "replace"] = Field(
        default="surge", description="surge: a new replica starts before an old one stops (one spare GPU); "
                                     "replace: stop one, then start one (no spare GPU, capacity dips)")
    autoscaling: Autoscaling = Field(default=Autoscaling(), description="the model's HorizontalPodAutoscaler")
    slo: ServingSlo = Field(default=ServingSlo(), description="per-model alert thresholds (override monitoring.alerts)")

    @property
    def gpus(self) -> int:
        return self.tensor_parallel_size

    @model_validator(mode="after")
    def _unique(self) -> "ServedModel":
        _refuse("lora_adapters listed twice", _twice([a.name for a in self.lora_adapters]))
        if any(a.name == self.name for a in self.lora_adapters):
            raise ValueError(f"a LoRA adapter must not be named like its base model {self.name!r}")
        sd = self.autoscaling.scale_down_stabilization_seconds
        if sd is not None and sd < self.startup_timeout_seconds:
            raise ValueError(f"autoscaling.scale_down_stabilization_seconds {sd} is shorter than startup_timeout_seconds "
                             f"{self.startup_timeout_seconds}: a replica removed now takes that long to come back "
                             f"(lower startup_timeout_seconds if the model loads faster)")
        return self


class ServingConfig(Model):
    """vLLM: one Deployment per model, scaled on its own queue; API key auth on `/v1`."""

    enabled: bool = Field(default=True, description="deploy serving.models")
    image: str = Field(default="vllm", description="key of the vLLM OpenAI server image in kit/versions.py IMAGES")
    host_prefix: DnsLabel = Field(default="llm", description="model hosts are <prefix>-<model>.<domain>")
    model_cache: Literal["efs", "pod"] = Field(
        default="pod", description="efs: the team namespace's shared EFS volume (downloaded once per env); "
                                   "pod: an emptyDir per replica (downloaded at every start)")
    pod_cache_size: Quantity = Field(default="60Gi", description="emptyDir size limit with model_cache: pod")
    topology_spread: bool = Field(default=False, description="spread replicas over zones and nodes")
    models: list[ServedModel] = Field(
        description="the served models (names unique, shared with LoRA adapter names)", default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> "ServingConfig":
        _refuse("serving.models listed twice", _twice([m.name for m in self.models]))
        names = [a.name for m in self.models for a in m.lora_adapters] + [m.name for m in self.models]
        _refuse("served model names used twice (models and LoRA adapters share one namespace of names)",
                _twice(names))
        return self


class AlertThresholds(Model):
    """Thresholds of the platform's PrometheusRules (`components/prometheus_rules.py`), per env.
    `serving.models[].slo` overrides the vLLM ones per model. Durations are Prometheus durations:
    how long a condition must hold (`for:`) or the window a count is taken over."""

    gpu_idle_utilization_percent: Annotated[int, Field(ge=1, le=100)] = Field(
        default=5, description="a GPU a pod holds counts as idle below this utilization (10-minute mean)")
    gpu_idle_for: PromDuration = Field(default="1h", description="how long an allocated GPU stays idle before it alerts")
    gpu_memory_used_percent: Annotated[int, Field(ge=50, le=100)] = Field(
        default=98, description="framebuffer use of a GPU a pod holds (vLLM replicas are left out: they "
                                "preallocate it by design)")
    gpu_temperature_celsius: Annotated[int, Field(ge=50, le=110)] = Field(default=87,
        description="GPU temperature (DCGM) in degrees Celsius that alerts")
    vllm_waiting_per_replica_high: Annotated[float, Field(gt=0)] = Field(
        default=10, description="requests waiting per replica that alert while the model's HPA is at max "
                                "(keep it above the models' autoscaling.target_waiting_per_replica)")
    vllm_ttft_p95_seconds: Annotated[float, Field(gt=0)] = Field(
        default=5, description="5-minute p95 time to first token of a model without slo.ttft_p95_seconds")
    vllm_kv_cache_usage_percent: Annotated[int, Field(ge=50, le=100)] = Field(default=95,
        description="KV-cache usage of a model's replicas, in percent, that alerts (requests get preempted near 100)")
    vllm_for: PromDuration = Field(default="10m", description="how long a vLLM queue, latency or KV-cache "
                                                              "condition holds before it alerts")
    hpa_at_max_for: PromDuration = Field(default="15m",
        description="how long an HPA stays at max_replicas before it alerts")
    metric_absent_for: PromDuration = Field(default="10m", description="a model's queue metric (what its HPA "
                                                                        "scales on) missing, or its HPA unable to read it")
    component_down_for: PromDuration = Field(default="5m", description="JupyterHub hub/proxy or a team's Ray head "
                                                                         "not ready")
    jupyterhub_spawn_failures_per_hour: Annotated[int, Field(ge=1)] = Field(default=3,
        description="failed notebook spawns within an hour that alert")
    airflow_heartbeat_missing_for: PromDuration = Field(default="5m",
        description="how long the Airflow scheduler's heartbeat may be missing before it alerts")
    airflow_task_failures_per_hour: Annotated[int, Field(ge=1)] = Field(default=5,
        description="failed Airflow task instances within an hour that alert")
    pvc_used_percent: Annotated[int, Field(ge=50, le=99)] = Field(default=90,
        description="used space of a PVC, in percent, that alerts")
    pod_restarts: Annotated[int, Field(ge=1)] = Field(
        default=3, description="container restarts within pod_restarts_window that alert (platform and team namespaces)")
    pod_restarts_window: PromDuration = Field(default="6h", description="window the pod_restarts count is taken over")
    karpenter_pool_usage_percent: Annotated[int, Field(ge=50, le=100)] = Field(
        default=90, description="a NodePool's usage of one of its limits (cpu, memory, nvidia.com/gpu)")


class MonitoringConfig(Model):
    """kube-prometheus-stack: Prometheus, Alertmanager, Grafana (Keycloak login), platform rules
    and dashboards; prometheus-adapter serves the vLLM queue metrics to the HPAs."""

    enabled: bool = Field(default=True,
        description="install kube-prometheus-stack and prometheus-adapter (serving.models need it: the HPAs scale on its metrics)")
    retention: PromDuration = Field(default="15d",
        description="how long Prometheus keeps samples (Prometheus duration: 15d)")
    retention_size: Annotated[str, Field(pattern=r"^[0-9]+(MB|GB|TB)$")] | None = Field(
        default=None, description="also cap the TSDB by size (e.g. 45GB, below storage)")
    storage: Quantity = Field(default="50Gi", description="size of each Prometheus replica's volume (gp3 PVC)")
    prometheus_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1,
        description="Prometheus pods (each scrapes everything and has its own volume)")
    prometheus_resources: Annotated[ControllerResources, Field(
        description="requests and limits of the Prometheus container")] = ControllerResources(
        cpu_request="500m", memory_request="2Gi", cpu_limit="2", memory_limit="4Gi")
    scrape_interval: PromDuration = Field(default="30s", description="default interval between scrapes of each target")
    evaluation_interval: PromDuration = Field(default="30s",
        description="how often recording and alerting rules are evaluated")
    alertmanager: bool = Field(default=True, description="run Alertmanager (receivers from the Secrets Manager "
                                                         "secret monitoring/alertmanager)")
    alertmanager_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1, description="Alertmanager pods")
    grafana_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1, description="Grafana pods")
    adapter_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1,
        description="prometheus-adapter pods (serve the custom metrics API the model HPAs read)")
    alerts: AlertThresholds = Field(default=AlertThresholds(),
        description="thresholds of the platform's alerting rules")


def serving_problems(env: "Env") -> list[tuple[Loc, str]]:
    """What `serving.models` needs from the rest of the env: its team, a GPU pool, GPU quota for
    its largest scale (plus the rollout's spare replica), the EFS volume when the cache is shared,
    and the monitoring stack that feeds its autoscaler -- each at the field it is about."""
    s, out = env.serving, []
    if not s.enabled or not s.models:
        return out
    teams = {t.name: t for t in env.teams}
    at = _index(env.teams)
    for i, m in enumerate(s.models):
        if m.team not in teams:
            out.append((("serving", "models", i, "team"), f"{m.team!r} is not a team of this env (model {m.name})"))
    if env.compute.karpenter.gpu_pool is None:
        out.append((("serving", "models"), "serving.models need compute.karpenter.gpu_pool (every vLLM replica needs "
                                           "GPUs)"))
    if not env.monitoring.enabled:
        out.append((("serving", "models"), "serving.models need monitoring.enabled: the HPAs scale on queue metrics "
                                           "Prometheus collects"))
    for name, team in sorted(teams.items()):
        mine = [m for m in s.models if m.team == name]
        need = sum(m.gpus * (m.autoscaling.max_replicas + (1 if m.rollout == "surge" else 0)) for m in mine)
        if mine and need > team.quota.gpus:
            out.append((("teams", at[name], "quota", "gpus"),
                        f"team {name}'s models ({', '.join(m.name for m in mine)}) need {need} GPUs at max replicas "
                        f"(plus one surge replica per model with rollout: surge) but teams[{name}].quota.gpus is "
                        f"{team.quota.gpus}: the quota would refuse the replicas the HPA asks for"))
    if s.model_cache == "efs":
        mounted = {mnt.namespace for mnt in env.storage.efs_mounts}
        for i, m in enumerate(s.models):
            if m.team in teams and env.team_namespace(teams[m.team]) not in mounted:
                out.append((("serving", "models", i), f"serving.model_cache is efs but "
                            f"{env.team_namespace(teams[m.team])} (model {m.name}) has no storage.efs_mounts entry"))
    for i, m in enumerate(s.models):
        if quantity.parse(m.shared_memory) >= quantity.parse(m.resources.memory_limit):
            out.append((("serving", "models", i, "shared_memory"),
                        f"{m.shared_memory} must stay below resources.memory_limit {m.resources.memory_limit}: "
                        "/dev/shm is memory-backed and counts against the container's memory limit"))
    root = env.compute.karpenter.root_volume_gib
    if s.model_cache == "pod" and s.models:
        # node disk: the image (~10 GiB for vLLM), /tmp (8 GiB) and the per-pod cache
        need = quantity.parse(s.pod_cache_size) / Decimal(2) ** 30 + 18
        if need > root:
            out.append((("serving", "pod_cache_size"),
                        f"{s.pod_cache_size} plus the vLLM image and /tmp (18 GiB) does not fit the GPU nodes' root "
                        f"volume of {root} GiB (compute.karpenter.root_volume_gib)"))
    labels = set(env.ingress.hosts.model_dump().values())
    for i, m in enumerate(s.models):
        label = f"{s.host_prefix}-{m.name}"
        if len(label) > 63 or label in labels:
            out.append((("serving", "models", i, "name"),
                        f"host label {label!r} is longer than 63 characters or already a host"))
    return out


class SyncRetry(Model):
    limit: Annotated[int, Field(ge=0, le=100)] = Field(default=10,
        description="how many times Argo CD retries a failed sync (0: never)")
    backoff_duration: Annotated[str, Field(pattern=r"^\d+[smh]$")] = Field(default="10s",
        description="wait before the first retry (e.g. 10s)")
    backoff_factor: Annotated[int, Field(ge=1, le=10)] = Field(default=2,
        description="each wait is the previous one times this")
    backoff_max_duration: Annotated[str, Field(pattern=r"^\d+[smh]$")] = Field(default="5m",
        description="longest wait between retries (e.g. 5m)")


class GitOps(Model):
    """Where Argo CD reads this repository and which cluster it applies the env to."""

    repo_url: Annotated[str, Field(pattern=r"^(https://|ssh://|git@)\S+$")] = Field(
        description="clone URL of this repository as Argo CD reaches it (https, ssh:// or git@)")
    revision: Annotated[str, Field(min_length=1)] = Field(default="main",
        description="branch, tag or commit Argo CD syncs from")
    destination_server: Annotated[str, Field(pattern=r"^https://\S+$")] = Field(default="https://kubernetes.default.svc",
        description="API server Argo CD applies to (the default: the cluster Argo CD runs in)")
    argocd_namespace: DnsLabel = Field(default="argocd",
        description="namespace Argo CD runs in: the Applications, the AppProject and Argo CD's OIDC client Secret go there")
    project: DnsLabel | None = Field(default=None, description="AppProject name (default ml-platform-<env>)")
    retry: SyncRetry = Field(default=SyncRetry(), description="Argo CD's automatic sync retry")


class Env(Model):
    """One environment: everything that shapes `dist/<env>/` and `argocd/<env>/`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, title="ML platform environment")

    name: Annotated[str, Field(pattern=DNS_LABEL, max_length=20)] = Field(
        description="env name: must equal the file name (environments/<name>.yaml); dist/<name>/, Application names <name>-<component>")
    kubernetes_version: Literal[SUPPORTED_KUBERNETES_MINORS] = Field(  # type: ignore[valid-type]
        description="target Kubernetes minor: every core object is validated against its OpenAPI schema")
    domain: Annotated[str, Field(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$", max_length=200)] = Field(
        description="DNS domain of the env: every host is <label>.<domain> (ingress.hosts); covered by infrastructure.certificate_arn")
    gitops: GitOps = Field(description="where Argo CD reads this repository and which cluster it applies the env to")
    infrastructure: Infrastructure = Field(description="loaded from environments/infra/<env>.yaml (Terraform outputs)")
    teams: list[Team] = Field(
        description="tenant teams: each gets namespace <namespaces.team_prefix><name> with its quota and limits, and (with volcano enabled) needs a volcano.queues entry", default_factory=list)
    namespaces: NamespacesConfig = Field(default=NamespacesConfig(),
        description="platform and team namespaces: Pod Security, quotas, network policies")
    compute: ComputeConfig = Field(default=ComputeConfig(),
        description="Karpenter node pools and the NVIDIA GPU operator")
    ray: RayConfig = Field(default=RayConfig(), description="KubeRay: team Ray clusters and RayServices")
    jupyterhub: JupyterHubConfig = Field(default=JupyterHubConfig(), description="JupyterHub notebooks")
    volcano: VolcanoConfig = Field(default=VolcanoConfig(), description="Volcano batch scheduler and the team queues")
    trainer: TrainerConfig = Field(default=TrainerConfig(), description="Kubeflow Trainer and its training runtimes")
    ingress: IngressConfig = Field(default=IngressConfig(), description="the shared ALB, its hosts and controller")
    external_dns: ExternalDnsConfig = Field(default=ExternalDnsConfig(),
        description="external-dns (Route 53 records of the ingress hosts)")
    storage: StorageConfig = Field(default=StorageConfig(),
        description="EBS gp3 StorageClass and the shared EFS mounts")
    keycloak: KeycloakConfig = Field(default=KeycloakConfig(),
        description="Keycloak (the platform realm every login goes through)")
    secrets: SecretsConfig = Field(default=SecretsConfig(), description="External Secrets Operator")
    airflow: AirflowConfig = Field(default=AirflowConfig(), description="Airflow")
    spark: SparkConfig = Field(default=SparkConfig(), description="Spark operator")
    mlflow: MlflowConfig = Field(default=MlflowConfig(), description="MLflow tracking server")
    serving: ServingConfig = Field(default=ServingConfig(), description="vLLM model serving")
    monitoring: MonitoringConfig = Field(default=MonitoringConfig(),
        description="Prometheus, Alertmanager, Grafana, alert thresholds")
    guard: GuardConfig = Field(default=GuardConfig(),
        description="the destructive-change guard of diff and check (what a PR may remove)")

    @property
    def project(self) -> str:
        return self.gitops.project or f"ml-platform-{self.name}"

    def host(self, app: str) -> str:
        """The one place hosts come from: `auth.<domain>`, `platform.<domain>`, ... (see `Hosts`)."""
        return f"{getattr(self.ingress.hosts, app)}.{self.domain}"

    def required_databases(self) -> dict[str, str]:
        """Database (a key of infrastructure.databases) -> the enabled component that needs it."""
        need = {"keycloak": "keycloak"}
        if self.airflow.enabled:
            need["airflow"] = "airflow"
        if self.mlflow.enabled:
            need["mlflow"] = "mlflow"
        return need

    @model_validator(mode="after")
    def _infrastructure_inputs(self) -> "Env":
        """The Terraform outputs the enabled components need are there: one problem per missing
        output, at the infra file's field, instead of a failing build and its knock-on reports."""
        raise_problems([(("infrastructure", "databases"), f"{db!r}: required by {comp} (Terraform output "
                                                          f"`databases` has no {db!r} entry)")
                        for db, comp in sorted(self.required_databases().items())
                        if db not in self.infrastructure.databases])
        return self

    @model_validator(mode="after")
    def _teams(self) -> "Env":
        out: list[tuple[Loc, str]] = []
        seen: set[str] = set()
        platform = {p.name for p in self.namespaces.platform} | set(self.namespaces.external)
        for i, t in enumerate(self.teams):
            if t.name in seen:
                out.append((("teams", i, "name"), f"teams listed twice: {t.name}"))
            seen.add(t.name)
            if self.team_namespace(t) in platform:
                out.append((("teams", i, "name"), f"team namespaces clash with platform namespaces: "
                                                  f"{self.team_namespace(t)}"))
        raise_problems(out)
        return self

    @model_validator(mode="after")
    def _gpu_node_fit(self) -> "Env":
        """No pod asks one node for more GPUs than the GPU pool's nodes have."""
        raise_problems(gpu_node_fit_problems(self))
        return self

    @model_validator(mode="after")
    def _training_teams(self) -> "Env":
        """Team queues name teams of this env (and every team has one); Volcano fits the env's minor."""
        raise_problems(training_team_problems(self))
        return self

    @model_validator(mode="after")
    def _root_notebooks(self) -> "Env":
        """A root notebook profile needs a namespace whose Pod Security level admits root."""
        root = [(i, p.slug) for i, p in enumerate(self.jupyterhub.profiles) if p.run_as_root]
        ns = next((p for p in self.namespaces.platform if p.name == "jupyterhub"), None)
        if root and self.jupyterhub.enabled and ns is not None and ns.pod_security == "restricted":
            raise_problems([(("jupyterhub", "profiles", i, "run_as_root"),
                             f"profile {slug} would run as root, but namespace jupyterhub enforces Pod Security "
                             "`restricted`, which refuses root pods: drop run_as_root, or give the namespace "
                             "`baseline` with a pod_security_reason in namespaces.platform") for i, slug in root])
        return self

    @model_validator(mode="after")
    def _serving(self) -> "Env":
        """Served models name teams of this env and fit their GPU quota at max replicas."""
        raise_problems(serving_problems(self))
        return self

    @model_validator(mode="after")
    def _ray_teams(self) -> "Env":
        """`ray.clusters` (keyed by team name) and `ray.services` name teams of this env, have what
        GCS fault tolerance and GPU groups need, get a dashboard host label of their own, and fit
        the team's quota at full scale (a RayService twice: a change of its cluster makes KubeRay
        start the new cluster next to the old one before it switches over)."""
        ray = self.ray
        if not ray.enabled:
            return self
        teams = {t.name: t for t in self.teams}
        raise_problems([(("ray", "clusters", t), f"ray.clusters for teams this env does not have: {t}")
                        for t in sorted(set(ray.clusters) - set(teams))]
                       + [(("ray", "services", i, "team"), f"ray.services for teams this env does not have: {s.team}")
                          for i, s in enumerate(ray.services) if s.team not in teams])
        if ray.redis == "external" and ray.fault_tolerant_teams() and not self.infrastructure.redis_endpoint:
            raise_problems([(("ray", "redis"), "ray.redis is external but infrastructure.redis_endpoint is not set "
                                               "(Terraform output redis_endpoint: the env's ElastiCache)")])
        clusters = [(t, c, 1) for t, c in ray.clusters.items()] + [(s.team, s.cluster, 2) for s in ray.services]
        if self.compute.karpenter.gpu_pool is None:
            raise_problems([(("ray", "clusters", t, "gpu_workers"), "a GPU worker group needs "
                             "compute.karpenter.gpu_pool (this env launches no GPU nodes)")
                            for t, c in ray.clusters.items() if c.gpu_workers]
                           + [(("ray", "services", i, "cluster", "gpu_workers"), "a GPU worker group needs "
                               "compute.karpenter.gpu_pool (this env launches no GPU nodes)")
                              for i, s in enumerate(ray.services) if s.cluster.gpu_workers])
        labels = set(self.ingress.hosts.model_dump().values())
        for t in ray.clusters:
            label = f"{self.ingress.hosts.ray}-{t}"
            if len(label) > 63 or label in labels:
                raise_problems([(("ray", "clusters", t), f"dashboard host label {label!r} is longer than 63 "
                                                         "characters or already an ingress host")])
        for name, team in teams.items():
            total = {"requests.cpu": Decimal(0), "requests.memory": Decimal(0), "limits.cpu": Decimal(0),
                     "limits.memory": Decimal(0), "nvidia.com/gpu": Decimal(0)}
            mine = [(c, n) for t, c, n in clusters if t == name]
            if not mine:
                continue
            pods = [(c.head, 1, 0) for c, n in mine for _ in range(n)]
            pods += [(c.autoscaler, 1, 0) for c, n in mine for _ in range(n)]
            pods += [(g.resources, g.max_replicas, g.gpus) for c, n in mine for _ in range(n)
                     for g in (c.cpu_workers, c.gpu_workers) if g is not None]
            if ray.redis == "in_cluster" and name in ray.fault_tolerant_teams():
                pods.append((ray.redis_resources, 1, 0))
            for r, count, gpus in pods:
                total["requests.cpu"] += count * quantity.parse(r.cpu_request)
                total["requests.memory"] += count * quantity.parse(r.memory_request)
                total["limits.cpu"] += count * quantity.parse(r.cpu_limit)
                total["limits.memory"] += count * quantity.parse(r.memory_limit)
                total["nvidia.com/gpu"] += count * gpus
            q = team.quota
            hard = {"requests.cpu": q.cpu, "requests.memory": q.memory,
                    "limits.cpu": q.limits_cpu or str(2 * quantity.parse(q.cpu)),
                    "limits.memory": q.limits_memory or q.memory, "nvidia.com/gpu": str(q.gpus)}
            over = [f"{k} {_human(v, k)} > quota {hard[k]}" for k, v in total.items() if v > quantity.parse(hard[k])]
            if over:
                where = ("ray", "clusters", name) if name in ray.clusters else \
                    ("ray", "services", next(i for i, s in enumerate(ray.services) if s.team == name))
                raise_problems([(where, f"team {name}'s Ray clusters at full scale exceed its quota: "
                                        f"{'; '.join(over)} (lower max_replicas or sizes, or raise teams[].quota)")])
        return self

    @model_validator(mode="after")
    def _team_demand(self) -> "Env":
        """A team's GPU demand in total fits its quota and its queue."""
        raise_problems(team_demand_problems(self))
        return self

    def team_namespace(self, team: Team) -> str:
        return f"{self.namespaces.team_prefix}{team.name}"
