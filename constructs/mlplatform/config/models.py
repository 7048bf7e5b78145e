"""Typed environment configuration: what differs per environment, with defaults.

One `Env` per file in `environments/`. Every model forbids unknown keys, so a typo in an env
file is an error that names the file, the field path and the line (see `config/loader.py`).
The exported JSON Schema (`environments/env.schema.json`) is generated from these models.
"""
from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..kit import quantity
from ..kit.versions import SUPPORTED_KUBERNETES_MINORS

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


# --------------------------------------------------------------------------- infrastructure
class Database(Model):
    """An RDS PostgreSQL endpoint made by Terraform; credentials live in Secrets Manager."""

    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 5432
    database: DnsLabel
    credentials_secret: Annotated[str, Field(min_length=1, description="Secrets Manager secret name (never the value)")]


class Efs(Model):
    file_system_id: Annotated[str, Field(pattern=r"^fs-[0-9a-f]{8,17}$")]
    access_point_id: Annotated[str, Field(pattern=r"^fsap-[0-9a-f]{8,17}$")]


class IamRoles(Model):
    """IRSA role ARNs created by Terraform, one per controller or workload identity."""

    karpenter: Arn
    efs_csi_driver: Arn
    external_dns: Arn
    external_secrets: Arn
    load_balancer_controller: Arn
    workloads_s3: Arn


class Infrastructure(Model):
    """Inputs produced by the separate Terraform (`terraform output -json`); never hand-invented."""

    cluster_name: DnsLabel
    region: AwsRegion
    account_id: AwsAccountId
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    vpc_cidr: Cidr
    private_subnet_tags: dict[str, str] = Field(min_length=1)
    public_subnet_tags: dict[str, str] = Field(min_length=1)
    efs: Efs
    certificate_arn: Arn
    route53_zone_id: Annotated[str, Field(pattern=r"^Z[0-9A-Z]{4,32}$")]
    roles: IamRoles
    databases: dict[DnsLabel, Database] = Field(default_factory=dict)
    karpenter_interruption_queue: Annotated[str, Field(min_length=1)]


# --------------------------------------------------------------------------- tenants
class TeamQuota(Model):
    cpu: Quantity = Field(description="requests.cpu hard limit")
    memory: Quantity = Field(description="requests.memory hard limit")
    limits_cpu: Quantity | None = Field(default=None, description="limits.cpu (default: 2 x cpu)")
    limits_memory: Quantity | None = Field(default=None, description="limits.memory (default: memory)")
    gpus: Annotated[int, Field(ge=0)] = 0
    pods: Annotated[int, Field(ge=1)] = 100
    persistent_volume_claims: Annotated[int, Field(ge=0)] = 20
    storage: Quantity = "500Gi"


class ContainerDefaults(Model):
    """LimitRange defaults applied to containers that declare no resources of their own."""

    cpu_request: Quantity = "100m"
    memory_request: Quantity = "256Mi"
    cpu_limit: Quantity = "2"
    memory_limit: Quantity = "2Gi"

    @model_validator(mode="after")
    def _ordered(self) -> "ContainerDefaults":
        if quantity.parse(self.cpu_request) > quantity.parse(self.cpu_limit):
            raise ValueError("cpu_request must not exceed cpu_limit")
        if quantity.parse(self.memory_request) > quantity.parse(self.memory_limit):
            raise ValueError("memory_request must not exceed memory_limit")
        return self


class Team(Model):
    name: Annotated[str, Field(pattern=DNS_LABEL, max_length=40)]
    description: str = ""
    quota: TeamQuota
    container_defaults: ContainerDefaults = ContainerDefaults()

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

    name: DnsLabel
    component: DnsLabel = Field(description="the component (Argo CD Application) that lives here")
    pod_security: PodSecurityLevel = "restricted"
    pod_security_reason: str = Field(default="", description="required when pod_security is not restricted")
    allow_from_vpc: bool = Field(default=False, description="admit traffic from the VPC CIDR: ALB targets (ip mode) and EKS control-plane webhooks")
    allow_from_namespaces: list[DnsLabel] = Field(default_factory=list)
    container_defaults: ContainerDefaults = ContainerDefaults()

    @model_validator(mode="after")
    def _reason(self) -> "PlatformNamespace":
        if self.pod_security != "restricted" and not self.pod_security_reason.strip():
            raise ValueError(f"pod_security {self.pod_security!r} needs a pod_security_reason")
        return self


def _default_platform_namespaces() -> list[PlatformNamespace]:
    P = PlatformNamespace
    return [
        P(name="external-secrets", component="external-secrets", allow_from_vpc=True),
        P(name="external-dns", component="external-dns"),
        P(name="keycloak", component="keycloak", allow_from_vpc=True),
        P(name="jupyterhub", component="jupyterhub", allow_from_vpc=True),
        P(name="airflow", component="airflow", allow_from_vpc=True),
        P(name="volcano-system", component="volcano", allow_from_vpc=True),
        P(name="kubeflow-system", component="kubeflow-trainer", allow_from_vpc=True),
        P(name="kuberay-system", component="kuberay", allow_from_vpc=True),
        P(name="mlflow", component="mlflow", allow_from_vpc=True,
          allow_from_namespaces=["jupyterhub", "airflow"]),
        P(name="monitoring", component="monitoring", allow_from_vpc=True, pod_security="privileged",
          pod_security_reason="node-exporter needs hostNetwork, hostPID and hostPath mounts to read node metrics"),
        P(name="gpu-operator", component="gpu-operator", pod_security="privileged",
          pod_security_reason="the NVIDIA device plugin, container toolkit and DCGM exporter need privileged host access"),
    ]


class NamespacesConfig(Model):
    """The `namespaces` component: platform and team namespaces with PSA, quota, limits, policies."""

    platform: list[PlatformNamespace] = Field(default_factory=_default_platform_namespaces)
    monitoring_namespace: DnsLabel = "monitoring"
    # Namespaces that exist on the cluster without us (EKS, Argo CD bootstrap): objects may live
    # there, but this generator never creates or owns them.
    external: list[DnsLabel] = Field(default_factory=lambda: ["argocd", "default", "kube-system"])
    team_prefix: DnsLabel = "team-"

    @model_validator(mode="after")
    def _unique(self) -> "NamespacesConfig":
        names = [p.name for p in self.platform]
        _refuse("platform namespaces listed twice", _twice(names))
        _refuse("namespaces both platform-owned and external", set(names) & set(self.external))
        return self


class SyncRetry(Model):
    limit: Annotated[int, Field(ge=0, le=100)] = 10
    backoff_duration: Annotated[str, Field(pattern=r"^\d+[smh]$")] = "10s"
    backoff_factor: Annotated[int, Field(ge=1, le=10)] = 2
    backoff_max_duration: Annotated[str, Field(pattern=r"^\d+[smh]$")] = "5m"


class GitOps(Model):
    """Where Argo CD reads this repository and which cluster it applies the env to."""

    repo_url: Annotated[str, Field(pattern=r"^(https://|ssh://|git@)\S+$")]
    revision: Annotated[str, Field(min_length=1)] = "main"
    destination_server: Annotated[str, Field(pattern=r"^https://\S+$")] = "https://kubernetes.default.svc"
    argocd_namespace: DnsLabel = "argocd"
    project: DnsLabel | None = Field(default=None, description="AppProject name (default ml-platform-<env>)")
    retry: SyncRetry = SyncRetry()


class Env(Model):
    """One environment: everything that shapes `dist/<env>/` and `argocd/<env>/`."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="ML platform environment")

    name: Annotated[str, Field(pattern=DNS_LABEL, max_length=20)]
    kubernetes_version: Literal[SUPPORTED_KUBERNETES_MINORS] = Field(  # type: ignore[valid-type]
        description="target Kubernetes minor: every core object is validated against its OpenAPI schema")
    domain: Annotated[str, Field(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$", max_length=200)]
    gitops: GitOps
    infrastructure: Infrastructure = Field(description="loaded from environments/infra/<env>.yaml (Terraform outputs)")
    teams: list[Team] = Field(default_factory=list)
    namespaces: NamespacesConfig = NamespacesConfig()

    @property
    def project(self) -> str:
        return self.gitops.project or f"ml-platform-{self.name}"

    def host(self, service: str) -> str:
        """The one place hosts come from: `auth.<domain>`, `platform.<domain>`, ..."""
        return f"{service}.{self.domain}"

    @model_validator(mode="after")
    def _teams(self) -> "Env":
        _refuse("teams listed twice", _twice([t.name for t in self.teams]))
        platform = {p.name for p in self.namespaces.platform} | set(self.namespaces.external)
        _refuse("team namespaces clash with platform namespaces",
                {self.team_namespace(t) for t in self.teams} & platform)
        return self

    def team_namespace(self, team: Team) -> str:
        return f"{self.namespaces.team_prefix}{team.name}"
