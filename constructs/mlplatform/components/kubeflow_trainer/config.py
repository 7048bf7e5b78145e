"""The `trainer` section: the Kubeflow Trainer controller and the training runtimes it offers; and
`runtime_fits`, which runtimes a team may use (its whole gang fits the team's quota and queue)."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from ...config.base import ControllerResources, DnsLabel, Model, Quantity, refuse, res, twice
from ...kit import quantity
from ...kit.instances import gpu_resource
from ..node_pools import GpuPoolName, MigProfileName, gpu_pool_field, mig_profile_field

if TYPE_CHECKING:
    from ...config.models import Env
    from ...config.tenants import Team


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
        description="GPUs per pod (or MIG slices: mig_profile); must fit one node of gpu_pool; 0: CPU-only")
    gpu_pool: GpuPoolName = gpu_pool_field()
    mig_profile: MigProfileName | None = mig_profile_field()
    node: ControllerResources = Field(default_factory=lambda: res("2", "8Gi", "4", "16Gi"),
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
        from ...kit import versions
        if self.image not in versions.IMAGES:
            raise ValueError(f"image {self.image!r} is not in the versions table (kit/versions.py IMAGES)")
        if quantity.parse(self.shared_memory) >= quantity.parse(self.node.memory_limit):
            raise ValueError("shared_memory must be smaller than node.memory_limit (it is memory of the pod)")
        return self


def _default_runtimes() -> list[TrainingRuntimeConfig]:
    R = TrainingRuntimeConfig
    return [
        R(name="torch-distributed-gpu", description="PyTorch DDP/FSDP with torchrun over NCCL, one GPU per node",
          gpus_per_node=1, node=res("4", "16Gi", "8", "32Gi"), shared_memory="4Gi"),
        R(name="torch-distributed-cpu", description="PyTorch with torchrun over Gloo on CPU nodes (small runs, tests)",
          num_nodes=2, node=res("1", "4Gi", "2", "8Gi"), shared_memory="1Gi"),
    ]


class TrainerConfig(Model):
    """Kubeflow Trainer v2 (TrainJob API): the controller, the runtimes it offers, team access."""

    enabled: bool = Field(default=True, description="install Kubeflow Trainer (needs volcano.enabled)")
    replicas: Annotated[int, Field(ge=1, le=3)] = Field(default=1, description="controller pods")
    resources: ControllerResources = Field(default=res("100m", "256Mi", "1", "1Gi"),
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
        refuse("runtimes listed twice", twice([r.name for r in self.runtimes]))
        return self


def runtime_fits(env: "Env", r: TrainingRuntimeConfig, team: "Team") -> bool:
    """Whether `team` may use runtime `r`: the runtime is offered to it (no `teams`, or listed) and its
    whole gang (num_nodes pods, started together) fits the team's quota and its Volcano queue's
    capability -- GPUs, CPU and memory requests. A runtime that fails this is one no TrainJob of the
    team could ever start, so the team gets no access to it (components/kubeflow_trainer.py)."""
    if r.teams and team.name not in r.teams:
        return False
    gpu_res = gpu_resource(r.mig_profile)  # a MIG runtime's slices count against their own quota
    need = {"gpus": Decimal(r.num_nodes * r.gpus_per_node), "cpu": r.num_nodes * quantity.parse(r.node.cpu_request),
            "memory": r.num_nodes * quantity.parse(r.node.memory_request)}
    q = team.quota
    caps = [{"gpus": Decimal(q.of(gpu_res)), "cpu": quantity.parse(q.cpu), "memory": quantity.parse(q.memory)}]
    queue = env.volcano.queues.get(team.name) if env.volcano.enabled else None
    if queue is not None:
        c = queue.capability
        caps.append({"gpus": Decimal(c.of(gpu_res)), "cpu": quantity.parse(c.cpu), "memory": quantity.parse(c.memory)})
    return all(need[k] <= cap[k] for cap in caps for k in need)
