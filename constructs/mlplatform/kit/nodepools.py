"""Karpenter NodePools as facts, and whether a GPU pod fits one of them.

A pod template (any dict with a `containers` list: Deployments, StatefulSets, Jobs, DaemonSets
and custom resources that embed pod templates) is a *GPU pod* when it requests or limits
`nvidia.com/gpu` or tolerates the `nvidia.com/gpu` taint. It must fit at least one NodePool of
the env, as Karpenter would judge it when launching a node:

- every NoSchedule/NoExecute taint of the pool is tolerated;
- its `nodeSelector` and required node affinity are satisfiable by the pool's template labels
  and requirements; a label the pool neither sets nor constrains counts only if every node
  carries it anyway (well-known instance/topology labels) -- a label such as
  `nvidia.com/gpu.product`, set by GPU feature discovery after the node joined, gives Karpenter
  nothing to launch for (DaemonSets excepted: they only ever land on existing nodes);
- the pool launches GPU instances at all, and the GPUs one pod asks for fit both the pool's
  `limits["nvidia.com/gpu"]` and its largest instance (`instance-gpu-count`);
- MIG slices (`nvidia.com/mig-<profile>`) are their own resource, not fractions of a GPU: a pod
  asking for a slice fits only a pool whose nodes advertise it, as the pool's NodeOverlays
  (`karpenter.sh/v1alpha1`, what Karpenter adds to its simulation of an instance; see
  components/node_pools/overlays.py) say, and no more of it than one node advertises; a pool
  whose overlays advertise slices has its GPUs partitioned, so it runs no `nvidia.com/gpu` pod.

`unschedulable` judges pods against the pools and says why each pool refused a pod:
`validate/scheduling.py` over every pod template of the env, the units' checks over the pods
their controllers will make (a TrainJob's pods from its runtime).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .instances import GPU_INSTANCE_CATEGORIES, gpus_per_node_cap, instance_category, instance_generation
from .meta import Obj
from .pods import GPU, MIG_PREFIX, pod_gpu_resources, tolerates, tolerates_gpu_taint
from .quantity import parse

CATEGORY = "karpenter.k8s.aws/instance-category"
FAMILY = "karpenter.k8s.aws/instance-family"
GENERATION = "karpenter.k8s.aws/instance-generation"
SIZE = "karpenter.k8s.aws/instance-size"
GPU_COUNT = "karpenter.k8s.aws/instance-gpu-count"
GPU_MANUFACTURER = "karpenter.k8s.aws/instance-gpu-manufacturer"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
NODEPOOL = "karpenter.sh/nodepool"
NODECLASS = "karpenter.k8s.aws/ec2nodeclass"

# Labels every node Karpenter launches carries, whatever the pool says (values from the instance).
WELL_KNOWN = frozenset({
    "topology.kubernetes.io/zone", "topology.kubernetes.io/region", "topology.k8s.aws/zone-id",
    INSTANCE_TYPE, "kubernetes.io/arch", "kubernetes.io/os", "kubernetes.io/hostname",
    "karpenter.sh/capacity-type", NODEPOOL, NODECLASS,
})
WELL_KNOWN_PREFIXES = ("karpenter.k8s.aws/instance-", "karpenter.k8s.aws/capacity-reservation-")
# Set on GPU nodes at runtime by NFD / GPU feature discovery: fine for DaemonSets, useless to
# Karpenter when it decides what to launch.
RUNTIME_GPU_PREFIXES = ("nvidia.com/", "feature.node.kubernetes.io/")


@dataclass
class Pool:
    name: str
    labels: dict[str, str]
    requirements: list[tuple[str, str, list[str]]]
    taints: list[dict]
    gpu_limit: Decimal | None  # None: the pool sets no nvidia.com/gpu limit
    offers_gpus: bool
    max_gpus_per_node: int | None = None
    max_gpus_why: str = ""  # where max_gpus_per_node comes from
    where: str = ""
    slices: dict[str, int] = field(default_factory=dict)  # MIG resource -> most of it on one node (NodeOverlays)

    def reqs(self, key: str) -> list[tuple[str, list[str]]]:
        return [(op, vals) for k, op, vals in self.requirements if k == key]


@dataclass
class PodSpec:
    where: str  # env/component/Kind/name
    path: str
    kind: str
    spec: dict
    gpus: Decimal = Decimal(0)
    slices: dict[str, Decimal] = field(default_factory=dict)  # MIG resource -> how many one pod asks


# --------------------------------------------------------------------------- pools
def _int(v: Any) -> int | None:
    try:
        return int(str(v))
    except ValueError:
        return None


def _pool(obj: Obj, where: str) -> Pool:
    spec = obj.get("spec") or {}
    tmpl = spec.get("template") or {}
    tspec = tmpl.get("spec") or {}
    name = (obj.get("metadata") or {}).get("name", "")
    labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
    labels[NODEPOOL] = name
    ref = tspec.get("nodeClassRef") or {}
    if ref.get("name"):
        labels[NODECLASS] = ref["name"]
    reqs = [(r.get("key", ""), r.get("operator", ""), [str(v) for v in r.get("values") or []])
            for r in tspec.get("requirements") or []]
    limits = spec.get("limits") or {}
    gpu_limit = parse(limits[GPU]) if GPU in limits else None
    pool = Pool(name=name, labels=labels, requirements=reqs, taints=list(tspec.get("taints") or []),
                gpu_limit=gpu_limit, offers_gpus=False, where=where)
    pool.offers_gpus = _offers_gpus(pool)
    pool.max_gpus_per_node = _max_gpus(pool)
    pool.max_gpus_why = GPU_COUNT
    if pool.max_gpus_per_node is None and pool.offers_gpus:
        derived = _derived_max_gpus(pool)
        if derived is not None:
            pool.max_gpus_per_node, pool.max_gpus_why = derived
    return pool


def _derived_max_gpus(p: Pool) -> tuple[int, str] | None:
    """Without an instance-gpu-count bound: the largest instance of the families (or categories and
    generations) the pool's requirements allow, from kit/instances.py; None when that is unknown."""
    def values(key: str) -> list[str] | None:
        ins = [vals for op, vals in p.reqs(key) if op == "In"]
        return sorted(set(ins[0]).intersection(*ins[1:])) if ins else None
    gens = [n for op, vals in p.reqs(GENERATION) if op in ("Gt", "Gte") and vals
            for n in [(_int(vals[0]) or 0) + (1 if op == "Gt" else 0)]]
    categories = values(CATEGORY) or list(GPU_INSTANCE_CATEGORIES)
    return gpus_per_node_cap(categories, values(FAMILY) or [], values(SIZE), max(gens) if gens else None, None)


def _offers_gpus(p: Pool) -> bool:
    """Whether every instance the pool may launch has NVIDIA GPUs (as far as its requirements say)."""
    if p.gpu_limit is not None and p.gpu_limit <= 0:
        return False
    for op, vals in p.reqs(GPU_MANUFACTURER):
        if op == "In" and vals == ["nvidia"]:
            return True
    for op, vals in p.reqs(CATEGORY) + [(op, [instance_category(v) for v in vals]) for op, vals in p.reqs(FAMILY)]:
        if op == "In" and vals and set(vals) <= set(GPU_INSTANCE_CATEGORIES):
            return True
    for op, vals in p.reqs(GPU_COUNT):
        n = _int(vals[0]) if vals else None
        if n is not None and ((op == "Gt" and n >= 0) or (op == "Gte" and n >= 1)):
            return True
    return False


def _max_gpus(p: Pool) -> int | None:
    best: int | None = None
    for op, vals in p.reqs(GPU_COUNT):
        ns = [n for n in (_int(v) for v in vals) if n is not None]
        cap = {"Lt": (ns[0] - 1) if ns else None, "Lte": ns[0] if ns else None,
               "In": max(ns) if ns and op == "In" else None}.get(op)
        if cap is not None:
            best = cap if best is None else min(best, cap)
    return best


def node_pools(objs_by_component: dict[str, list[Obj]], env: str) -> list[Pool]:
    pools = [_pool(o, f"{env}/{comp}/NodePool/{o['metadata']['name']}")
             for comp, objs in sorted(objs_by_component.items()) for o in objs
             if o.get("kind") == "NodePool" and str(o.get("apiVersion", "")).startswith("karpenter.sh/")]
    by_name = {p.name: p for p in pools}
    for objs in objs_by_component.values():
        for o in objs:
            if o.get("kind") == "NodeOverlay" and str(o.get("apiVersion", "")).startswith("karpenter.sh/"):
                _overlay_slices(o, by_name)
    return pools


def _overlay_slices(o: Obj, pools: dict[str, Pool]) -> None:
    """Record the MIG slices a NodeOverlay adds to the instances of the pools it names
    (`karpenter.sh/nodepool In [...]`); an overlay naming no pool matches every pool's instances."""
    spec = o.get("spec") or {}
    capacity = {k: _int(v) for k, v in (spec.get("capacity") or {}).items() if str(k).startswith(MIG_PREFIX)}
    names: list[str] | None = None
    for r in spec.get("requirements") or []:
        if r.get("key") == NODEPOOL and r.get("operator") == "In":
            names = [str(v) for v in r.get("values") or []]
    for name in (names if names is not None else list(pools)):
        if name in pools:
            for k, n in capacity.items():
                if n is not None:
                    pools[name].slices[k] = max(pools[name].slices.get(k, 0), n)


# --------------------------------------------------------------------------- label satisfiability
def _known(key: str) -> bool:
    return key in WELL_KNOWN or key.startswith(WELL_KNOWN_PREFIXES)


def _bounds(op: str, n: int) -> tuple[int | None, int | None]:
    return {"Gt": (n + 1, None), "Gte": (n, None), "Lt": (None, n - 1), "Lte": (None, n)}[op]


def _req_allows(op: str, vals: list[str], v: str) -> bool:
    if op == "In":
        return v in vals
    if op == "NotIn":
        return v not in vals
    if op == "Exists":
        return True
    if op == "DoesNotExist":
        return False
    n, x = (_int(vals[0]) if vals else None), _int(v)
    if op in ("Gt", "Gte", "Lt", "Lte") and n is not None and x is not None:
        lo, hi = _bounds(op, n)
        return (lo is None or x >= lo) and (hi is None or x <= hi)
    return False


def _value_ok(p: Pool, key: str, v: str, *, runtime_ok: bool) -> str | None:
    """None if a node of pool `p` can carry label key=v; otherwise why not."""
    if key in p.labels:
        return None if p.labels[key] == v else f"{key}={v}: the pool's nodes are labelled {key}={p.labels[key]}"
    for op, vals in p.reqs(key):
        if not _req_allows(op, vals, v):
            return f"{key}={v}: the pool requires {key} {op} {vals}"
    # What an instance-type / family name implies about the pool's other requirements.
    if key == INSTANCE_TYPE:
        family, _, size = v.partition(".")
        for k, x in ((FAMILY, family), (SIZE, size)):
            if x and (why := _value_ok(p, k, x, runtime_ok=runtime_ok)):
                return f"{key}={v}: {why}"
    if key == FAMILY:
        for k, x in ((CATEGORY, instance_category(v)), (GENERATION, str(instance_generation(v) or ""))):
            if x and (why := _value_ok(p, k, x, runtime_ok=runtime_ok)):
                return f"{key}={v}: {why}"
    if p.reqs(key) or _known(key):
        return None
    return _unknown(p, key, runtime_ok)


def _unknown(p: Pool, key: str, runtime_ok: bool) -> str | None:
    if key.startswith(RUNTIME_GPU_PREFIXES):
        if runtime_ok and p.offers_gpus:
            return None
        return (f"{key} is set by GPU/node feature discovery after a node joins, so Karpenter cannot launch "
                f"a node for it (select karpenter.k8s.aws/instance-gpu-name or instance-family instead)")
    return f"{key} is neither a label of the pool's nodes nor a well-known node label"


def _expr_ok(p: Pool, key: str, op: str, vals: list[str], *, runtime_ok: bool) -> str | None:
    """None if the node selector requirement (key op vals) can hold on a node of pool `p`."""
    desc = f"{key} {op} {vals}" if vals else f"{key} {op}"
    if op == "In":
        whys = [_value_ok(p, key, v, runtime_ok=runtime_ok) for v in vals]
        return None if any(w is None for w in whys) else (whys[0] if len(whys) == 1 else f"{desc}: no value fits")
    label_always = key in p.labels or _known(key) or bool(p.reqs(key))
    if op == "NotIn":
        if key in p.labels:
            return None if p.labels[key] not in vals else f"{desc}: the pool's nodes are labelled {key}={p.labels[key]}"
        for rop, rvals in p.reqs(key):
            if rop == "In" and set(rvals) <= set(vals):
                return f"{desc}: the pool allows only {rvals}"
        return None
    if op == "Exists":
        if any(rop == "DoesNotExist" for rop, _ in p.reqs(key)):
            return f"{desc}: the pool requires {key} DoesNotExist"
        if label_always:
            return None
        return _unknown(p, key, runtime_ok)
    if op == "DoesNotExist":
        if key in p.labels or any(rop != "DoesNotExist" for rop, _ in p.reqs(key)) or _known(key):
            return f"{desc}: every node of the pool carries {key}"
        return None
    if op in ("Gt", "Lt", "Gte", "Lte"):
        n = _int(vals[0]) if vals else None
        if n is None:
            return f"{desc}: needs one integer value"
        if key in p.labels:
            return None if _req_allows(op, [str(n)], p.labels[key]) else f"{desc}: the pool's nodes are labelled {key}={p.labels[key]}"
        ins = [rvals for rop, rvals in p.reqs(key) if rop == "In"]
        if ins:
            ok = any(_req_allows(op, [str(n)], v) and _value_ok(p, key, v, runtime_ok=runtime_ok) is None for v in ins[0])
            return None if ok else f"{desc}: the pool allows only {ins[0]}"
        lo, hi = _bounds(op, n)
        for rop, rvals in p.reqs(key):
            m = _int(rvals[0]) if rvals else None
            if rop in ("Gt", "Gte", "Lt", "Lte") and m is not None:
                rlo, rhi = _bounds(rop, m)
                lo = rlo if lo is None else (lo if rlo is None else max(lo, rlo))
                hi = rhi if hi is None else (hi if rhi is None else min(hi, rhi))
        if lo is not None and hi is not None and lo > hi:
            return f"{desc}: outside the pool's range for {key}"
        return None if label_always else _unknown(p, key, runtime_ok)
    return f"{desc}: unknown operator"


# --------------------------------------------------------------------------- pods
def fit(pod: PodSpec, p: Pool) -> list[str]:
    """Why pool `p` can't run the pod (empty: it can)."""
    why: list[str] = []
    spec, runtime_ok = pod.spec, pod.kind == "DaemonSet"
    if pod.gpus > 0 or pod.slices:
        if not p.offers_gpus:
            return ["launches no NVIDIA GPU instances"]
    for res, n in sorted(pod.slices.items()):
        most = p.slices.get(res)
        if most is None:
            why.append(f"its nodes advertise no {res}" + (f" (its MIG slices: {', '.join(sorted(p.slices))})"
                                                          if p.slices else " (no NodeOverlay gives it MIG slices)"))
        elif n > most:
            why.append(f"one pod needs {_n(n)} {res} but a node of the pool advertises at most {most} (NodeOverlay)")
    if pod.gpus > 0 and p.slices:
        why.append(f"its GPUs are partitioned into MIG slices ({', '.join(sorted(p.slices))}): its nodes advertise "
                   f"no {GPU}")
    if pod.gpus > 0:
        if p.gpu_limit is not None and pod.gpus > p.gpu_limit:
            why.append(f"one pod needs {_n(pod.gpus)} {GPU} but the pool's limit is {_n(p.gpu_limit)}")
        if p.max_gpus_per_node is not None and pod.gpus > p.max_gpus_per_node:
            why.append(f"one pod needs {_n(pod.gpus)} {GPU} but the pool's largest instance has "
                       f"{p.max_gpus_per_node} ({p.max_gpus_why})")
    for t in p.taints:
        if t.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(spec.get("tolerations") or [], t):
            taint = t.get("key", "") + (f"={t['value']}" if t.get("value") else "") + f":{t.get('effect')}"
            why.append(f"does not tolerate the pool's taint {taint}")
    for k, v in sorted((spec.get("nodeSelector") or {}).items()):
        if (w := _expr_ok(p, k, "In", [str(v)], runtime_ok=runtime_ok)) is not None:
            why.append(f"nodeSelector {w}")
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if terms:
        term_whys: list[str] = []
        for i, term in enumerate(terms):
            ws = [w for e in term.get("matchExpressions") or []
                  if (w := _expr_ok(p, e.get("key", ""), e.get("operator", ""), [str(x) for x in e.get("values") or []],
                                    runtime_ok=runtime_ok)) is not None]
            if not ws:
                break
            term_whys.append(f"term {i}: {ws[0]}")
        else:
            why.append("required nodeAffinity: " + "; ".join(term_whys))
    return why


def _n(d: Decimal) -> str:
    return format(d.normalize(), "f")


def unschedulable(env: str, pools: list[Pool], candidates: list[tuple[str, str, str, dict]]) -> list[str]:
    """Problems `<where>: <path>: ...` for the GPU pods among `candidates` (where, kind, path, pod
    spec) that no pool of env `env` can run; pods neither asking for GPUs nor tolerating the GPU
    taint are not judged."""
    problems: list[str] = []
    for where, kind, path, spec in candidates:
        try:
            asks = pod_gpu_resources(spec)
        except ValueError as e:
            problems.append(f"{where}: {path}: {GPU}: {e}")
            continue
        gpus = asks.pop(GPU, Decimal(0))
        if gpus <= 0 and not asks and not tolerates_gpu_taint(spec):
            continue
        pod = PodSpec(where=where, path=path, kind=kind, spec=spec, gpus=gpus, slices=asks)
        wanted = ([f"{_n(gpus)} {GPU}"] if gpus > 0 else []) + [f"{_n(n)} {k}" for k, n in sorted(asks.items())]
        what = f"pod requesting {', '.join(wanted)}" if wanted else f"pod tolerating the {GPU} taint"
        if wanted and not any(p.offers_gpus for p in pools):
            problems.append(f"{where}: {path}: {what}, but no NodePool in env {env} launches NVIDIA GPU instances")
            continue
        if not pools:
            problems.append(f"{where}: {path}: {what}, but env {env} has no NodePool")
            continue
        refusals = {p.name: fit(pod, p) for p in pools}
        if all(refusals.values()):
            detail = " | ".join(f"NodePool {n}: {'; '.join(w)}" for n, w in sorted(refusals.items()))
            problems.append(f"{where}: {path}: {what} fits no NodePool: {detail}")
    return problems
