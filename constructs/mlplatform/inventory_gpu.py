"""The inventory's GPU-sharing cells (`inventory.py`): how each GPU NodePool shares its GPUs and
what a notebook profile asks of them, read from the typed config."""
from __future__ import annotations

from typing import Any


def sharing(env: Any, pool: str) -> str | None:
    """How a GPU pool shares its GPUs: whole, time-sliced (pods per GPU) or its MIG layout per GPU.
    None for a pool without GPUs."""
    k = env.compute.karpenter
    p = k.gpu_pool if pool == "gpu" else k.gpu_pools.get(pool)
    if p is None:
        return None
    s = p.sharing
    if s.mode == "mig":
        return "MIG per GPU: " + ", ".join(f"{n} x `nvidia.com/mig-{prof}`" for prof, n in sorted(s.mig_devices.items()))
    return f"time-sliced: {s.replicas} pods per `nvidia.com/gpu`" if s.mode == "time-slicing" else "whole GPUs"


def gpu_ask(p: Any) -> Any:
    """A workload's GPUs as the inventory shows them: the count, with the resource and pool when shared."""
    if not p.gpus or (p.gpu_pool == "gpu" and p.mig_profile is None):
        return p.gpus
    return f"{p.gpus} x `nvidia.com/mig-{p.mig_profile}`" if p.mig_profile else f"{p.gpus} (pool `{p.gpu_pool}`)"
