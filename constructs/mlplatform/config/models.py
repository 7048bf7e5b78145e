"""Typed environment configuration: what differs per environment, with defaults.

One `Env` per file in `environments/`. Each component unit owns the model of its section
(`components/<unit>/config.py`); `Env` composes them, in the order the env files and the JSON
Schema list them, with the cross-cutting sections kept in `config/` (infrastructure, teams and
namespaces, gitops). Every model forbids unknown keys, so a typo in an env file is an error that
names the file, the field path and the line (see `config/loader.py`). The exported JSON Schema
(`environments/env.schema.json`) is generated from these models.

The validators of `Env` check what spans sections; each calls the function of the unit it
protects (`problems`-style: every problem at the field it is about).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from ..components.airflow.config import AirflowConfig
from ..components.external_dns.config import ExternalDnsConfig
from ..components.gpu_operator.config import GpuConfig
from ..components.ingress.config import IngressConfig
from ..components.jupyterhub.config import JupyterHubConfig, posix_identity_problems, root_notebook_problems
from ..components.karpenter.config import KarpenterConfig
from ..components.keycloak.config import KeycloakConfig
from ..components.kubeflow_trainer.config import TrainerConfig, runtime_fits
from ..components.kuberay.config import RayConfig, ray_team_problems
from ..components.mlflow.config import MlflowConfig
from ..components.monitoring.config import MonitoringConfig
from ..components.node_pools.config import gpu_ask_config_problems, gpu_node_fit_problems
from ..components.registry.config import RegistryConfig
from ..components.secrets.config import SecretsConfig
from ..components.spark_operator.config import SparkConfig
from ..components.storage.config import StorageConfig
from ..components.vllm.config import ServingConfig, serving_problems
from ..components.volcano.config import VolcanoConfig, training_team_problems
from ..kit.instances import GPU_RESOURCE, gpu_resource
from ..kit.versions import SUPPORTED_KUBERNETES_MINORS
from .base import DNS_LABEL, DnsLabel, Model
from .guard import GuardConfig
from .infrastructure import Infrastructure
from .strict import Loc, raise_problems
from .tenants import NamespacesConfig, Team


class ComputeConfig(Model):
    """Nodes and accelerators: the `karpenter`, `node-pools` and `gpu-operator` components."""

    karpenter: KarpenterConfig = Field(default=KarpenterConfig(), description="Karpenter and its NodePools")
    gpu: GpuConfig = Field(default=GpuConfig(), description="the NVIDIA GPU operator")

    @model_validator(mode="after")
    def _gpu_nodes_need_the_operator(self) -> "ComputeConfig":
        if self.karpenter.gpu_pool is not None and not self.gpu.enabled:
            raise ValueError("karpenter.gpu_pool needs gpu.enabled: without the NVIDIA device plugin the nodes "
                             "never advertise nvidia.com/gpu (set gpu_pool: null for an env without GPUs)")
        k, g = self.karpenter, self.gpu
        pools = ([("gpu_pool", k.gpu_pool)] if k.gpu_pool is not None else []) + \
            [(f"gpu_pools.{n}", p) for n, p in sorted(k.gpu_pools.items())]
        mig = [where for where, p in pools if p.sharing.mode == "mig"]
        if mig and not (g.mig_manager and g.mig_strategy == "mixed"):
            raise ValueError(f"karpenter.{', karpenter.'.join(mig)} partition GPUs with MIG: that needs gpu.mig_manager "
                             "true (it applies the layout) and gpu.mig_strategy mixed (each profile advertised as "
                             "nvidia.com/mig-<profile>)")
        return self


def team_gpu_demand(env: "Env", team: "Team") -> list[tuple[str, str, int, bool]]:
    """(what, resource, count, gang-scheduled by Volcano) of everything the team can run at once:
    its models at max replicas (plus a surge replica each with rollout: surge), its Ray clusters with
    their GPU groups at max_replicas (a RayService twice: an upgrade starts the new cluster next to the
    old), and per resource the largest training runtime it may use (num_nodes x gpus_per_node). The
    resource is what the ask counts against: `nvidia.com/gpu` (whole or time-sliced GPUs) or its MIG
    slice's `nvidia.com/mig-<profile>`."""
    out: list[tuple[str, str, int, bool]] = []
    if env.serving.enabled:
        for m in env.serving.models:
            if m.team == team.name:
                n = m.gpus * (m.autoscaling.max_replicas + (1 if m.rollout == "surge" else 0))
                out.append((f"model {m.name} {n}", gpu_resource(m.mig_profile), n, False))
    if env.ray.enabled:
        volcano = env.volcano.enabled
        c = env.ray.clusters.get(team.name)
        if c is not None and c.gpu_workers is not None and c.gpu_workers.gpus:
            n = c.gpu_workers.max_replicas * c.gpu_workers.gpus
            out.append((f"Ray cluster {n}", gpu_resource(c.gpu_workers.mig_profile), n, volcano))
        for s in env.ray.services:
            g = s.cluster.gpu_workers
            if s.team == team.name and g is not None and g.gpus:
                n = 2 * g.max_replicas * g.gpus
                out.append((f"RayService {s.name} {n} (twice during an upgrade)", gpu_resource(g.mig_profile), n,
                            volcano))
    if env.trainer.enabled:
        fits = [r for r in env.trainer.runtimes if runtime_fits(env, r, team) and r.gpus_per_node]
        for res in sorted({gpu_resource(r.mig_profile) for r in fits}):
            r = max((r for r in fits if gpu_resource(r.mig_profile) == res),
                    key=lambda r: (r.num_nodes * r.gpus_per_node, r.name))
            n = r.num_nodes * r.gpus_per_node
            out.append((f"training runtime {r.name} {n}", res, n, env.volcano.enabled))
    return out


def _offered_slices(env: "Env") -> set[str]:
    """The MIG profiles some GPU pool of the env partitions its GPUs into."""
    k = env.compute.karpenter
    pools = ([k.gpu_pool] if k.gpu_pool is not None else []) + list(k.gpu_pools.values())
    return {prof for p in pools if p.sharing.mode == "mig" for prof in p.sharing.mig_devices}


def team_demand_problems(env: "Env") -> list[tuple[Loc, str]]:
    """Each team's GPU demand in total (`team_gpu_demand`) against its quota, and the part Volcano
    schedules against its queue's capability, per resource (whole/time-sliced GPUs and each MIG
    slice kind apart): a team that uses everything it was given at once must not have pods refused by
    the quota, or gangs waiting forever in the queue. A slice quota of a profile no pool offers is
    refused too (a typo, or a layout that changed)."""
    out: list[tuple[Loc, str]] = []
    offered = _offered_slices(env)
    for i, t in enumerate(env.teams):
        for prof in sorted(set(t.quota.mig_slices) - offered):
            out.append((("teams", i, "quota", "mig_slices", prof),
                        f"team {t.name} has a quota of MIG slice {prof}, which no GPU pool of this env offers "
                        f"({', '.join(sorted(offered)) or 'no pool uses sharing.mode mig'})"))
        demand = team_gpu_demand(env, t)
        q = env.volcano.queues.get(t.name) if env.volcano.enabled else None
        for res in sorted({r for _, r, _, _ in demand}):
            mine = [(w, n, v) for w, r, n, v in demand if r == res]
            total, quota = sum(n for _, n, _ in mine), t.quota.of(res)
            field = t.quota.field_of(res)
            unit = "GPUs" if res == GPU_RESOURCE else f"{res} slices"
            if total > quota:
                fix = ("raise it (within compute.karpenter.gpu_pool.gpu_limit)" if res == GPU_RESOURCE else
                       f"give the team teams[].quota.mig_slices.{field[1]}: {total}" if quota == 0 else "raise it")
                out.append((("teams", i, "quota", *field),
                            f"team {t.name} can run {total} {unit} at once ({', '.join(w for w, _, _ in mine)}) but its "
                            f"quota.{'.'.join(map(str, field))} is {quota}: {fix}, lower max_replicas, or limit the "
                            "runtime to other teams (trainer.runtimes[].teams)"))
            gang = [(w, n) for w, n, v in mine if v]
            need = sum(n for _, n in gang)
            if q is not None and gang and need > q.capability.of(res):
                out.append((("volcano", "queues", t.name, "capability", *q.capability.field_of(res)),
                            f"team {t.name}'s Volcano-scheduled work needs {need} {unit} at once "
                            f"({', '.join(w for w, _ in gang)}) but its queue may hold {q.capability.of(res)}: the "
                            "gangs past it would wait for each other"))
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
    registry: RegistryConfig = Field(default=RegistryConfig(), description=(
        "the private registry mirror every image is pulled from, and its pull credential (default: none, images "
        "come from their source registries)"))
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
    def _gpu_asks(self) -> "Env":
        """Every GPU ask names a GPU pool of the env and a resource it offers (a MIG slice of its
        layout, whole or time-sliced GPUs), in amounts one pod can use."""
        raise_problems(gpu_ask_config_problems(self))
        return self

    @model_validator(mode="after")
    def _training_teams(self) -> "Env":
        """Team queues name teams of this env (and every team has one); Volcano fits the env's minor."""
        raise_problems(training_team_problems(self))
        return self

    @model_validator(mode="after")
    def _root_notebooks(self) -> "Env":
        """A root notebook profile needs a namespace whose Pod Security level admits root."""
        raise_problems(root_notebook_problems(self))
        return self

    @model_validator(mode="after")
    def _posix_identity(self) -> "Env":
        """Notebooks that run as the directory's identities: no root profile, a fallback within bounds."""
        raise_problems(posix_identity_problems(self))
        return self

    @model_validator(mode="after")
    def _serving(self) -> "Env":
        """Served models name teams of this env and fit their GPU quota at max replicas."""
        raise_problems(serving_problems(self))
        return self

    @model_validator(mode="after")
    def _ray_teams(self) -> "Env":
        """Ray clusters and services name teams of this env and fit the team's quota at full scale."""
        raise_problems(ray_team_problems(self))
        return self

    @model_validator(mode="after")
    def _team_demand(self) -> "Env":
        """A team's GPU demand in total fits its quota and its queue."""
        raise_problems(team_demand_problems(self))
        return self

    def team_namespace(self, team: Team) -> str:
        return f"{self.namespaces.team_prefix}{team.name}"
