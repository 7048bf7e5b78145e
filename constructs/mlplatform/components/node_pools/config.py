"""The NodePools Karpenter launches (`compute.karpenter.default_pool` and `gpu_pool`): instance
choice, limits, consolidation and disruption budgets; and the check that no pod asks one node for
more GPUs than any node of the GPU pool has."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from ...config.base import Model, Quantity, refuse, twice
from ...config.strict import Loc
from ...kit import quantity
from ...kit.instances import (GPU_INSTANCE_CATEGORIES, gpu_families, gpus_per_node_cap, instance_category,
                              instance_generation, mig_layout_problems)
from .sharing import GpuSharing

if TYPE_CHECKING:
    from ...config.models import Env

# Durations as Karpenter's NodePool CRD spells them ("30s", "1h30m"; "Never" where allowed).
KarpenterDuration = Annotated[str, Field(pattern=r"^(([0-9]+(s|m|h))+|Never)$", examples=["30s", "10m", "720h", "Never"])]
# A budget window: hours and/or minutes only (the CRD's pattern for `budgets[].duration`).
BudgetDuration = Annotated[str, Field(pattern=r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$", examples=["8h", "1h30m"])]
# EC2 naming as Karpenter labels it: family `g5` = category `g` + generation `5` (+ suffix: `p4d`, `g4dn`).
InstanceCategory = Annotated[str, Field(pattern=r"^[a-z]{1,8}$", examples=["c", "m", "r", "g", "p"])]
InstanceFamily = Annotated[str, Field(pattern=r"^[a-z]{1,8}[0-9]{1,2}[a-z-]*$", examples=["g5", "g6e", "p4d", "p5"])]
InstanceSize = Annotated[str, Field(pattern=r"^(nano|micro|small|medium|large|[0-9]*xlarge|metal(-[0-9]+xl)?)$",
                                    examples=["xlarge", "2xlarge", "12xlarge", "metal"])]


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
        refuse("reasons listed twice", twice(list(self.reasons)))
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
            refuse(f"{what} listed twice", twice(list(getattr(self, what))))
        refuse("instance_families outside instance_categories "
                f"({', '.join(self.instance_categories)})",
                {f for f in self.instance_families if instance_category(f) not in self.instance_categories})
        if self.min_generation is not None:
            refuse(f"instance_families older than min_generation {self.min_generation}",
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
        refuse("GPU instance categories belong in gpu_pool (its nodes carry the nvidia.com/gpu taint)",
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
    sharing: GpuSharing = Field(default_factory=GpuSharing,
        description="how the pool's GPUs are shared: whole GPUs (default), time-slicing or MIG")

    def gpus_per_node(self) -> tuple[int, str] | None:
        """(most GPUs on one node, why): max_gpus_per_node, else derived from the instance families."""
        return gpus_per_node_cap(list(self.instance_categories), list(self.instance_families),
                                 list(self.instance_sizes) or None, self.min_generation, self.max_gpus_per_node)

    def _check_role(self) -> None:
        refuse(f"gpu_pool categories without NVIDIA GPUs (use {' or '.join(GPU_INSTANCE_CATEGORIES)})",
                set(self.instance_categories) - set(GPU_INSTANCE_CATEGORIES))
        if self.max_gpus_per_node is not None and self.max_gpus_per_node > self.gpu_limit:
            raise ValueError(f"max_gpus_per_node {self.max_gpus_per_node} exceeds gpu_limit {self.gpu_limit}: "
                             "no node of that size could ever launch")
        if self.sharing.mode == "mig":
            if not self.instance_families:
                raise ValueError("sharing.mode mig needs instance_families: the MIG layout is checked against the GPU "
                                 "model of every family the pool may launch (A100/H100/H200: p4d, p4de, p5, p5e, p5en)")
            fams = gpu_families(list(self.instance_categories), list(self.instance_families), self.min_generation)
            whys = sorted({w for f in fams for w in mig_layout_problems(f, dict(self.sharing.mig_devices))})
            if whys:
                raise ValueError("sharing.mig_devices can't be applied: " + "; ".join(whys))


def gpu_node_fit_problems(env: "Env") -> list[tuple[Loc, str]]:
    """Pods that ask one node for more GPUs than any node of their GPU pool has -- max_gpus_per_node,
    or without it the largest instance of the families the pool allows: training runtimes'
    gpus_per_node, Ray GPU worker groups, served models' tensor_parallel_size, notebook profiles.
    Whole GPUs only: a time-sliced pod asks for one, and MIG slices per node are `gpu_ask_problems`'s
    (placement.py)."""
    from .asks import gpu_asks
    from .objects import gpu_pools
    pools = dict(gpu_pools(env))
    out: list[tuple[Loc, str]] = []
    for a in gpu_asks(env):
        pool = pools.get(a.pool)
        if pool is None or a.mig_profile is not None or pool.sharing.mode != "whole":
            continue
        cap = pool.gpus_per_node()
        if cap is None or a.count <= cap[0]:
            continue
        n, why = cap
        name = "gpu_pool" if a.pool == "gpu" else f"gpu_pools.{a.pool}"
        where = f"compute.karpenter.{name}." + ("max_gpus_per_node" if pool.max_gpus_per_node is not None
                                                else "instance_families")
        out.append((a.loc, f"{a.what} ask one node for {a.count} nvidia.com/gpu but no GPU node has more than {n} "
                           f"({where}: {why}): the pods would stay Pending"))
    return out


def gpu_ask_config_problems(env: "Env") -> list[tuple[Loc, str]]:
    """The refused GPU asks of the env's workloads (asks.py `gpu_ask_env_problems`)."""
    from .asks import gpu_ask_env_problems
    return gpu_ask_env_problems(env)
