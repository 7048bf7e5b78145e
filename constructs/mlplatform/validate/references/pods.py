"""Where pods come from: the pod templates of workloads and of the custom resources whose
controllers make pods (KubeRay, JobSet, Trainer, Spark, Volcano, ...), the pods an operator makes
from a custom resource (prometheus-operator), and the Services operators create (KubeRay, the
Keycloak operator). Standard library only."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from .model import _WORKLOADS, _d, _group, _l, _labels, _meta, _name, _ns, map_matches


@dataclass
class PodTemplate:
    owner: dict
    path: str  # path to the pod spec inside owner
    namespace: str | None  # None: cluster-scoped owner, pods run in some other namespace
    labels: dict[str, str]
    spec: dict
    patterns: dict[str, re.Pattern] = field(default_factory=dict)
    claim_prefixes: tuple[str, ...] = ()  # PVC names a StatefulSet makes: <tpl>-<sts>-<ordinal>
    synthetic: bool = False  # made up for an operator's pods: only a target, never checked

    def matches(self, selector: dict) -> bool:
        return map_matches(selector, self.labels, self.patterns)

    def port_names(self) -> set[str]:
        return {str(p.get("name")) for c in _containers(self.spec) for p in _l(c.get("ports"))
                if isinstance(p, dict) and p.get("name")}


def _containers(spec: dict) -> list[dict]:
    return [c for key in ("initContainers", "containers") for c in _l(spec.get(key))
            if isinstance(c, dict)]


def _tpl(owner: dict, path: str, template: Any, ns: str | None,
         extra: dict[str, str] | None = None, **kw: Any) -> PodTemplate | None:
    template = _d(template)
    spec = template.get("spec")
    if not isinstance(spec, dict):
        return None
    labels = _labels(_meta(template).get("labels"))
    labels.update(extra or {})
    return PodTemplate(owner, path, ns, labels, spec, **kw)


def _ray_groups(owner: dict, base: str, cluster_spec: Any, ns: str, cluster: str | None) -> Iterator:
    cs = _d(cluster_spec)
    common = {"ray.io/is-ray-node": "yes", "app.kubernetes.io/name": "kuberay",
              "app.kubernetes.io/created-by": "kuberay-operator"}
    patterns: dict[str, re.Pattern] = {}
    if cluster:
        common["ray.io/cluster"] = cluster
    else:  # a RayService/RayJob names its cluster <owner>-<suffix>
        patterns["ray.io/cluster"] = re.compile(re.escape(_name(owner)) + r"-.+")
    head = _d(cs.get("headGroupSpec"))
    yield _tpl(owner, f"{base}.headGroupSpec.template.spec", head.get("template"), ns,
               {**common, "ray.io/node-type": "head", "ray.io/group": "headgroup"},
               patterns=dict(patterns))
    for i, wg in enumerate(_l(cs.get("workerGroupSpecs"))):
        wg = _d(wg)
        gname = str(wg.get("groupName") or i)
        yield _tpl(owner, f"{base}.workerGroupSpecs[{gname}].template.spec", wg.get("template"),
                   ns, {**common, "ray.io/node-type": "worker", "ray.io/group": gname},
                   patterns=dict(patterns))


def _replicated_jobs(owner: dict, base: str, jobset_spec: Any, ns: str | None) -> Iterator:
    for i, rj in enumerate(_l(_d(jobset_spec).get("replicatedJobs"))):
        rj = _d(rj)
        rname = str(rj.get("name") or i)
        job_tpl = _d(_d(rj.get("template")).get("spec")).get("template")
        yield _tpl(owner, f"{base}.replicatedJobs[{rname}].template.spec.template.spec",
                   job_tpl, ns)


def pod_templates(obj: dict) -> Iterator[PodTemplate]:
    kind, ns, name = obj.get("kind"), _ns(obj), _name(obj)
    spec = _d(obj.get("spec"))
    found: Iterable[PodTemplate | None] = ()
    if kind == "Pod" and _group(obj) == "":
        found = [PodTemplate(obj, "spec", ns, _labels(_meta(obj).get("labels")), spec)]
    elif kind in _WORKLOADS and _group(obj) in ("apps", "batch", ""):
        if kind == "PodTemplate":
            found = [_tpl(obj, "template.spec", obj.get("template"), ns)]
        elif kind == "StatefulSet":
            vcts = [str(_meta(v).get("name")) for v in _l(spec.get("volumeClaimTemplates"))
                    if _meta(v).get("name")]
            found = [_tpl(obj, "spec.template.spec", spec.get("template"), ns,
                          patterns={"statefulset.kubernetes.io/pod-name":
                                    re.compile(re.escape(name) + r"-\d+"),
                                    "apps.kubernetes.io/pod-index": re.compile(r"\d+")},
                          claim_prefixes=tuple(f"{v}-{name}-" for v in vcts))]
        elif kind == "Job":
            found = [_tpl(obj, "spec.template.spec", spec.get("template"), ns,
                          {"job-name": name, "batch.kubernetes.io/job-name": name})]
        else:
            found = [_tpl(obj, "spec.template.spec", spec.get("template"), ns)]
    elif kind == "CronJob" and _group(obj) == "batch":
        found = [_tpl(obj, "spec.jobTemplate.spec.template.spec",
                      _d(_d(spec.get("jobTemplate")).get("spec")).get("template"), ns)]
    elif _group(obj) == "ray.io":
        if kind == "RayCluster":
            found = _ray_groups(obj, "spec", spec, ns, name)
        elif kind == "RayService":
            found = _ray_groups(obj, "spec.rayClusterConfig", spec.get("rayClusterConfig"), ns, None)
        elif kind == "RayJob":
            found = [*_ray_groups(obj, "spec.rayClusterSpec", spec.get("rayClusterSpec"), ns, None),
                     _tpl(obj, "spec.submitterPodTemplate.spec", spec.get("submitterPodTemplate"), ns)]
    elif _group(obj) == "trainer.kubeflow.org" and kind in ("TrainingRuntime", "ClusterTrainingRuntime"):
        found = _replicated_jobs(obj, "spec.template.spec", _d(spec.get("template")).get("spec"),
                                 None if kind == "ClusterTrainingRuntime" else ns)
    elif _group(obj) == "jobset.x-k8s.io" and kind == "JobSet":
        found = _replicated_jobs(obj, "spec", spec, ns)
    elif _group(obj) == "kubeflow.org":  # training-operator v1 jobs: spec.<x>ReplicaSpecs.<role>
        found = [_tpl(obj, f"spec.{k}.{role}.template.spec", _d(rs).get("template"), ns)
                 for k, v in spec.items() if k.endswith("ReplicaSpecs") and isinstance(v, dict)
                 for role, rs in v.items()]
    yield from (t for t in found if t is not None)


def operator_pods(obj: dict) -> Iterator[PodTemplate]:
    """Pods prometheus-operator makes from a Prometheus/Alertmanager: targets for selectors."""
    if _group(obj) != "monitoring.coreos.com" or obj.get("kind") not in ("Prometheus", "Alertmanager"):
        return
    name, spec = _name(obj), _d(obj.get("spec"))
    app = obj["kind"].lower()
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": "prometheus-operator",
              "app.kubernetes.io/instance": name, app: name}
    ports: list[dict] = [{"name": "web", "containerPort": 9090 if app == "prometheus" else 9093}]
    if app == "prometheus":
        labels.update({"operator.prometheus.io/name": name, "operator.prometheus.io/shard": "0"})
    else:
        ports += [{"name": "mesh-tcp", "containerPort": 9094}, {"name": "mesh-udp", "containerPort": 9094}]
    ports.append({"name": "reloader-web", "containerPort": 8080})
    labels.update(_labels(_d(spec.get("podMetadata")).get("labels")))
    pod_spec = {"containers": [{"name": app, "ports": ports}, *_l(spec.get("containers"))]}
    yield PodTemplate(obj, "spec", _ns(obj), labels, pod_spec,
                       patterns={"operator.prometheus.io/shard": re.compile(r"\d+")}, synthetic=True)


def operator_services(obj: dict, templates: list[PodTemplate]) -> Iterator[dict]:
    """Services an operator creates from a custom resource (never checked, only referenced)."""
    g, kind, name, ns = _group(obj), obj.get("kind"), _name(obj), _ns(obj)
    spec = _d(obj.get("spec"))

    def svc(sname: str, ports: list[dict], labels: dict[str, str]) -> dict:
        return {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": sname, "namespace": ns, "labels": labels},
                "spec": {"ports": ports}}

    if g == "ray.io" and kind in ("RayCluster", "RayService"):
        defaults = {"gcs-server": 6379, "dashboard": 8265, "client": 10001, "metrics": 8080,
                    "serve": 8000}
        head = next((t for t in templates
                     if t.owner is obj and t.labels.get("ray.io/node-type") == "head"), None)
        ports = {str(p.get("name")): p.get("containerPort")
                 for c in map(_d, _l(head.spec.get("containers"))[:1] if head else [])
                 for p in _l(c.get("ports"))
                 if isinstance(p, dict) and p.get("name")}
        all_ports = [{"name": n, "port": p} for n, p in {**defaults, **ports}.items()]
        labels = {"ray.io/node-type": "head", "app.kubernetes.io/name": "kuberay",
                  "app.kubernetes.io/created-by": "kuberay-operator"}
        if kind == "RayCluster":
            labels["ray.io/cluster"] = name
        yield svc(f"{name}-head-svc", all_ports, labels)
        if kind == "RayService":
            yield svc(f"{name}-serve-svc", [{"name": "serve", "port": ports.get("serve", 8000)}],
                      {"ray.io/serve": name, "app.kubernetes.io/name": "kuberay"})
    elif g == "k8s.keycloak.org" and kind == "Keycloak":
        http = _d(spec.get("http"))
        ports = [{"name": "https", "port": http.get("httpsPort", 8443)}]
        if http.get("httpEnabled"):
            ports.append({"name": "http", "port": http.get("httpPort", 8080)})
        ports.append({"name": "management", "port": _d(spec.get("httpManagement")).get("port", 9000)})
        labels = {"app": "keycloak", "app.kubernetes.io/instance": name,
                  "app.kubernetes.io/managed-by": "keycloak-operator"}
        yield svc(f"{name}-service", ports, labels)
        yield svc(f"{name}-discovery", [{"name": "tcp", "port": 7800}], dict(labels))
