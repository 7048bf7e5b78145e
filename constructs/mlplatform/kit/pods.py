"""Pod specs wherever they are embedded (workloads, custom resources, chart values) and what one
pod needs from a node: GPUs and tolerations. Pure helpers for `validate/` and the units' checks."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from .meta import Obj
from .quantity import parse

GPU = "nvidia.com/gpu"


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


def _gpus(container: dict) -> Decimal:
    res = container.get("resources") or {}
    vals = [parse(v) for v in ((res.get("limits") or {}).get(GPU), (res.get("requests") or {}).get(GPU)) if v is not None]
    return max(vals, default=Decimal(0))


def pod_gpus(spec: dict) -> Decimal:
    """GPUs one pod needs: its containers (plus sidecar init containers), or its largest init container."""
    inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    sidecars = [c for c in inits if c.get("restartPolicy") == "Always"]
    running = sum((_gpus(c) for c in (spec.get("containers") or []) + sidecars if isinstance(c, dict)), Decimal(0))
    return max([running] + [_gpus(c) for c in inits])


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
