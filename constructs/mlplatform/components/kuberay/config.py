"""The `ray` section: the KubeRay operator, each team's persistent Ray cluster, RayServices (Ray
Serve) and GCS fault tolerance; and the checks that they name teams of the env and fit their quota."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from ...config.base import DNS_LABEL, ControllerResources, DnsLabel, Model, Quantity, refuse, res, twice
from ...config.strict import Loc
from ...kit import quantity
from ...kit.instances import GPU_RESOURCE, gpu_resource
from ..node_pools import GpuPoolName, MigProfileName, gpu_pool_field, mig_profile_field

if TYPE_CHECKING:
    from ...config.models import Env

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
    resources: ControllerResources = Field(default=res("2", "8Gi", "2", "8Gi"),
        description="requests and limits of each worker pod's Ray container")
    gpus: Annotated[int, Field(ge=0, le=16)] = Field(default=0,
        description="GPUs per pod (or MIG slices: mig_profile), on gpu_pool")
    gpu_pool: GpuPoolName = gpu_pool_field()
    mig_profile: MigProfileName | None = mig_profile_field()
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

    head: ControllerResources = Field(default=res("1", "4Gi", "2", "4Gi"),
        description="requests and limits of the head's Ray container")
    cpu_workers: RayWorkerGroup = Field(default=RayWorkerGroup(), description="the CPU worker group (gpus must be 0)")
    gpu_workers: RayWorkerGroup | None = Field(default=None, description="null: no GPU worker group")
    idle_timeout_seconds: Annotated[int, Field(ge=10, le=86400)] = Field(
        default=300, description="the autoscaler removes a worker idle for this long (down to min_replicas)")
    upscaling_mode: RayUpscalingMode = Field(
        default="Default", description="Conservative: ramp up gradually; Aggressive: request everything pending")
    autoscaler: ControllerResources = Field(default=res("200m", "512Mi", "500m", "512Mi"),
        description="requests and limits of the autoscaler sidecar in the head pod")
    gcs_fault_tolerance: bool = Field(
        default=False, description="persist the GCS in Redis (ray.redis) so the cluster survives a head restart")
    head_disruption_budget: bool = Field(
        default=False, description="a PodDisruptionBudget for the head (maxUnavailable 1: never blocks a drain)")
    image: str = Field(default="ray", description="key of the head/CPU image in kit/versions.py IMAGES")
    gpu_image: str = Field(default="ray-gpu", description="key of the GPU worker image in kit/versions.py IMAGES")

    @model_validator(mode="after")
    def _groups(self) -> "RayClusterConfig":
        from ...kit import versions
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
        refuse("deployments listed twice", twice([d.name for d in self.deployments]))
        return self


class RayServiceConfig(Model):
    """A RayService (Ray Serve on its own Ray cluster) in a team's namespace."""

    name: Annotated[str, Field(pattern=DNS_LABEL, min_length=1, max_length=40)] = Field(
        description="RayService name (unique in the env)")
    team: DnsLabel = Field(description="the team (name) whose namespace runs it")
    cluster: Annotated[RayClusterConfig, Field(
        description="the service's own Ray cluster (counted twice against the team's quota: an upgrade runs old and new side by side)")] = RayClusterConfig(
        cpu_workers=RayWorkerGroup(replicas=1, min_replicas=1, max_replicas=2,
                                   resources=res("500m", "2Gi", "1", "4Gi")))
    applications: list[ServeApplication] = Field(description="the Serve applications of the service", min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "RayServiceConfig":
        refuse("applications listed twice", twice([a.name for a in self.applications]))
        refuse("route prefixes used twice", twice([a.route_prefix for a in self.applications]))
        return self


class RayConfig(Model):
    """KubeRay: the operator, one persistent Ray cluster per team (keyed by team name), RayServices."""

    enabled: bool = Field(default=True, description="install KubeRay (ray.clusters and ray.services need it)")
    operator_replicas: Annotated[int, Field(ge=1, le=3)] = Field(default=1, description="KubeRay operator pods")
    operator: ControllerResources = Field(default=res("100m", "256Mi", "500m", "512Mi"),
        description="requests and limits of the operator container")
    service_monitor: bool = Field(default=True, description="a ServiceMonitor for the operator's metrics and a "
                                                            "PodMonitor for the Ray nodes (needs the Prometheus "
                                                            "Operator CRDs)")
    redis: Literal["external", "in_cluster"] = Field(
        default="in_cluster", description="where GCS fault tolerance keeps its state: external = the env's ElastiCache "
                                          "(infrastructure.redis_endpoint, TLS); in_cluster = a small Redis per team "
                                          "namespace (no replica: survives a head restart, not a Redis pod loss)")
    redis_resources: ControllerResources = Field(default=res("100m", "256Mi", "500m", "512Mi"),
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
        refuse("RayServices listed twice", twice([s.name for s in self.services]))
        return self

    def fault_tolerant_teams(self) -> set[str]:
        """Teams whose cluster or services keep the GCS in Redis."""
        if not self.enabled:
            return set()
        return ({t for t, c in self.clusters.items() if c.gcs_fault_tolerance}
                | {s.team for s in self.services if s.cluster.gcs_fault_tolerance})


def _human(v: Decimal, key: str) -> str:
    """A sum of quantities, for messages: memory in Gi, the rest as plain numbers."""
    if "memory" in key:
        return f"{format((v / Decimal(2) ** 30).normalize(), 'f')}Gi"
    return format(v.normalize(), "f")


def ray_team_problems(env: Env) -> list[tuple[Loc, str]]:
    """`ray.clusters` (keyed by team name) and `ray.services` name teams of this env, have what
    GCS fault tolerance and GPU groups need, get a dashboard host label of their own, and fit
    the team's quota at full scale (a RayService twice: a change of its cluster makes KubeRay
    start the new cluster next to the old one before it switches over).

    The checks run in that order and the first one that finds something is the answer: the later
    ones assume the earlier ones passed (a cluster of an unknown team has no quota to fit)."""
    ray = env.ray
    if not ray.enabled:
        return []
    teams = {t.name: t for t in env.teams}
    unknown = ([(("ray", "clusters", t), f"ray.clusters for teams this env does not have: {t}")
                for t in sorted(set(ray.clusters) - set(teams))]
               + [(("ray", "services", i, "team"), f"ray.services for teams this env does not have: {s.team}")
                  for i, s in enumerate(ray.services) if s.team not in teams])
    if unknown:
        return unknown
    if ray.redis == "external" and ray.fault_tolerant_teams() and not env.infrastructure.redis_endpoint:
        return [(("ray", "redis"), "ray.redis is external but infrastructure.redis_endpoint is not set "
                                   "(Terraform output redis_endpoint: the env's ElastiCache)")]
    clusters = [(t, c, 1) for t, c in ray.clusters.items()] + [(s.team, s.cluster, 2) for s in ray.services]
    if env.compute.karpenter.gpu_pool is None:
        no_pool = ([(("ray", "clusters", t, "gpu_workers"), "a GPU worker group needs "
                     "compute.karpenter.gpu_pool (this env launches no GPU nodes)")
                    for t, c in ray.clusters.items() if c.gpu_workers]
                   + [(("ray", "services", i, "cluster", "gpu_workers"), "a GPU worker group needs "
                       "compute.karpenter.gpu_pool (this env launches no GPU nodes)")
                      for i, s in enumerate(ray.services) if s.cluster.gpu_workers])
        if no_pool:
            return no_pool
    labels = set(env.ingress.hosts.model_dump().values())
    for t in ray.clusters:
        label = f"{env.ingress.hosts.ray}-{t}"
        if len(label) > 63 or label in labels:
            return [(("ray", "clusters", t), f"dashboard host label {label!r} is longer than 63 "
                                             "characters or already an ingress host")]
    for name, team in teams.items():
        total = {"requests.cpu": Decimal(0), "requests.memory": Decimal(0), "limits.cpu": Decimal(0),
                 "limits.memory": Decimal(0), "nvidia.com/gpu": Decimal(0)}
        mine = [(c, n) for t, c, n in clusters if t == name]
        if not mine:
            continue
        pods = [(c.head, 1, 0, GPU_RESOURCE) for c, n in mine for _ in range(n)]
        pods += [(c.autoscaler, 1, 0, GPU_RESOURCE) for c, n in mine for _ in range(n)]
        pods += [(g.resources, g.max_replicas, g.gpus, gpu_resource(g.mig_profile)) for c, n in mine
                 for _ in range(n) for g in (c.cpu_workers, c.gpu_workers) if g is not None]
        if ray.redis == "in_cluster" and name in ray.fault_tolerant_teams():
            pods.append((ray.redis_resources, 1, 0, GPU_RESOURCE))
        for r, count, gpus, gpu_res in pods:
            total["requests.cpu"] += count * quantity.parse(r.cpu_request)
            total["requests.memory"] += count * quantity.parse(r.memory_request)
            total["limits.cpu"] += count * quantity.parse(r.cpu_limit)
            total["limits.memory"] += count * quantity.parse(r.memory_limit)
            # a MIG slice counts against its own quota, not nvidia.com/gpu
            total[gpu_res] = total.get(gpu_res, Decimal(0)) + count * gpus
        q = team.quota
        hard = {"requests.cpu": q.cpu, "requests.memory": q.memory,
                "limits.cpu": q.limits_cpu or str(2 * quantity.parse(q.cpu)),
                "limits.memory": q.limits_memory or q.memory}
        hard.update({r: str(q.of(r)) for r in total if r.startswith("nvidia.com/")})
        over = [f"{k} {_human(v, k)} > quota{''.join('.' + str(f) for f in q.field_of(k)) if '/mig-' in k else ''} "
                f"{hard[k]}" for k, v in total.items() if v > quantity.parse(hard[k])]
        if over:
            where = ("ray", "clusters", name) if name in ray.clusters else \
                ("ray", "services", next(i for i, s in enumerate(ray.services) if s.team == name))
            return [(where, f"team {name}'s Ray clusters at full scale exceed its quota: "
                            f"{'; '.join(over)} (lower max_replicas or sizes, or raise teams[].quota)")]
    return []
