"""The `serving` section: the served models (vLLM), their autoscaling, LoRA adapters and alert
thresholds; and the check of what serving needs from the rest of the env."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from ...config.base import DNS_LABEL, ControllerResources, DnsLabel, Model, Quantity, positions, refuse, twice
from ...config.strict import Loc
from ...kit import quantity
from ...kit.instances import GPU_RESOURCE, gpu_resource
from ..node_pools import GpuPoolName, MigProfileName, gpu_pool_field, mig_profile_field

if TYPE_CHECKING:
    from ...config.models import Env

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
    gpu_pool: GpuPoolName = gpu_pool_field()
    mig_profile: MigProfileName | None = mig_profile_field()
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
        refuse("lora_adapters listed twice", twice([a.name for a in self.lora_adapters]))
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
        refuse("serving.models listed twice", twice([m.name for m in self.models]))
        names = [a.name for m in self.models for a in m.lora_adapters] + [m.name for m in self.models]
        refuse("served model names used twice (models and LoRA adapters share one namespace of names)",
                twice(names))
        return self


def serving_problems(env: "Env") -> list[tuple[Loc, str]]:
    """What `serving.models` needs from the rest of the env: its team, a GPU pool, GPU quota for
    its largest scale (plus the rollout's spare replica), the EFS volume when the cache is shared,
    and the monitoring stack that feeds its autoscaler -- each at the field it is about."""
    s, out = env.serving, []
    if not s.enabled or not s.models:
        return out
    teams = {t.name: t for t in env.teams}
    at = positions(env.teams)
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
        # per resource: whole/time-sliced GPUs and each MIG slice kind have their own quota
        for res in sorted({gpu_resource(m.mig_profile) for m in s.models if m.team == name}):
            mine = [m for m in s.models if m.team == name and gpu_resource(m.mig_profile) == res]
            need = sum(m.gpus * (m.autoscaling.max_replicas + (1 if m.rollout == "surge" else 0)) for m in mine)
            have, field = team.quota.of(res), team.quota.field_of(res)
            if need > have:
                unit = "GPUs" if res == GPU_RESOURCE else f"{res} slices"
                quota = "quota." + ".".join(map(str, field))
                out.append((("teams", at[name], "quota", *field),
                            f"team {name}'s models ({', '.join(m.name for m in mine)}) need {need} {unit} at max "
                            f"replicas (plus one surge replica per model with rollout: surge) but teams[{name}].{quota} "
                            f"is {have}: the quota would refuse the replicas the HPA asks for"))
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
