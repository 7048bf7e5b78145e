"""Checks about Kubeflow Trainer over a rendered env: runtimes set up for Volcano, TrainJobs that can run.

Run over what the builders emitted, the example TrainJobs embedded in ConfigMaps included:

* a Trainer runtime pairs `schedulerName: volcano` on its pods with `podGroupPolicy.volcano`
  (either alone is no gang);
* every TrainJob (live or a template in a ConfigMap) names a runtime this env offers, its GPU
  pods fit a NodePool (`kit/nodepools.py`, on the pod the runtime and the job make together)
  and its whole gang fits the GPU capability of the Volcano queue it lands in (else it would
  wait forever).

Problems read `env/component/Kind/name: message`.
"""
from __future__ import annotations

import copy
from decimal import Decimal

from ...kit.checks import RenderedEnv, find, group, where, with_embedded
from ...kit.meta import Obj
from ...kit.nodepools import node_pools, unschedulable
from ...kit.pods import GPU, pod_gpus, pod_specs
from .. import volcano
from .objects import ANCESTOR_LABEL, GROUP

RUNTIME_KINDS = ("ClusterTrainingRuntime", "TrainingRuntime")


def _n(d: Decimal) -> str:
    return format(d.normalize(), "f")


def check_runtimes(r: RenderedEnv) -> list[str]:
    """Runtimes whose pods and PodGroup policy disagree about Volcano."""
    out: list[str] = []
    for comp, o in with_embedded(r):
        if o.get("kind") not in RUNTIME_KINDS or group(o) != GROUP:
            continue
        spec = o.get("spec") or {}
        gang = isinstance(spec.get("podGroupPolicy"), dict) and "volcano" in spec["podGroupPolicy"]
        sched = any(v == volcano.SCHEDULER_NAME for _, _, v in find(spec, frozenset({"schedulerName"})))
        if gang and any(p.get("schedulerName") != volcano.SCHEDULER_NAME for _, p in pod_specs(o)):
            out.append(f"{where(r, comp, o)}: podGroupPolicy.volcano, but its pods do not say schedulerName: volcano "
                       f"(the default scheduler would place them one by one, ignoring the gang)")
        if sched and not gang:
            out.append(f"{where(r, comp, o)}: pods use schedulerName: volcano without podGroupPolicy.volcano "
                       f"(Trainer creates no PodGroup: no gang, and no queue but Volcano's default)")
    return out


def _strategic_containers(base: list[dict], patch: list[dict]) -> list[dict]:
    by_name = {c.get("name"): copy.deepcopy(c) for c in base}
    for c in patch:
        by_name[c.get("name")] = {**by_name.get(c.get("name"), {}), **c}
    return list(by_name.values())


def trainjob_pods(job: Obj, rt: Obj) -> list[tuple[str, dict, int]]:
    """(replicated job, pod spec, pod count) the TrainJob and its runtime make together: the
    trainer step gets numNodes pods, the job's image/command/env/resourcesPerNode on the `node`
    container; other steps keep the runtime's pod and parallelism."""
    spec, rspec = job.get("spec") or {}, rt.get("spec") or {}
    trainer = spec.get("trainer") or {}
    nodes = int(trainer.get("numNodes") or (rspec.get("mlPolicy") or {}).get("numNodes") or 1)
    out = []
    for rj in (((rspec.get("template") or {}).get("spec") or {}).get("replicatedJobs") or []):
        tmpl = rj.get("template") or {}
        pod = copy.deepcopy((((tmpl.get("spec") or {}).get("template") or {}).get("spec")) or {})
        is_trainer = ((tmpl.get("metadata") or {}).get("labels") or {}).get(ANCESTOR_LABEL) == "trainer"
        if is_trainer:
            override = {k: trainer[k] for k in ("image", "command", "args") if k in trainer}
            if "resourcesPerNode" in trainer:
                override["resources"] = trainer["resourcesPerNode"]
            pod["containers"] = _strategic_containers(pod.get("containers") or [], [{"name": "node", **override}])
        count = nodes if is_trainer else int((tmpl.get("spec") or {}).get("parallelism") or 1) * int(rj.get("replicas") or 1)
        out.append((str(rj.get("name")), pod, count))
    return out


def _trainjob_queue(job: Obj, rt: Obj, ns_queue: dict[str, str]) -> str:
    key = volcano.QUEUE_ANNOTATION
    queue = (((rt.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations", {}).get(key)
    for p in (job.get("spec") or {}).get("runtimePatches") or []:
        md = (((p.get("trainingRuntimeSpec") or {}).get("template") or {}).get("metadata") or {})
        queue = (md.get("annotations") or {}).get(key, queue)
    if not queue or queue == "default":  # the PodGroup CRD default, replaced by the namespace's queue
        return ns_queue.get((job.get("metadata") or {}).get("namespace", ""), "default")
    return queue


def check_trainjobs(r: RenderedEnv) -> list[str]:
    env = r.env.name
    objs = with_embedded(r)
    runtimes = {(o["kind"], (o.get("metadata") or {}).get("namespace"), o["metadata"]["name"]): o
                for _, o in objs if o.get("kind") in RUNTIME_KINDS and group(o) == GROUP}
    ns_queue = {}
    for _, o in objs:
        annotations = (o.get("metadata") or {}).get("annotations") or {}
        if o.get("kind") == "Namespace" and volcano.QUEUE_ANNOTATION in annotations:
            ns_queue[o["metadata"]["name"]] = annotations[volcano.QUEUE_ANNOTATION]
    known = volcano.queues(r)
    pools = None
    out: list[str] = []
    for comp, job in objs:
        if job.get("kind") != "TrainJob" or group(job) != GROUP:
            continue
        at = where(r, comp, job)
        rref = (job.get("spec") or {}).get("runtimeRef") or {}
        kind = rref.get("kind", "ClusterTrainingRuntime")
        ns = (job.get("metadata") or {}).get("namespace") if kind == "TrainingRuntime" else None
        rt = runtimes.get((kind, ns, rref.get("name")))
        if rt is None:
            out.append(f"{at}: runtimeRef {kind}/{rref.get('name')} is not a runtime of env {env}")
            continue
        pods = trainjob_pods(job, rt)
        # GPU pods of the job, judged against the NodePools like every other pod template.
        pools = node_pools(r.components, env) if pools is None else pools
        candidates = [(at, "PodTemplate", p, spec) for _, pod, _ in pods
                      for p, spec in pod_specs({"spec": {"template": {"spec": pod}}})]
        out += unschedulable(env, pools, candidates)
        queue = _trainjob_queue(job, rt, ns_queue)
        gpus = sum((pod_gpus(pod) * n for _, pod, n in pods), Decimal(0))
        cap = volcano.queue_gpus(known[queue]) if queue in known else None
        if gpus > 0 and cap is not None and gpus > cap:
            out.append(f"{at}: the gang needs {_n(gpus)} {GPU} at once but queue {queue} may hold {_n(cap)}: "
                       f"Volcano would never start it (fewer nodes or GPUs per node)")
        if queue not in known:
            out.append(f"{at}: lands in Volcano queue {queue!r}, which no Queue in env {env} defines")
    return out


def checks(r: RenderedEnv) -> list[str]:
    """Every problem about Kubeflow Trainer in one rendered env."""
    return check_runtimes(r) + check_trainjobs(r)
