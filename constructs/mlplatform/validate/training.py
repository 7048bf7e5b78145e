"""Cross-checks of batch scheduling: Volcano queues, GPU budgets, and who uses Volcano.

Run over what the builders emitted (objects, chart values, and the manifests embedded in
ConfigMaps as templates, such as the example TrainJobs), never over the config:

* every queue named anywhere -- the annotation `scheduling.volcano.sh/queue-name` or the label
  `volcano.sh/queue-name` at any depth (Namespaces, pod templates, runtimes, RayClusters, Trainer
  runtime patches), `spec.queue` of Volcano kinds, `schedulingPolicy.queue` and
  `batchSchedulerOptions.queue` -- is a Queue of this env;
* the queues' `capability["nvidia.com/gpu"]` add up to no more than the GPU NodePools'
  `limits["nvidia.com/gpu"]`, unless `volcano.gpu_overcommit`;
* whatever uses Volcano (`schedulerName: volcano`, a queue, `podGroupPolicy.volcano`, a
  RayCluster labelled `ray.io/scheduler-name: volcano`, KubeRay values `batchScheduler.name:
  volcano`) has the Volcano chart in this env, and the operators are set up for it: Trainer
  runtimes pair `schedulerName: volcano` with `podGroupPolicy.volcano` (either alone is no gang),
  Ray objects handed to Volcano need a kuberay-operator release with `batchScheduler.name: volcano`;
* every TrainJob (live or a template in a ConfigMap) names a runtime this env offers, its GPU
  pods fit a NodePool (`validate/scheduling.py`, on the pod the runtime and the job make
  together) and its whole gang fits the GPU capability of the queue it lands in (else it would
  wait forever).

Problems read `env/component/Kind/name: message` (or `env/crosscheck: message`).
"""
from __future__ import annotations

import copy
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable, Iterator

import yaml

from ..kit.meta import Obj
from ..kit.quantity import parse
from . import scheduling
from ..kit import yamltext

GPU = "nvidia.com/gpu"
QUEUE_KEYS = ("scheduling.volcano.sh/queue-name", "volcano.sh/queue-name")
VOLCANO = "volcano"
VOLCANO_CHART = "volcano"
KUBERAY_CHART = "kuberay-operator"
VOLCANO_GROUPS = ("scheduling.volcano.sh", "batch.volcano.sh")
RAY_KINDS = ("RayCluster", "RayJob", "RayService")
RAY_SCHEDULER_LABEL = "ray.io/scheduler-name"
TRAINER_GROUP = "trainer.kubeflow.org"
RUNTIME_KINDS = ("ClusterTrainingRuntime", "TrainingRuntime")
# dict keys whose `queue` field names a Volcano queue (Training Operator v1, Spark operator)
QUEUE_PARENTS = ("schedulingPolicy", "batchSchedulerOptions")


# --------------------------------------------------------------------------- walking
def _group(obj: Obj) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def embedded(obj: Obj) -> list[Obj]:
    """Kubernetes manifests carried as YAML text in a ConfigMap (templates such as example jobs)."""
    if obj.get("kind") != "ConfigMap" or obj.get("apiVersion") != "v1":
        return []
    out = []
    for key, text in sorted((obj.get("data") or {}).items()):
        if not key.endswith((".yaml", ".yml")) or not isinstance(text, str):
            continue
        out += [copy.deepcopy(d) for d in _parse(text)]
    return out


@lru_cache(maxsize=1024)
def _parse(text: str) -> tuple[Obj, ...]:
    """Manifests in a YAML text, parsed once per text (the checks walk the env several times)."""
    try:
        docs = yamltext.load_all(text)
    except yaml.YAMLError:
        return ()
    return tuple(d for d in docs if isinstance(d, dict) and "apiVersion" in d and "kind" in d)


def objects(rendered) -> list[tuple[str, Obj]]:
    """(component, object) for every emitted object and every manifest embedded in a ConfigMap."""
    out = []
    for comp, objs in sorted(rendered.components.items()):
        for o in objs:
            out.append((comp, o))
            out += [(comp, e) for e in embedded(o)]
    return out


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any, dict]]:
    """(path, key, value, parent dict) of every dict entry, however deep."""
    if isinstance(node, dict):
        for k, v in node.items():
            p = f"{path}.{k}" if path else str(k)
            yield p, str(k), v, node
            yield from _walk(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def _find(node: Any, keys: frozenset[str], trail: list) -> Iterator[tuple[list, str, Any]]:
    """(trail, key, value) of dict entries whose key is in `keys`, however deep; the trail (keys
    and indexes) is only turned into a path string by the caller, for the rare hits."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in keys:
                yield trail + [k], k, v
            if isinstance(v, (dict, list)):
                yield from _find(v, keys, trail + [k])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)):
                yield from _find(v, keys, trail + [i])


def _path(trail: list) -> str:
    out = ""
    for t in trail:
        out += f"[{t}]" if isinstance(t, int) else (f".{t}" if out else str(t))
    return out


_QUEUE_KEYS = frozenset(QUEUE_KEYS) | {"queue"}


def queue_refs(obj: Obj) -> Iterable[tuple[str, str]]:
    """(path, queue name) of every queue an object names."""
    volcano_kind = _group(obj) in VOLCANO_GROUPS
    for trail, key, value in _find(obj, _QUEUE_KEYS, []):
        if not isinstance(value, str):
            continue
        path = _path(trail)
        if key in QUEUE_KEYS:
            yield path, value
        elif key == "queue" and (path == "spec.queue" and volcano_kind
                                 or any(f"{p}.queue" in path for p in QUEUE_PARENTS)):
            yield path, value


def _uses_volcano_scheduler(obj: Obj) -> list[str]:
    return [_path(t) for t, k, v in _find(obj.get("spec"), frozenset({"schedulerName"}), []) if v == VOLCANO]


def _labels(obj: Obj) -> dict:
    return (obj.get("metadata") or {}).get("labels") or {}


def _annotations(obj: Obj) -> dict:
    return (obj.get("metadata") or {}).get("annotations") or {}


def _where(rendered, comp: str, obj: Obj) -> str:
    md = obj.get("metadata") or {}
    return f"{rendered.env.name}/{comp}/{obj.get('kind')}/{md.get('name')}"


# --------------------------------------------------------------------------- queues
def queues(rendered) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for _, o in objects(rendered)
            if o.get("kind") == "Queue" and _group(o) == "scheduling.volcano.sh"}


def queue_gpus(q: Obj) -> Decimal | None:
    cap = (q.get("spec") or {}).get("capability") or {}
    return parse(cap[GPU]) if GPU in cap else None


def check_queue_refs(rendered) -> list[str]:
    known = queues(rendered)
    out = []
    for comp, o in objects(rendered):
        for path, name in queue_refs(o):
            if name not in known:
                out.append(f"{_where(rendered, comp, o)}: {path} names Volcano queue {name!r}, which no Queue "
                           f"in env {rendered.env.name} defines ({', '.join(sorted(known)) or 'none'})")
    for comp, rel in sorted(rendered.helm.items()):
        for path, key, value, _ in _walk(rel.values):
            if key in QUEUE_KEYS and isinstance(value, str) and value not in known:
                out.append(f"{rendered.env.name}/{comp}/HelmRelease/{rel.release}: values.{path} names Volcano queue "
                           f"{value!r}, which no Queue in env {rendered.env.name} defines")
    return out


def check_gpu_budget(rendered) -> list[str]:
    env = rendered.env
    qs = {n: g for n, q in queues(rendered).items() if (g := queue_gpus(q)) is not None and g > 0}
    if not qs or getattr(getattr(env, "volcano", None), "gpu_overcommit", False):
        return []
    limits = {p.name: p.gpu_limit for p in scheduling.node_pools(rendered.components, env.name) if p.offers_gpus}
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


# --------------------------------------------------------------------------- who uses Volcano
def _ray_wants_volcano(obj: Obj) -> bool:
    return obj.get("kind") in RAY_KINDS and (_labels(obj).get(RAY_SCHEDULER_LABEL) == VOLCANO
                                               or any(k in _labels(obj) for k in QUEUE_KEYS))


def kuberay_uses_volcano(values: dict) -> bool:
    b = values.get("batchScheduler") or {}
    return b.get("name") == VOLCANO or b.get("enabled") is True


def check_volcano_users(rendered) -> list[str]:
    env = rendered.env.name
    has_volcano = any(rel.chart == VOLCANO_CHART for rel in rendered.helm.values())
    kuberay = [rel for rel in rendered.helm.values() if rel.chart == KUBERAY_CHART]
    out: list[str] = []
    users: list[str] = []
    for comp, o in objects(rendered):
        where = _where(rendered, comp, o)
        sched = _uses_volcano_scheduler(o)
        named = list(queue_refs(o))
        spec = o.get("spec") or {}
        gang = isinstance(spec.get("podGroupPolicy"), dict) and "volcano" in spec["podGroupPolicy"]
        if sched or gang or _ray_wants_volcano(o) or (named and o.get("kind") != "Queue"):
            users.append(where)
        if o.get("kind") in RUNTIME_KINDS and _group(o) == TRAINER_GROUP:
            pods = list(scheduling.pod_specs(o))
            if gang and any(p.get("schedulerName") != VOLCANO for _, p in pods):
                out.append(f"{where}: podGroupPolicy.volcano, but its pods do not say schedulerName: volcano "
                           f"(the default scheduler would place them one by one, ignoring the gang)")
            if sched and not gang:
                out.append(f"{where}: pods use schedulerName: volcano without podGroupPolicy.volcano "
                           f"(Trainer creates no PodGroup: no gang, and no queue but Volcano's default)")
        if _ray_wants_volcano(o) and not any(kuberay_uses_volcano(r.values) for r in kuberay):
            out.append(f"{where}: handed to Volcano ({RAY_SCHEDULER_LABEL}/queue label) but no kuberay-operator "
                       f"release in env {env} has batchScheduler.name: volcano (KubeRay would make no PodGroup)")
    for comp, rel in sorted(rendered.helm.items()):
        if rel.chart == KUBERAY_CHART and kuberay_uses_volcano(rel.values):
            users.append(f"{env}/{comp}/HelmRelease/{rel.release}")
    if users and not has_volcano:
        out.append(f"{env}/crosscheck: Volcano is used ({', '.join(users[:3])}{' ...' if len(users) > 3 else ''}) "
                   f"but the env does not install it (volcano.enabled)")
    return out


# --------------------------------------------------------------------------- TrainJobs
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
        is_trainer = ((tmpl.get("metadata") or {}).get("labels") or {}).get(
            "trainer.kubeflow.org/trainjob-ancestor-step") == "trainer"
        if is_trainer:
            override = {k: trainer[k] for k in ("image", "command", "args") if k in trainer}
            if "resourcesPerNode" in trainer:
                override["resources"] = trainer["resourcesPerNode"]
            pod["containers"] = _strategic_containers(pod.get("containers") or [], [{"name": "node", **override}])
        count = nodes if is_trainer else int((tmpl.get("spec") or {}).get("parallelism") or 1) * int(rj.get("replicas") or 1)
        out.append((str(rj.get("name")), pod, count))
    return out


def _trainjob_queue(job: Obj, rt: Obj, ns_queue: dict[str, str]) -> str:
    queue = (((rt.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations", {}).get(QUEUE_KEYS[0])
    for p in (job.get("spec") or {}).get("runtimePatches") or []:
        md = (((p.get("trainingRuntimeSpec") or {}).get("template") or {}).get("metadata") or {})
        queue = (md.get("annotations") or {}).get(QUEUE_KEYS[0], queue)
    if not queue or queue == "default":  # the PodGroup CRD default, replaced by the namespace's queue
        return ns_queue.get((job.get("metadata") or {}).get("namespace", ""), "default")
    return queue


def check_trainjobs(rendered) -> list[str]:
    env = rendered.env.name
    objs = objects(rendered)
    runtimes = {(o["kind"], (o.get("metadata") or {}).get("namespace"), o["metadata"]["name"]): o
                for _, o in objs if o.get("kind") in RUNTIME_KINDS and _group(o) == TRAINER_GROUP}
    ns_queue = {o["metadata"]["name"]: _annotations(o)[QUEUE_KEYS[0]] for _, o in objs
                if o.get("kind") == "Namespace" and QUEUE_KEYS[0] in _annotations(o)}
    known = queues(rendered)
    pools_only = {c: [o for o in objs_ if o.get("kind") == "NodePool"] for c, objs_ in rendered.components.items()}
    out: list[str] = []
    for comp, job in objs:
        if job.get("kind") != "TrainJob" or _group(job) != TRAINER_GROUP:
            continue
        where = _where(rendered, comp, job)
        rref = (job.get("spec") or {}).get("runtimeRef") or {}
        kind = rref.get("kind", "ClusterTrainingRuntime")
        ns = (job.get("metadata") or {}).get("namespace") if kind == "TrainingRuntime" else None
        rt = runtimes.get((kind, ns, rref.get("name")))
        if rt is None:
            out.append(f"{where}: runtimeRef {kind}/{rref.get('name')} is not a runtime of env {env}")
            continue
        pods = trainjob_pods(job, rt)
        # GPU pods of the job, judged like every other pod template (validate/scheduling.py).
        probe = copy.copy(rendered)
        probe.helm = {}
        probe.components = {**pools_only, comp: [
            {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": f"{job['metadata']['name']}-{name}"},
             "spec": {"template": {"spec": pod}}} for name, pod, _ in pods]}
        out += [f"{where}: {p.split(': ', 1)[1]}" for p in scheduling.check_gpu_scheduling(probe)]
        queue = _trainjob_queue(job, rt, ns_queue)
        gpus = sum((scheduling.pod_gpus(pod) * n for _, pod, n in pods), Decimal(0))
        cap = queue_gpus(known[queue]) if queue in known else None
        if gpus > 0 and cap is not None and gpus > cap:
            out.append(f"{where}: the gang needs {_n(gpus)} {GPU} at once but queue {queue} may hold {_n(cap)}: "
                       f"Volcano would never start it (fewer nodes or GPUs per node)")
        if queue not in known:
            out.append(f"{where}: lands in Volcano queue {queue!r}, which no Queue in env {env} defines")
    return out


def _n(d: Decimal) -> str:
    return format(d.normalize(), "f")


def check_training(rendered) -> list[str]:
    """Every problem of this module for one rendered env (`plan.Rendered`)."""
    return check_queue_refs(rendered) + check_gpu_budget(rendered) + check_volcano_users(rendered) \
        + check_trainjobs(rendered)
