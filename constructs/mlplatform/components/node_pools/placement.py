"""Where a GPU workload lands: the published `GpuPlacement` of a named GPU pool, and the refusals
of a workload's GPU ask (pool, resource, count) that no pool could satisfy.

Units that place GPU pods (jupyterhub, kuberay, kubeflow_trainer, vllm) read these instead of
restating the pool's label, taints or resource names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...config.strict import Loc
from .objects import GPU_TAINT, POOL_LABEL, gpu_pools
from .sharing import GPU_RESOURCE, GpuSharing, sharing_toleration

if TYPE_CHECKING:
    from ...config.models import Env


@dataclass(frozen=True)
class GpuPlacement:
    """A GPU pool as a pod sees it: the node selector and tolerations that put a pod there, how its
    GPUs are shared and the extended resources its nodes advertise."""

    pool: str
    mode: str  # whole | time-slicing | mig
    node_selector: tuple[tuple[str, str], ...]
    tolerations: tuple[dict, ...]
    resources: tuple[str, ...]

    def resource(self, mig_profile: str | None) -> str:
        """The resource name a pod asks for on this pool (a MIG pool: the profile's)."""
        return f"nvidia.com/mig-{mig_profile}" if mig_profile else GPU_RESOURCE


def _placement(name: str, sharing: GpuSharing) -> GpuPlacement:
    tol = [{"key": GPU_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"}]
    if (t := sharing_toleration(sharing)) is not None:
        tol.append(t)
    return GpuPlacement(name, sharing.mode, ((POOL_LABEL, name),), tuple(tol), tuple(sharing.resources()))


def gpu_placements(env: Env) -> dict[str, GpuPlacement]:
    """Every GPU pool of the env by name (`gpu` first)."""
    return {name: _placement(name, p.sharing) for name, p in gpu_pools(env)}


def gpu_ask_problems(env: Env, loc: Loc, what: str, pool: str, mig_profile: str | None,
                     count: int) -> list[tuple[Loc, str]]:
    """Why `what` asking pool `pool` for `count` x (a whole/time-sliced GPU, or MIG `mig_profile`)
    per pod can't be placed: an unknown pool, a MIG profile on a pool without MIG (or one the pool's
    layout does not offer), a MIG pool asked for whole GPUs, more than one time-sliced replica, or
    more of a slice than one node of the pool has."""
    if count <= 0:
        return []
    pools = dict(gpu_pools(env))
    where = (*loc[:-1], "gpu_pool") if loc else ("gpu_pool",)
    if pool not in pools:
        return [(where, f"{what} ask for GPUs on pool {pool}, which is not a GPU pool of this env "
                        f"({', '.join(pools) or 'none: compute.karpenter.gpu_pool is null'})")]
    p = pools[pool]
    s = p.sharing
    if s.mode == "mig":
        offered = ", ".join(sorted(s.mig_devices))
        if mig_profile is None:
            return [(where, f"{what} ask pool {pool} for whole GPUs, but its GPUs are partitioned by MIG: "
                            f"ask for a slice (mig_profile: one of {offered})")]
        if mig_profile not in s.mig_devices:
            return [((*where[:-1], "mig_profile"), f"{what} ask for MIG slice {mig_profile}, which pool {pool} does "
                                                   f"not offer (its slices: {offered})")]
    elif mig_profile is not None:
        return [((*where[:-1], "mig_profile"), f"{what} ask for MIG slice {mig_profile}, but pool {pool} has "
                                               f"{s.mode} GPUs, no MIG")]
    if s.mode == "time-slicing" and count > 1:
        return [(loc, f"{what} ask pool {pool} for {count} time-sliced GPUs per pod; the device plugin refuses more "
                      "than one (failRequestsGreaterThanOne: replicas of one GPU add no compute)")]
    cap = p.gpus_per_node()
    if cap is not None and s.mode == "mig":
        per_node = cap[0] * s.mig_devices[mig_profile]  # type: ignore[index]
        if count > per_node:
            return [(loc, f"{what} ask for {count} x nvidia.com/mig-{mig_profile} per pod but a node of pool "
                          f"{pool} has at most {per_node} ({cap[0]} GPUs x {s.mig_devices[mig_profile]})")]  # type: ignore[index]
    return []
