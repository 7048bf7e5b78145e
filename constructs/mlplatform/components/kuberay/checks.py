"""Checks about KubeRay over a rendered env, and the Services its operator makes.

* every Ray cluster handed to Volcano names a Queue the env has, and its gang (head, autoscaler
  and every worker group at `minReplicas`) fits that queue's capability: a bigger gang never starts;
* a Ray object handed to Volcano (`ray.io/scheduler-name: volcano` or a queue label) needs a
  kuberay-operator release with `batchScheduler.name: volcano`, else KubeRay makes no PodGroup.

`made_services`: the head and Serve Services KubeRay creates for our RayClusters and RayServices,
which in-cluster URLs (`RAY_ADDRESS`) may name although no manifest of ours declares them.
Problems read `env/component/Kind/name: message` (or `env/crosscheck: ...`).
"""
from __future__ import annotations

from decimal import Decimal

from ...kit import quantity
from ...kit.checks import RenderedEnv, objects, where, with_embedded
from ...kit.meta import Obj, ref
from ...kit.pods import GPU
from .. import volcano
from .names import HEAD_PORTS, SERVE_PORT, head_service, serve_service

CHART = "kuberay-operator"
RAY_KINDS = ("RayCluster", "RayJob", "RayService")
SCHEDULER_LABEL = "ray.io/scheduler-name"


def _is_ray(o: Obj, kinds=("RayCluster", "RayService")) -> bool:
    return o.get("kind") in kinds and str(o.get("apiVersion", "")).startswith("ray.io/")


def _cluster(o: Obj) -> dict:
    """The RayCluster spec of a RayCluster, or of a RayService's `rayClusterConfig`."""
    spec = o.get("spec") or {}
    return (spec.get("rayClusterConfig") or {}) if o["kind"] == "RayService" else spec


def made_services(r: RenderedEnv) -> dict[tuple[str, str], frozenset[int] | None]:
    """(namespace, Service) -> ports of the Services KubeRay makes for the env's Ray objects."""
    out: dict[tuple[str, str], frozenset[int] | None] = {}
    for _, o in objects(r):
        if not _is_ray(o):
            continue
        md = o.get("metadata") or {}
        ns, name = md.get("namespace"), md.get("name", "")
        heads = (_cluster(o).get("headGroupSpec") or {}).get("template", {}).get("spec", {}).get("containers") or []
        ports = {p.get("containerPort") for c in heads[:1] for p in c.get("ports") or []}
        out[(ns, head_service(name))] = frozenset(ports | set(HEAD_PORTS.values()))
        if o["kind"] == "RayService":
            out[(ns, serve_service(name))] = frozenset({SERVE_PORT})
    return out


def _ray_gang(cluster: dict) -> dict[str, Decimal]:
    """Requests of the pods KubeRay puts in a RayCluster's PodGroup (minMember): the head (with the
    autoscaler sidecar) and `minReplicas` pods of every worker group."""
    total = {"cpu": Decimal(0), "memory": Decimal(0), GPU: Decimal(0)}

    def add(containers: list, n: int) -> None:
        for c in containers or []:
            req = (c.get("resources") or {}).get("requests") or {}
            for k in total:
                if k in req:
                    total[k] += n * quantity.parse(req[k])

    head = (cluster.get("headGroupSpec") or {}).get("template", {}).get("spec", {})
    add(head.get("containers"), 1)
    if cluster.get("enableInTreeAutoscaling"):
        add([cluster.get("autoscalerOptions") or {}], 1)
    for g in cluster.get("workerGroupSpecs") or []:
        add(((g.get("template") or {}).get("spec") or {}).get("containers"), int(g.get("minReplicas") or 0))
    return total


def check_queues(r: RenderedEnv) -> list[str]:
    """Ray clusters handed to a Volcano queue: the queue exists and holds the whole gang."""
    out: list[str] = []
    queues = {o["metadata"]["name"]: (o.get("spec") or {}).get("capability") or {}
              for _, o in objects(r) if o.get("kind") == "Queue"
              and str(o.get("apiVersion", "")).startswith("scheduling.volcano.sh/")}
    for comp, o in objects(r):
        if not _is_ray(o):
            continue
        q = ((o.get("metadata") or {}).get("labels") or {}).get(volcano.QUEUE_LABEL)
        if q is None:
            continue
        if q not in queues:
            out.append(f"{comp}/{ref(o)}: Volcano queue {q} does not exist in this env")
            continue
        for k, need in _ray_gang(_cluster(o)).items():
            cap = queues[q].get(k)
            if cap is not None and need > quantity.parse(cap):
                out.append(f"{comp}/{ref(o)}: its gang (head + minReplicas workers) requests {k} "
                           f"{format(need.normalize(), 'f')} but queue {q} holds at most {cap}: it would never start")
    return [f"{r.env.name}/crosscheck: {m}" for m in out]


def _wants_volcano(o: Obj) -> bool:
    labels = (o.get("metadata") or {}).get("labels") or {}
    return o.get("kind") in RAY_KINDS and (labels.get(SCHEDULER_LABEL) == volcano.SCHEDULER_NAME or any(
        k in labels for k in (volcano.QUEUE_ANNOTATION, volcano.QUEUE_LABEL)))


def _operator_uses_volcano(values: dict) -> bool:
    b = values.get("batchScheduler") or {}
    return b.get("name") == volcano.SCHEDULER_NAME or b.get("enabled") is True


def check_volcano_operator(r: RenderedEnv) -> list[str]:
    """Ray objects handed to Volcano need an operator that makes their PodGroups."""
    if any(_operator_uses_volcano(rel.values) for rel in r.helm.values() if rel.chart == CHART):
        return []
    return [f"{where(r, comp, o)}: handed to Volcano ({SCHEDULER_LABEL}/queue label) but no kuberay-operator "
            f"release in env {r.env.name} has batchScheduler.name: volcano (KubeRay would make no PodGroup)"
            for comp, o in with_embedded(r) if _wants_volcano(o)]


def checks(r: RenderedEnv) -> list[str]:
    """Every problem about KubeRay in one rendered env."""
    return check_queues(r) + check_volcano_operator(r)
