"""The `volcano` section: the Volcano scheduler and the team queues (one per team, keyed by team
name); and the check that queues and training runtimes fit the env's teams."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ...config.base import ControllerResources, DnsLabel, Model, Quantity, positions, refuse, res
from ...config.strict import Loc
from ...kit import quantity
from ...kit.instances import GPU_RESOURCE, MIG_PROFILE_PATTERN, MIG_RESOURCE_PREFIX

if TYPE_CHECKING:
    from ...config.models import Env


class QueueCapability(Model):
    """The most a Volcano queue may hold at once, summed over its running jobs: a job whose gang
    would push the queue past it waits (it is never started half-way)."""

    cpu: Quantity = Field(description="CPU requests the queue's running jobs may hold in total")
    memory: Quantity = Field(description="memory requests the queue's running jobs may hold in total")
    gpus: Annotated[int, Field(ge=0, le=10000)] = Field(default=0, description="nvidia.com/gpu: the team's GPU budget")
    mig_slices: dict[Annotated[str, Field(pattern=MIG_PROFILE_PATTERN)], Annotated[int, Field(ge=0, le=10000)]] = Field(
        default_factory=dict, description=(
            "MIG slices by profile (nvidia.com/mig-<profile>): the team's slice budget, at most its "
            "quota.mig_slices; every profile a GPU pool of the env offers is written, 0 when left out"))

    @field_validator("mig_slices", mode="before")
    @classmethod
    def _integral_counts(cls, v: object) -> object:
        """An integral float (`2.0`) is the count 2, as for every integer field (config/strict.py)."""
        if isinstance(v, dict):
            return {k: int(n) if isinstance(n, float) and n.is_integer() else n for k, n in v.items()}
        return v

    def of(self, resource: str) -> int:
        """The queue's capability of a GPU resource (`nvidia.com/gpu` or `nvidia.com/mig-<profile>`)."""
        if resource.startswith(MIG_RESOURCE_PREFIX):
            return self.mig_slices.get(resource.removeprefix(MIG_RESOURCE_PREFIX), 0)
        if resource != GPU_RESOURCE:
            raise ValueError(f"{resource} is not a GPU resource")
        return self.gpus

    def field_of(self, resource: str) -> tuple[str, ...]:
        """The config path (under `capability`) of the limit `of(resource)` reads."""
        if resource.startswith(MIG_RESOURCE_PREFIX):
            return ("mig_slices", resource.removeprefix(MIG_RESOURCE_PREFIX))
        return ("gpus",)


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
        refuse("guarantee exceeds capability", set(over))
        return self


class VolcanoResources(Model):
    """Requests and limits of Volcano's scheduler, controller manager and admission webhook pods."""

    scheduler: ControllerResources = Field(default=res("250m", "512Mi", "1", "1Gi"), description="scheduler container")
    controller: ControllerResources = Field(default=res("100m", "256Mi", "500m", "512Mi"),
        description="controller manager container")
    admission: ControllerResources = Field(default=res("100m", "128Mi", "500m", "256Mi"),
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
    at = positions(env.teams)
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
        for prof, n in sorted(q.capability.mig_slices.items()):
            have = teams[name].quota.mig_slices.get(prof, 0) if name in teams else n
            if n > have:
                out.append((("volcano", "queues", name, "capability", "mig_slices", prof),
                            f"{n} exceeds teams[{name}].quota.mig_slices.{prof} ({have}): the namespace quota would "
                            f"refuse the {MIG_RESOURCE_PREFIX}{prof} pods the queue admits"))
    for i, r in enumerate(env.trainer.runtimes if env.trainer.enabled else []):
        unknown = sorted(set(r.teams) - set(teams))
        if unknown:
            out.append((("trainer", "runtimes", i, "teams"),
                        f"runtime {r.name} names teams this env does not have: {', '.join(unknown)}"))
    from ...kit import versions
    if (why := versions.kubernetes_minor_problem("volcano", env.kubernetes_version)) is not None:
        out.append((("kubernetes_version",), f"volcano: {why}"))
    return out
