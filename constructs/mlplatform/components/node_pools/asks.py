"""What GPU workloads ask of the GPU pools, and how a pod asks it.

Every workload that can run on GPUs -- a JupyterHub notebook profile, a Ray GPU worker group, a
training runtime, a served model -- names a GPU pool (`gpu_pool`, default `gpu`, the whole-GPU
pool) and, on a MIG pool, the MIG profile of its slice (`mig_profile: 1g.10gb` -> resource
`nvidia.com/mig-1g.10gb`). The units declare the two fields with `gpu_pool_field()` and
`mig_profile_field()` and build their pods' GPU parts with `gpu_pod_parts`; `gpu_asks(env)` lists
every ask of the env (the env validator refuses the impossible ones through `gpu_ask_problems`,
the quota and fit checks count them per resource kind).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from ...config.strict import Loc
from .objects import GPU_POOL, gpu_pools
from .placement import gpu_ask_problems, gpu_placements
from .sharing import GPU_RESOURCE, MigProfileName

if TYPE_CHECKING:
    from ...config.models import Env

GpuPoolName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$", examples=["gpu", "notebooks-mig"])]


def gpu_pool_field() -> Any:
    """The `gpu_pool` field of a GPU workload (same name, default and description everywhere)."""
    return Field(default=GPU_POOL, description=(
        "the GPU NodePool the pods run on: `gpu` (whole GPUs) or a name of compute.karpenter.gpu_pools "
        "(time-sliced or MIG GPUs); only used when the workload asks for GPUs"))


def mig_profile_field() -> Any:
    """The `mig_profile` field of a GPU workload."""
    return Field(default=None, description=(
        "on a MIG pool: the slice each GPU of the ask is (e.g. 1g.10gb -> resource nvidia.com/mig-1g.10gb); "
        "one of the pool's sharing.mig_devices. null on whole and time-sliced pools"))


@dataclass(frozen=True)
class GpuAsk:
    """One workload's GPU ask: `count` x `resource` per pod on `pool`, up to `pods` pods at once
    (the quota and queue checks' worst case), for `team` (None: not a team's: notebooks)."""

    loc: Loc  # the config field of the count
    what: str
    kind: str  # notebook | ray | trainer | vllm
    pool: str
    mig_profile: str | None
    count: int
    pods: int
    team: str | None

    @property
    def resource(self) -> str:
        return f"nvidia.com/mig-{self.mig_profile}" if self.mig_profile else GPU_RESOURCE


def gpu_pod_parts(env: Env, pool: str, mig_profile: str | None, count: int) -> tuple[dict, list[dict], dict]:
    """(resources {name: count}, tolerations, nodeSelector) that put a pod asking `count` GPUs (or
    slices) on `pool`. The env validator has already refused unknown pools and profiles."""
    p = gpu_placements(env)[pool]
    return ({p.resource(mig_profile): str(count)}, [copy.deepcopy(t) for t in p.tolerations],
            dict(p.node_selector))


def gpu_asks(env: Env) -> list[GpuAsk]:
    """Every GPU ask of the env's enabled workloads (asks of 0 GPUs left out)."""
    out: list[GpuAsk] = []
    if env.jupyterhub.enabled:
        out += [GpuAsk(("jupyterhub", "profiles", i, "gpus"), f"notebook profile {p.slug}", "notebook", p.gpu_pool,
                       p.mig_profile, p.gpus, 1, None) for i, p in enumerate(env.jupyterhub.profiles) if p.gpus]
    if env.ray.enabled:
        for t, c in sorted(env.ray.clusters.items()):
            g = c.gpu_workers
            if g is not None and g.gpus:
                out.append(GpuAsk(("ray", "clusters", t, "gpu_workers", "gpus"), f"team {t}'s Ray GPU workers", "ray",
                                  g.gpu_pool, g.mig_profile, g.gpus, g.max_replicas, t))
        for i, s in enumerate(env.ray.services):
            g = s.cluster.gpu_workers
            if g is not None and g.gpus:
                # A RayService upgrade runs the old and the new cluster side by side.
                out.append(GpuAsk(("ray", "services", i, "cluster", "gpu_workers", "gpus"),
                                  f"Ray service {s.name}'s GPU workers", "ray", g.gpu_pool, g.mig_profile, g.gpus,
                                  2 * g.max_replicas, s.team))
    if env.trainer.enabled:
        out += [GpuAsk(("trainer", "runtimes", i, "gpus_per_node"), f"runtime {r.name}'s pods", "trainer", r.gpu_pool,
                       r.mig_profile, r.gpus_per_node, r.num_nodes, None)
                for i, r in enumerate(env.trainer.runtimes) if r.gpus_per_node]
    if env.serving.enabled:
        for i, m in enumerate(env.serving.models):
            pods = m.autoscaling.max_replicas + (1 if m.rollout == "surge" else 0)
            out.append(GpuAsk(("serving", "models", i, "tensor_parallel_size"), f"model {m.name}'s replicas", "vllm",
                              m.gpu_pool, m.mig_profile, m.gpus, pods, m.team))
    return out


def _unused_choice(env: Env) -> list[tuple[Loc, str]]:
    """A pool or MIG profile named by a workload that asks for no GPUs: almost surely a forgotten `gpus`."""
    out: list[tuple[Loc, str]] = []
    rows: list[tuple[Loc, Any, int]] = []
    rows += [(("jupyterhub", "profiles", i), p, p.gpus) for i, p in enumerate(env.jupyterhub.profiles)]
    rows += [(("ray", "clusters", t, g_name), g, g.gpus) for t, c in sorted(env.ray.clusters.items())
             for g_name, g in (("cpu_workers", c.cpu_workers), ("gpu_workers", c.gpu_workers)) if g is not None]
    rows += [(("trainer", "runtimes", i), r, r.gpus_per_node) for i, r in enumerate(env.trainer.runtimes)]
    for loc, w, n in rows:
        if n == 0 and (w.gpu_pool != GPU_POOL or w.mig_profile is not None):
            field = "mig_profile" if w.mig_profile is not None else "gpu_pool"
            out.append(((*loc, field), f"{field} is set but the workload asks for no GPUs (gpus 0): set its GPU "
                                       "count or drop the field"))
    return out


def _kind_problems(env: Env, a: GpuAsk) -> list[tuple[Loc, str]]:
    """What a kind of workload can't do on a shared pool."""
    pool = dict(gpu_pools(env)).get(a.pool)
    if pool is None:
        return []
    s, base = pool.sharing, a.loc[:-1]
    if a.kind == "vllm" and s.mode == "time-slicing":
        m = env.serving.models[a.loc[2]]  # type: ignore[index]
        util = m.gpu_memory_utilization
        if util is None:
            return [((*base, "gpu_memory_utilization"), f"{a.what} run on time-sliced pool {a.pool}, but vLLM sizes its "
                     "KV cache from the GPU memory it measures (gpu_memory_utilization unset): the replicas sharing a "
                     "GPU each claim all of it and all but one run out of memory; set gpu_memory_utilization to at "
                     f"most 1/{s.replicas} (0.3 at least: a pool of at most 3 replicas) or serve from a whole-GPU pool")]
        if util * s.replicas > 1:
            return [((*base, "gpu_memory_utilization"), f"{a.what} on time-sliced pool {a.pool}: {s.replicas} replicas "
                     f"per GPU x gpu_memory_utilization {util:g} claim more than the GPU's memory (at most "
                     f"{1 / s.replicas:.3f})")]
    if s.mode == "mig" and a.count > 1 and a.kind in ("vllm", "trainer"):
        why = "tensor parallelism" if a.kind == "vllm" else "torchrun over NCCL"
        return [(a.loc, f"{a.what} ask for {a.count} MIG slices per pod for {why}, but a CUDA process uses one MIG "
                        "device and NCCL does not connect MIG instances: ask for 1 slice (a bigger profile) or whole GPUs")]
    if a.kind == "vllm" and s.mode == "mig" and a.mig_profile in s.mig_devices:
        from ...kit.instances import mig_profiles
        fams = list(pool.instance_families)
        gib = min((mig_profiles(f) or {}).get(a.mig_profile, (0, 0, 0, 0))[2] for f in fams) if fams else 0
        m = env.serving.models[a.loc[2]]  # type: ignore[index]
        if gib and m.min_gpu_memory_gib > gib:
            return [((*base, "min_gpu_memory_gib"), f"{a.what} need {m.min_gpu_memory_gib} GiB of GPU memory but a "
                     f"{a.mig_profile} slice has {gib} GiB")]
    return []


def gpu_ask_env_problems(env: Env) -> list[tuple[Loc, str]]:
    """Every refused GPU ask of the env: an unknown pool or slice, whole GPUs from a MIG pool, more
    than one time-sliced replica, vLLM sizing itself by memory on a time-sliced GPU, multi-slice
    NCCL work, a choice of pool without a GPU count."""
    out = _unused_choice(env)
    for a in gpu_asks(env):
        found = gpu_ask_problems(env, a.loc, a.what, a.pool, a.mig_profile, a.count)
        out += found or _kind_problems(env, a)
    return out
