"""Checks about vLLM serving: the autoscaling chain and GPU capacity, judged on the rendered objects.

An HPA that names a metric nobody serves, or a rule that reads a label the pods don't carry,
does nothing and says nothing. So for every HorizontalPodAutoscaler of the env:

- its `scaleTargetRef` is a Deployment (or StatefulSet) the env emits, in its namespace;
- every Pods/Object metric it asks for is served by a prometheus-adapter rule (`name.as`), that
  rule is keyed per pod (not a namespace sum), its series' namespace is the HPA's and its
  `model_name` is what the target's vLLM container serves (`--served-model-name`);
- the target's pods are scraped: a ServiceMonitor in their namespace selects a Service whose
  selector matches the pod template, on a port of that Service that reaches a container port.

And for every served model (`serving.models`): the GPU NodePool its pods select launches an
instance type with enough GPUs, GPU memory and host memory for one replica, and the pool's GPU
limit holds every model at max replicas (plus the surge replica of a rolling update).
"""
from __future__ import annotations

import re
from decimal import Decimal

from ...kit import instances
from ...kit.checks import RenderedEnv, objects, where
from ...kit.meta import Obj
from ...kit.nodepools import FAMILY, SIZE, node_pools
from ...kit.quantity import parse
from ...kit.selectors import matches
from ..node_pools import MIG_RESOURCE_PREFIX, gpu_pools
from .metrics import MODEL_LABEL
from .objects import GPU_POOL, NAME, POOL_LABEL, models, served_name

WORKLOADS = ("Deployment", "StatefulSet")


def _matchers(query: str) -> dict[str, str]:
    """`label="value"` equality matchers of a PromQL selector."""
    return dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"', query))


def adapter_rules(r: RenderedEnv) -> dict[str, dict]:
    """Custom metric name -> prometheus-adapter rule, from the adapter's HelmRelease values."""
    out: dict[str, dict] = {}
    for rel in r.helm.values():
        if rel.chart == "prometheus-adapter":
            for rule in (rel.values.get("rules") or {}).get("custom") or []:
                out[(rule.get("name") or {}).get("as", "")] = rule
    return out


class _Index:
    """Services by namespace and every ServiceMonitor, collected once per env (not per HPA)."""

    def __init__(self, r):
        self.services: dict[str, list[Obj]] = {}
        self.monitors: list[Obj] = []
        for _, o in objects(r):
            if o.get("kind") == "Service" and (o.get("spec") or {}).get("selector"):
                self.services.setdefault(o["metadata"].get("namespace"), []).append(o)
            elif o.get("kind") == "ServiceMonitor":
                self.monitors.append(o)


def _scraped(idx: _Index, ns: str, pod_labels: dict, container_ports: dict[str, int]) -> str | None:
    """None when a ServiceMonitor reaches these pods, else why not."""
    services = [o for o in idx.services.get(ns, [])
                if all(pod_labels.get(k) == v for k, v in o["spec"]["selector"].items())]
    if not services:
        return f"no Service in {ns} selects its pods"
    for sm in idx.monitors:
        md, spec = sm["metadata"], sm.get("spec") or {}
        nss = (spec.get("namespaceSelector") or {}).get("matchNames") or [md.get("namespace")]
        if ns not in nss and not (spec.get("namespaceSelector") or {}).get("any"):
            continue
        for svc in services:
            if not matches(spec.get("selector") or {}, svc["metadata"].get("labels") or {}):
                continue
            for ep in spec.get("endpoints") or []:
                for p in svc["spec"].get("ports") or []:
                    if p.get("name") == ep.get("port"):
                        tp = p.get("targetPort", p.get("port"))
                        if tp in container_ports or tp in container_ports.values():
                            return None
    return (f"no ServiceMonitor selects a Service of its pods ({', '.join(s['metadata']['name'] for s in services)}) "
            f"on a port that reaches a container port: the queue metric would never exist")


def check_autoscaling(r: RenderedEnv) -> list[str]:
    out: list[str] = []
    objs = objects(r)
    workloads = {(o["metadata"].get("namespace"), o["kind"], o["metadata"]["name"]): o
                 for _, o in objs if o.get("kind") in WORKLOADS}
    rules = adapter_rules(r)
    idx = _Index(r)
    for comp, h in objs:
        if h.get("kind") != "HorizontalPodAutoscaler":
            continue
        hpa, ns, spec = where(r, comp, h), h["metadata"].get("namespace"), h.get("spec") or {}
        tref = spec.get("scaleTargetRef") or {}
        target = workloads.get((ns, tref.get("kind"), tref.get("name")))
        if target is None:
            out.append(f"{hpa}: scaleTargetRef {tref.get('kind')}/{tref.get('name')} is not a workload this env "
                       f"emits in namespace {ns}")
            continue
        if "replicas" in (target.get("spec") or {}):
            out.append(f"{hpa}: its target {tref.get('kind')}/{tref.get('name')} sets spec.replicas: Argo CD would "
                       f"reset the HPA's decision on every sync (leave replicas out of the manifest)")
        tmpl = (target["spec"].get("template") or {})
        pod_labels = (tmpl.get("metadata") or {}).get("labels") or {}
        containers = (tmpl.get("spec") or {}).get("containers") or []
        ports = {p.get("name"): p.get("containerPort") for c in containers for p in c.get("ports") or []}
        for i, m in enumerate(spec.get("metrics") or []):
            if m.get("type") not in ("Pods", "Object"):
                continue
            name = ((m.get(m["type"].lower()) or {}).get("metric") or {}).get("name", "")
            at = f"{hpa}: spec.metrics[{i}] {name}"
            rule = rules.get(name)
            if rule is None:
                out.append(f"{at}: no prometheus-adapter rule serves this metric (the HPA would never scale)")
                continue
            overrides = (rule.get("resources") or {}).get("overrides") or {}
            if m["type"] == "Pods" and "pod" not in overrides:
                out.append(f"{at}: the adapter rule is not keyed per pod (resources.overrides has no pod): "
                           f"a namespace-wide sum scales every model on every model's queue")
            if "<<.GroupBy>>" not in rule.get("metricsQuery", ""):
                out.append(f"{at}: the adapter rule's metricsQuery does not group by <<.GroupBy>>")
            want = _matchers(rule.get("seriesQuery", ""))
            if want.get("namespace") not in (None, ns):
                out.append(f"{at}: the adapter rule reads namespace {want['namespace']!r}, the HPA is in {ns!r}")
            model = want.get(MODEL_LABEL)
            if model is not None:
                served = {served_name(c) for c in containers}
                if model not in served:
                    out.append(f"{at}: the adapter rule reads {MODEL_LABEL}={model!r} but "
                               f"{tref.get('name')} serves {sorted(s for s in served if s) or 'no --served-model-name'}")
            why = _scraped(idx, ns, pod_labels, ports)
            if why:
                out.append(f"{at}: {tref.get('name')}'s pods are not scraped: {why}")
    return out


def check_gpu_capacity(r: RenderedEnv) -> list[str]:
    """Every served model fits an instance of its GPU pool (`gpu_pool`); each pool's GPU limit holds
    the models it serves at max replicas. On a shared pool a replica takes a fraction of a physical
    GPU: 1/replicas of a time-sliced one, 1/instances-per-GPU of a MIG one (the limit counts
    physical GPUs)."""
    env, out = r.env, []
    pools = {p.labels.get(POOL_LABEL): p for p in node_pools(r.components, env.name)}
    sharing = {name: p.sharing for name, p in gpu_pools(env)}
    need: dict[str, dict[str, Decimal]] = {}
    for m in models(env):
        model_at = f"{env.name}/{NAME}/Deployment/{m.name}"
        pool = pools.get(m.gpu_pool)
        if pool is None:
            out.append(f"{model_at}: no NodePool labelled {POOL_LABEL}={m.gpu_pool} (GPU nodes)")
            continue
        s = sharing.get(m.gpu_pool)
        resource = f"{MIG_RESOURCE_PREFIX}{m.mig_profile}" if m.mig_profile else "nvidia.com/gpu"
        per_gpu = (s.per_gpu(resource) if s is not None else 1) or 1
        families = [v for op, vals in pool.reqs(FAMILY) if op == "In" for v in vals]
        sizes = [v for op, vals in pool.reqs(SIZE) if op == "In" for v in vals] or None
        # A MIG replica's memory is its slice's (the env validator checked it); here: a node of the pool.
        fits, why = instances.fitting(families, sizes, gpus=-(-m.gpus // per_gpu),
                                      gpu_memory_gib=1 if m.mig_profile else m.min_gpu_memory_gib,
                                      memory=parse(m.resources.memory_request), max_gpus=pool.max_gpus_per_node)
        if not fits:
            out.append(f"{model_at}: no instance type of NodePool {pool.name} fits one replica: {why}")
        per_replica = Decimal(m.gpus) / per_gpu
        need.setdefault(pool.name, {})[m.name] = per_replica * (m.autoscaling.max_replicas + (1 if m.rollout == "surge" else 0))
        if pool.gpu_limit is not None and need[pool.name][m.name] > pool.gpu_limit:
            out.append(f"{model_at}: max replicas need {need[pool.name][m.name]:g} GPUs, more than NodePool {pool.name}'s "
                       f"limit {pool.gpu_limit}")
    for name, by_model in sorted(need.items()):
        pool = pools[name]
        total = sum(by_model.values(), Decimal(0))
        if pool.gpu_limit is not None and total > pool.gpu_limit:
            field = "gpu_pool" if name == GPU_POOL else f"gpu_pools.{name}"
            out.append(f"{env.name}/{NAME}: all models at max replicas need {total:g} GPUs, more than NodePool "
                       f"{pool.name}'s limit {pool.gpu_limit} (raise compute.karpenter.{field}.gpu_limit or lower "
                       f"autoscaling.max_replicas)")
    return out


def checks(r: RenderedEnv) -> list[str]:
    """Every problem about serving in one rendered env."""
    return check_autoscaling(r) + check_gpu_capacity(r)
