"""Teams and the namespaces everything runs in: a team's quota and container defaults, and the
platform namespaces with their Pod Security level and network allows (`Env.teams`,
`Env.namespaces`). The `namespaces` component builds them; every unit that places pods reads them.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ..kit import quantity
from ..kit.instances import GPU_RESOURCE, MIG_PROFILE_PATTERN, MIG_RESOURCE_PREFIX
from .base import DNS_LABEL, DnsLabel, Model, Quantity, refuse, twice


class TeamQuota(Model):
    cpu: Quantity = Field(description="requests.cpu hard limit")
    memory: Quantity = Field(description="requests.memory hard limit")
    limits_cpu: Quantity | None = Field(default=None, description="limits.cpu (default: 2 x cpu)")
    limits_memory: Quantity | None = Field(default=None, description="limits.memory (default: memory)")
    gpus: Annotated[int, Field(ge=0)] = Field(default=0,
        description="requests.nvidia.com/gpu hard limit of the team namespace: everything the team can run at once (models at max replicas, Ray GPU groups, its largest training runtime) must fit; 0: no GPUs")
    mig_slices: dict[Annotated[str, Field(pattern=MIG_PROFILE_PATTERN)], Annotated[int, Field(ge=0, le=10000)]] = Field(
        default_factory=dict, description=(
            "MIG slices the team may hold at once, by profile (e.g. {\"1g.10gb\": 4}): requests.nvidia.com/mig-<profile> "
            "hard limits. A slice is its own resource, not counted in gpus; every profile a GPU pool of the env offers "
            "is quota'd, so a profile left out here is 0 for the team"))
    pods: Annotated[int, Field(ge=1)] = Field(default=100,
        description="most pods the team namespace may hold at once (ResourceQuota pods)")
    persistent_volume_claims: Annotated[int, Field(ge=0)] = Field(default=20,
        description="most PVCs the team namespace may hold (ResourceQuota persistentvolumeclaims)")
    storage: Quantity = Field(default="500Gi",
        description="total storage all the team's PVCs may request (ResourceQuota requests.storage)")


    @field_validator("mig_slices", mode="before")
    @classmethod
    def _integral_counts(cls, v: object) -> object:
        """An integral float (`2.0`) is the count 2, as for every integer field (config/strict.py)."""
        if isinstance(v, dict):
            return {k: int(n) if isinstance(n, float) and n.is_integer() else n for k, n in v.items()}
        return v

    def of(self, resource: str) -> int:
        """The team's hard limit of a GPU resource: `nvidia.com/gpu` (whole or time-sliced GPUs) or a
        MIG slice `nvidia.com/mig-<profile>` (0 when the team has none of it)."""
        if resource.startswith(MIG_RESOURCE_PREFIX):
            return self.mig_slices.get(resource.removeprefix(MIG_RESOURCE_PREFIX), 0)
        if resource != GPU_RESOURCE:
            raise ValueError(f"{resource} is not a GPU resource")
        return self.gpus

    def field_of(self, resource: str) -> tuple[str | int, ...]:
        """The config path (under `quota`) of the limit `of(resource)` reads."""
        if resource.startswith(MIG_RESOURCE_PREFIX):
            return ("mig_slices", resource.removeprefix(MIG_RESOURCE_PREFIX))
        return ("gpus",)


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
        refuse("platform namespaces listed twice", twice(names))
        refuse("namespaces both platform-owned and external", set(names) & set(self.external))
        return self
