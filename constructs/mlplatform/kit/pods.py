"""Pod specs wherever they are embedded (workloads, custom resources, chart values) and what one
pod needs from a node: GPUs and tolerations. Pure helpers for `validate/` and the units' checks."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from .meta import Obj
from .quantity import parse

GPU = "nvidia.com/gpu"
MIG_PREFIX = "nvidia.com/mig-"  # a MIG slice (operator mig.strategy mixed): its own resource per profile


def tolerates(tolerations: list[dict], taint: dict) -> bool:
    """Whether one of the pod's tolerations tolerates the node taint (Kubernetes semantics)."""
    for t in tolerations or []:
        op, key = t.get("operator", "Equal"), t.get("key", "")
        if key == "" and op == "Exists":
            pass
        elif key != taint.get("key"):
            continue
        elif op == "Equal" and t.get("value", "") != taint.get("value", ""):
            continue
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        return True
    return False


def is_gpu_resource(name: str) -> bool:
    """Whole or time-sliced GPUs (`nvidia.com/gpu`) or a MIG slice (`nvidia.com/mig-<profile>`)."""
    return name == GPU or name.startswith(MIG_PREFIX)


def _gpus(container: dict, resource: str = GPU) -> Decimal:
    res = container.get("resources") or {}
    vals = [parse(v) for v in ((res.get("limits") or {}).get(resource), (res.get("requests") or {}).get(resource))
            if v is not None]
    return max(vals, default=Decimal(0))


def pod_gpus(spec: dict, resource: str = GPU) -> Decimal:
    """How much of one GPU resource (`nvidia.com/gpu` by default, or a MIG slice's) one pod needs: its
    containers (plus sidecar init containers), or its largest init container."""
    inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    sidecars = [c for c in inits if c.get("restartPolicy") == "Always"]
    running = sum((_gpus(c, resource) for c in (spec.get("containers") or []) + sidecars if isinstance(c, dict)),
                  Decimal(0))
    return max([running] + [_gpus(c, resource) for c in inits])


def pod_gpu_resources(spec: dict) -> dict[str, Decimal]:
    """Every GPU resource one pod needs, by kind (`nvidia.com/gpu` and each `nvidia.com/mig-<profile>`
    apart: a slice is not a fraction of a GPU to the scheduler), leaving out kinds it needs none of."""
    names = {k for c in (spec.get("containers") or []) + (spec.get("initContainers") or []) if isinstance(c, dict)
             for part in ("limits", "requests") for k in ((c.get("resources") or {}).get(part) or {})
             if is_gpu_resource(k)}
    out = {n: pod_gpus(spec, n) for n in sorted(names)}
    return {n: v for n, v in out.items() if v > 0}


def pod_specs(obj: Obj) -> Iterable[tuple[str, dict]]:
    """(path, pod spec) for every dict with a `containers` list, however deep (CRs included)."""
    def walk(node: Any, path: str) -> Iterable[tuple[str, dict]]:
        if isinstance(node, dict):
            if isinstance(node.get("containers"), list) and all(isinstance(c, dict) for c in node["containers"]):
                yield path or "(root)", node
                return
            for k, v in node.items():
                yield from walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, f"{path}[{i}]")
    yield from walk(obj.get("spec"), "spec")


def tolerates_gpu_taint(spec: dict) -> bool:
    """The pod tolerates the GPU nodes' `nvidia.com/gpu` taint (it means to run there)."""
    return any(t.get("key") == GPU for t in spec.get("tolerations") or [])
