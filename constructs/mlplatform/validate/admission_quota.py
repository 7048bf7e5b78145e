"""ResourceQuota / LimitRange admission for `admission.py`: what the quota admission plugin charges a
pod (LimitRange defaults applied first; init containers charged by their maximum), and which
ResourceQuota limits that exceeds."""
from __future__ import annotations

from typing import NamedTuple

from ..kit.meta import Obj

# ResourceQuota `hard` keys a container's resources count against (a bare `cpu` is `requests.cpu`).
QUOTA_KEYS = {"requests.cpu": ("requests", "cpu"), "requests.memory": ("requests", "memory"),
              "limits.cpu": ("limits", "cpu"), "limits.memory": ("limits", "memory"),
              "cpu": ("requests", "cpu"), "memory": ("requests", "memory")}


def quantity(v) -> "Decimal | None":
    from ..kit.quantity import parse
    try:
        return parse(v)
    except (ValueError, TypeError):
        return None


def pod_totals(spec: dict, defaults: dict[str, dict[str, str]]) -> tuple[dict[str, "Decimal"], list[str]]:
    """(per-pod totals keyed like a quota's `hard`, containers missing a quota'd value): what the
    quota admission plugin charges a pod, with LimitRange defaults applied first."""
    from decimal import Decimal
    totals: dict[str, Decimal] = {}
    missing: list[str] = []

    def charge(containers: list, init: bool) -> dict[str, Decimal]:
        acc: dict[str, Decimal] = {}
        for c in containers or []:
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                vals = dict(defaults.get(part, {}))
                vals.update(res.get(part) or {})
                if part == "requests":  # a limit without a request defaults the request to the limit
                    for k, v in (res.get("limits") or {}).items():
                        vals.setdefault(k, v)
                for k, v in vals.items():
                    q = quantity(v)
                    if q is not None:
                        key = f"{part}.{k}"
                        acc[key] = max(acc.get(key, Decimal(0)), q) if init else acc.get(key, Decimal(0)) + q
                for k in ("cpu", "memory"):
                    if k not in vals:
                        missing.append(f"container {c.get('name')!r} has no {part}.{k}")
        return acc

    main = charge(spec.get("containers") or [], False)
    init = charge(spec.get("initContainers") or [], True)
    for k in set(main) | set(init):
        totals[k] = max(main.get(k, Decimal(0)), init.get(k, Decimal(0)))
    totals["pods"] = Decimal(1)  # what `pods` / `count/pods` count
    return totals, missing


def limit_defaults(objs: list[Obj]) -> dict[str, dict[str, dict[str, str]]]:
    out: dict[str, dict[str, dict[str, str]]] = {}
    for o in objs:
        if o.get("kind") != "LimitRange":
            continue
        ns = (o.get("metadata") or {}).get("namespace")
        for lim in (o.get("spec") or {}).get("limits") or []:
            if lim.get("type") == "Container":
                d = out.setdefault(ns, {"requests": {}, "limits": {}})
                d["requests"].update(lim.get("defaultRequest") or {})
                d["limits"].update(lim.get("default") or {})
    return out


class Quota(NamedTuple):
    """One ResourceQuota: its limits and the pods it tracks (all, unless `scopes`/`scopeSelector`)."""

    name: str
    hard: dict
    scopes: tuple[str, ...] = ()
    selector: tuple[dict, ...] = ()  # spec.scopeSelector.matchExpressions

    def applies_to(self, pod: dict) -> bool:
        """What the quota admission plugin decides: the pod is charged only if it matches every scope
        (BestEffort, NotBestEffort, Terminating, NotTerminating, PriorityClass; selector operators
        In, NotIn, Exists, DoesNotExist)."""
        terms = [{"scopeName": s, "operator": "Exists"} for s in self.scopes] + list(self.selector)
        return all(_scope_matches(term, pod) for term in terms)


def _best_effort(pod: dict) -> bool:
    return all(not (c.get("resources") or {}).get("requests") and not (c.get("resources") or {}).get("limits")
               for key in ("containers", "initContainers") for c in pod.get(key) or [])


def _scope_matches(term: dict, pod: dict) -> bool:
    scope, op, values = term.get("scopeName"), term.get("operator"), set(term.get("values") or [])
    if scope == "PriorityClass":
        pc = pod.get("priorityClassName")
        return {"In": pc in values, "NotIn": pc not in values, "Exists": bool(pc),
                "DoesNotExist": not pc}.get(op, False)
    has = {"BestEffort": _best_effort(pod), "NotBestEffort": not _best_effort(pod),
           "Terminating": pod.get("activeDeadlineSeconds") is not None,
           "NotTerminating": pod.get("activeDeadlineSeconds") is None}.get(scope)
    if has is None:  # CrossNamespacePodAffinity and scopes we don't model: assume it tracks the pod
        return True
    return has if op in ("Exists", None) else not has


def resource_quotas(objs: list[Obj]) -> dict[str, list[Quota]]:
    out: dict[str, list[Quota]] = {}
    for o in objs:
        if o.get("kind") == "ResourceQuota":
            md, spec = o.get("metadata") or {}, o.get("spec") or {}
            out.setdefault(md.get("namespace"), []).append(Quota(
                md.get("name"), spec.get("hard") or {}, tuple(spec.get("scopes") or ()),
                tuple((spec.get("scopeSelector") or {}).get("matchExpressions") or ())))
    return out


def _fmt(key: str, d) -> str:
    from decimal import Decimal
    if ("memory" in key or "storage" in key) and d >= 2 ** 20:
        for unit, size in (("Gi", Decimal(2) ** 30), ("Mi", Decimal(2) ** 20)):
            if d % size == 0 or unit == "Mi":
                return f"{format((d / size).normalize(), 'f')}{unit}"
    return format(d.normalize(), "f")


def exceeds(totals: dict, hard: dict, times: int = 1) -> list[str]:
    out = []
    for key, limit in sorted(hard.items()):
        k = ("pods" if key in ("pods", "count/pods") else
             key if key.startswith(("requests.", "limits.")) else f"requests.{key}")
        if k not in totals:
            continue
        cap = quantity(limit)
        if cap is not None and totals[k] * times > cap:
            out.append(f"{key} {_fmt(key, totals[k] * times)} > {limit}")
    return out
