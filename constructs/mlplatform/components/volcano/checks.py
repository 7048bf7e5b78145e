"""Checks about Volcano over a rendered env: the queues work names, their GPU budget, who uses it.

Run over what the builders emitted (objects, chart values, and the manifests embedded in
ConfigMaps as templates, such as the example TrainJobs), never over the config:

* every queue named anywhere -- the annotation `scheduling.volcano.sh/queue-name` or the label
  `volcano.sh/queue-name` at any depth (Namespaces, pod templates, runtimes, RayClusters, Trainer
  runtime patches), `spec.queue` of Volcano kinds, `schedulingPolicy.queue` and
  `batchSchedulerOptions.queue` -- is a Queue of this env;
* the queues' `capability["nvidia.com/gpu"]` add up to no more than the GPU NodePools'
  `limits["nvidia.com/gpu"]`, unless `volcano.gpu_overcommit`;
* whatever uses Volcano (`schedulerName: volcano`, a queue, `podGroupPolicy.volcano`, a Ray
  object labelled `ray.io/scheduler-name: volcano`, KubeRay values `batchScheduler.name:
  volcano`: the ways its clients hand work to it) has the Volcano chart in this env.

Whether a client is set up for Volcano (a Trainer runtime's gang, KubeRay's batch scheduler) is
that client's own check. Problems read `env/component/Kind/name: message` (or `env/crosscheck: message`).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from ...kit.checks import RenderedEnv, find, group, path, walk, where, with_embedded
from ...kit.meta import Obj
from ...kit.nodepools import node_pools
from ...kit.quantity import parse
from .objects import CHART, QUEUE_ANNOTATION, QUEUE_LABEL, SCHEDULER_NAME

GPU = "nvidia.com/gpu"
QUEUE_KEYS = (QUEUE_ANNOTATION, QUEUE_LABEL)
GROUPS = ("scheduling.volcano.sh", "batch.volcano.sh")
# dict keys whose `queue` field names a Volcano queue (Training Operator v1, Spark operator)
QUEUE_PARENTS = ("schedulingPolicy", "batchSchedulerOptions")
# How KubeRay hands Ray pods to Volcano (its objects' label, its operator's values).
RAY_KINDS = ("RayCluster", "RayJob", "RayService")
RAY_SCHEDULER_LABEL = "ray.io/scheduler-name"
KUBERAY_CHART = "kuberay-operator"

_QUEUE_KEYS = frozenset(QUEUE_KEYS) | {"queue"}


def queue_refs(obj: Obj) -> Iterable[tuple[str, str]]:
    """(path, queue name) of every queue an object names."""
    volcano_kind = group(obj) in GROUPS
    for trail, key, value in find(obj, _QUEUE_KEYS):
        if not isinstance(value, str):
            continue
        p = path(trail)
        if key in QUEUE_KEYS:
            yield p, value
        elif key == "queue" and (p == "spec.queue" and volcano_kind
                                 or any(f"{q}.queue" in p for q in QUEUE_PARENTS)):
            yield p, value


def queues(r: RenderedEnv) -> dict[str, Obj]:
    """The Volcano Queues of a rendered env (templates embedded in ConfigMaps included), by name."""
    return {o["metadata"]["name"]: o for _, o in with_embedded(r)
            if o.get("kind") == "Queue" and group(o) == "scheduling.volcano.sh"}


def queue_gpus(q: Obj) -> Decimal | None:
    """The GPUs a Queue may hold at once (`capability["nvidia.com/gpu"]`); None when it sets no cap."""
    cap = (q.get("spec") or {}).get("capability") or {}
    return parse(cap[GPU]) if GPU in cap else None


def _n(d: Decimal) -> str:
    return format(d.normalize(), "f")


def check_queue_refs(r: RenderedEnv) -> list[str]:
    known = queues(r)
    out = []
    for comp, o in with_embedded(r):
        for p, name in queue_refs(o):
            if name not in known:
                out.append(f"{where(r, comp, o)}: {p} names Volcano queue {name!r}, which no Queue "
                           f"in env {r.env.name} defines ({', '.join(sorted(known)) or 'none'})")
    for comp, rel in sorted(r.helm.items()):
        for p, key, value, _ in walk(rel.values):
            if key in QUEUE_KEYS and isinstance(value, str) and value not in known:
                out.append(f"{r.env.name}/{comp}/HelmRelease/{rel.release}: values.{p} names Volcano queue "
                           f"{value!r}, which no Queue in env {r.env.name} defines")
    return out


def check_gpu_budget(r: RenderedEnv) -> list[str]:
    env = r.env
    qs = {n: g for n, q in queues(r).items() if (g := queue_gpus(q)) is not None and g > 0}
    if not qs or getattr(getattr(env, "volcano", None), "gpu_overcommit", False):
        return []
    limits = {p.name: p.gpu_limit for p in node_pools(r.components, env.name) if p.offers_gpus}
    total = sum(qs.values(), Decimal(0))
    detail = ", ".join(f"{n} {_n(g)}" for n, g in sorted(qs.items()))
    if not limits:
        return [f"{env.name}/crosscheck: Volcano queues hold {_n(total)} {GPU} ({detail}) but no NodePool "
                f"launches GPU instances"]
    if any(v is None for v in limits.values()):
        return []  # an unlimited GPU pool takes any budget
    cap = sum(limits.values(), Decimal(0))
    if total > cap:
        return [f"{env.name}/crosscheck: Volcano queues' GPU capabilities add up to {_n(total)} ({detail}) but the "
                f"GPU NodePools allow {_n(cap)} ({', '.join(f'{n} {_n(v)}' for n, v in sorted(limits.items()))}): "
                f"lower the queues or the budgets, raise gpu_pool.gpu_limit, or set volcano.gpu_overcommit"]
    return []


def _uses_scheduler(obj: Obj) -> list[str]:
    """Paths under `spec` that say `schedulerName: volcano`."""
    return [path(t) for t, _, v in find(obj.get("spec"), frozenset({"schedulerName"})) if v == SCHEDULER_NAME]


def _gang(obj: Obj) -> bool:
    """The object asks its operator for a Volcano PodGroup (`spec.podGroupPolicy.volcano`)."""
    spec = obj.get("spec") or {}
    return isinstance(spec.get("podGroupPolicy"), dict) and "volcano" in spec["podGroupPolicy"]


def _ray_wants_volcano(obj: Obj) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return obj.get("kind") in RAY_KINDS and (labels.get(RAY_SCHEDULER_LABEL) == SCHEDULER_NAME
                                             or any(k in labels for k in QUEUE_KEYS))


def _kuberay_uses_volcano(values: dict) -> bool:
    b = values.get("batchScheduler") or {}
    return b.get("name") == SCHEDULER_NAME or b.get("enabled") is True


def check_users(r: RenderedEnv) -> list[str]:
    env = r.env.name
    users: list[str] = []
    for comp, o in with_embedded(r):
        named = list(queue_refs(o))
        if _uses_scheduler(o) or _gang(o) or _ray_wants_volcano(o) or (named and o.get("kind") != "Queue"):
            users.append(where(r, comp, o))
    for comp, rel in sorted(r.helm.items()):
        if rel.chart == KUBERAY_CHART and _kuberay_uses_volcano(rel.values):
            users.append(f"{env}/{comp}/HelmRelease/{rel.release}")
    if users and not any(rel.chart == CHART for rel in r.helm.values()):
        return [f"{env}/crosscheck: Volcano is used ({', '.join(users[:3])}{' ...' if len(users) > 3 else ''}) "
                f"but the env does not install it (volcano.enabled)"]
    return []


def checks(r: RenderedEnv) -> list[str]:
    """Every problem about Volcano in one rendered env."""
    return check_queue_refs(r) + check_gpu_budget(r) + check_users(r)
