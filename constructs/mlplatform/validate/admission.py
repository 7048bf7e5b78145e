"""Admit like the cluster: the union of everything Argo CD applies, checked as EKS and Argo CD would.

The union is our objects, every chart render and upstream manifest (renders.py), plus the pods
that controllers create from our config (JupyterHub single-user pods per profile; KubeRay head
and worker pods; Trainer/JobSet pods of each runtime in each team namespace that may use it).
On it:

- **Pod Security Admission** at each namespace's `enforce` level (admission_pss.py: every
  baseline and restricted rule, init and ephemeral containers, pod-level inheritance).
- **References** (references/): ServiceAccounts, Secrets and ConfigMaps with their keys (a
  Secret an ExternalSecret makes counts), Services and ports behind Ingresses, monitors and
  webhooks, roleRefs, StorageClasses, namespaces.
- **The AppProject gate**: every cluster-scoped kind applied is in the project's
  clusterResourceWhitelist and every namespace in its destinations (else Argo CD refuses the
  whole Application's sync).
- **Argo CD specifics**: an object owned by two Applications, objects too large for
  client-side apply without ServerSideApply, custom resources in an earlier wave than their
  CRD's Application, hook Jobs whose pods can never be admitted (the sync waits forever).

Each problem names env, component, object, rule and what happens on the cluster.
"""
from __future__ import annotations

import json
from typing import Iterable

from ..kit.meta import SYNC_OPTIONS, Obj, group_of
from ..renders import HOOK, namespaced
from . import admission_pss, references
from .admission_quota import QUOTA_KEYS, exceeds, limit_defaults, pod_totals, quantity, resource_quotas

APPS_FOLDER = "argocd-apps"
ANNOTATION_LIMIT = 262144
# What exists on every cluster of this platform without Argo CD applying it: the API server's and
# the EKS add-ons' objects, and what controllers or chart hooks create at run time. References to
# them are not broken. Each entry: (the object, as far as references need it; why it exists).
def _svc(ns: str, name: str, labels: dict, ports: list[tuple[str, int]], selector: dict | None = None) -> Obj:
    spec: dict = {"ports": [{"name": n, "port": p} for n, p in ports]}
    if selector:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": spec}


CLUSTER_PROVIDED: tuple[tuple[Obj, str], ...] = (
    (_svc("default", "kubernetes", {"component": "apiserver", "provider": "kubernetes"}, [("https", 443)]),
     "the API server's own Service"),
    ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
      "metadata": {"name": "extension-apiserver-authentication-reader", "namespace": "kube-system"}},
     "bootstrap RBAC of every cluster (aggregated API servers read the authentication ConfigMap)"),
    ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coredns", "namespace": "kube-system"},
      "spec": {"selector": {"matchLabels": {"k8s-app": "kube-dns"}}, "template": {
          "metadata": {"labels": {"k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns"}},
          "spec": {"containers": [{"name": "coredns", "ports": [
              {"name": "dns", "containerPort": 53, "protocol": "UDP"},
              {"name": "dns-tcp", "containerPort": 53}, {"name": "metrics", "containerPort": 9153}]}]}}}},
     "the EKS CoreDNS add-on"),
    (_svc("kube-system", "kube-prometheus-stack-kubelet",
          {"app.kubernetes.io/name": "kubelet", "k8s-app": "kubelet", "app.kubernetes.io/managed-by": "prometheus-operator"},
          [("https-metrics", 10250), ("http-metrics", 10255), ("cadvisor", 4194)]),
     "made and kept in sync by the Prometheus Operator (kubelet endpoints: --kubelet-service)"),
    ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "volcano-admission-secret", "namespace": "volcano-system"},
      "data": {"tls.crt": "", "tls.key": "", "ca.crt": ""}},
     "made by Volcano's admission-init PreSync hook Job (self-signed webhook certificate)"),
)


def _where(env: str, comp: str, o: Obj, source: str | None) -> str:
    md = o.get("metadata") or {}
    src = f" [{source}]" if source else ""
    return f"{env}/{comp}/{o.get('kind')}/{md.get('name', '?')}:{src}"


def _union(r) -> list[tuple[str, Obj, str | None]]:
    out: list[tuple[str, Obj, str | None]] = []
    for comp, objs in sorted(r.components.items()):
        if comp == APPS_FOLDER:
            continue
        out += [(comp, o, None) for o in objs]
    for comp, docs in sorted(r.renders.docs.items()):
        out += [(comp, d.obj, d.source) for d in docs]
    return out


_PROVIDED = "(cluster)"


def embedded_pods(r) -> list[tuple[str, Obj, str]]:
    """Pod templates that ConfigMaps carry for a controller to create pods from (e.g. the
    KubernetesExecutor's `pod_template_file`), as stand-in Pod objects in the ConfigMap's
    namespace: (component, pod, where it came from)."""
    from ..kit import yamltext
    out = []
    for comp, o, src in _union(r):
        if o.get("kind") != "ConfigMap" or o.get("apiVersion") != "v1":
            continue
        ns = (o.get("metadata") or {}).get("namespace")
        for key, text in sorted((o.get("data") or {}).items()):
            if not isinstance(text, str) or "kind: Pod" not in text:
                continue
            try:
                docs = [d for d in yamltext.load_all(text) if isinstance(d, dict)]
            except Exception:  # not YAML: not a pod template
                continue
            for d in docs:
                if d.get("kind") == "Pod" and isinstance(d.get("spec"), dict):
                    pod = {**d, "metadata": {**(d.get("metadata") or {}), "namespace": ns}}
                    out.append((comp, pod, f"ConfigMap/{o['metadata']['name']} key {key}"
                                           + (f" [{src}]" if src else "")))
    return out


def _controller_pods(r, levels: dict[str, str]) -> Iterable[tuple[str, str, str, dict, dict]]:
    """(component, namespace, what, pod spec, pod metadata) of pods controllers create from our config."""
    for comp, rel in sorted(r.helm.items()):
        for name, spec in rel.pod_specs:  # e.g. one single-user pod per JupyterHub profile
            yield comp, rel.namespace, f"{name} (pods the chart's controller spawns)", spec, {}
    for comp, pod, what in embedded_pods(r):
        yield comp, pod["metadata"]["namespace"], f"{what} (pods a controller creates from it)", pod["spec"], \
            pod.get("metadata") or {}
    teams = _team_namespaces([o for _, o, _ in _union(r)])
    for comp, objs in sorted(r.components.items()):
        for o in objs:
            if o.get("kind") in ("ClusterTrainingRuntime",):
                for path, spec, meta in admission_pss.pod_templates(o):
                    for ns in teams:  # a cluster runtime runs its pods in the namespace of each TrainJob
                        yield comp, ns, f"ClusterTrainingRuntime/{o['metadata']['name']} {path} (a TrainJob in {ns})", \
                            spec, meta


def check_pod_security(r) -> list[str]:
    env = r.env.name
    union = _union(r)
    levels = admission_pss.namespace_levels([o for _, o, _ in union])
    problems: list[str] = []
    for comp, o, source in union:
        ns = (o.get("metadata") or {}).get("namespace")
        if ns is None or ns not in levels:
            continue
        level = levels[ns]
        hook = ((o.get("metadata") or {}).get("annotations") or {}).get(HOOK) \
            or ((o.get("metadata") or {}).get("annotations") or {}).get("argocd.argoproj.io/hook")
        consequence = ("the hook's pods are rejected, so the hook never completes and the sync waits on it"
                       if hook else admission_pss.CONTROLLER_CONSEQUENCE if o.get("kind") != "Pod"
                       else admission_pss.POD_CONSEQUENCE)
        for path, spec, meta in admission_pss.pod_templates(o):
            for msg in admission_pss.check_pod_spec(spec, level, meta):
                problems.append(f"{_where(env, comp, o, source)} pod-security: {path}: {msg} in namespace {ns} "
                                f"(enforce={level}); {consequence}")
    for comp, ns, what, spec, meta in _controller_pods(r, levels):
        level = levels.get(ns)
        if level is None:
            continue
        for msg in admission_pss.check_pod_spec(spec, level, meta):
            problems.append(f"{env}/{comp}: pod-security: {what}: {msg} in namespace {ns} (enforce={level}); "
                            "the controller's pod is rejected at creation")
    return problems


def _externals(r) -> references.Externals:
    env = r.env
    return references.Externals(namespaces=frozenset(env.namespaces.external))


def check_references(r) -> list[str]:
    env = r.env.name
    union = _union(r) + [(_PROVIDED, o, why) for o, why in CLUSTER_PROVIDED] + embedded_pods(r)
    where = {id(o): (comp, src) for comp, o, src in union}
    out = []
    for o, msg in references.check([o for _, o, _ in union], external=_externals(r)):
        comp, src = where.get(id(o), ("?", None))
        if comp == _PROVIDED:
            continue  # stand-ins for what the cluster has; their own references are not ours to judge
        out.append(f"{_where(env, comp, o, src)} reference: {msg}")
    return out


def check_app_project(r) -> list[str]:
    """Argo CD refuses a sync that touches a cluster-scoped kind the project doesn't whitelist, or a
    namespace that isn't a project destination."""
    env = r.env.name
    project = next((o for o in r.bootstrap if o.get("kind") == "AppProject"), None)
    if project is None:
        return []
    spec = project.get("spec") or {}
    kinds = {(g.get("group", ""), g.get("kind")) for g in spec.get("clusterResourceWhitelist") or []}
    dests = {d.get("namespace") for d in spec.get("destinations") or []}
    out = []
    for comp, o, src in _union(r):
        av, kind = str(o.get("apiVersion", "")), str(o.get("kind", ""))
        scope = namespaced(r.renders, o)
        if scope is None:
            from ..kit import versions
            from ..kit.scope import is_cluster_scoped
            pin = versions.crd_for(av, kind)
            scope = pin.namespaced if pin else not is_cluster_scoped(av, kind)
        if scope is False and (group_of(av), kind) not in kinds and ("*", "*") not in kinds:
            out.append(f"{_where(env, comp, o, src)} app-project: cluster-scoped {kind}.{group_of(av) or 'core'} is not "
                       f"in AppProject {project['metadata']['name']}'s clusterResourceWhitelist: Argo CD refuses the "
                       f"whole {env}-{comp} sync")
        ns = (o.get("metadata") or {}).get("namespace")
        if scope and ns and ns not in dests and "*" not in dests:
            out.append(f"{_where(env, comp, o, src)} app-project: namespace {ns} is not a destination of AppProject "
                       f"{project['metadata']['name']}: Argo CD refuses the whole {env}-{comp} sync")
    return out


def _app_of(r, comp: str) -> Obj | None:
    for o in r.components.get(APPS_FOLDER, []):
        if ((o.get("metadata") or {}).get("labels") or {}).get("platform.mlops.io/component") == comp:
            return o
    return None


def _ssa(app: Obj | None, o: Obj) -> bool:
    opts = set(((app or {}).get("spec") or {}).get("syncPolicy", {}).get("syncOptions") or [])
    own = str(((o.get("metadata") or {}).get("annotations") or {}).get(SYNC_OPTIONS, ""))
    return "ServerSideApply=true" in opts or "ServerSideApply=true" in own


def check_argocd(r) -> list[str]:
    env = r.env.name
    out = []
    crd_wave: dict[tuple[str, str], tuple[str, int]] = {}
    for comp, o, src in _union(r):
        if o.get("kind") == "CustomResourceDefinition":
            spec = o.get("spec") or {}
            crd_wave[(spec.get("group", ""), (spec.get("names") or {}).get("kind", ""))] = (comp, r.waves.get(comp, 0))
    sizes = {id(d.obj): d.size for docs in r.renders.docs.values() for d in docs if d.size}
    for comp, o, src in _union(r):
        app = _app_of(r, comp)
        size = sizes.get(id(o)) or len(json.dumps(o, separators=(",", ":")))
        if size > ANNOTATION_LIMIT and not _ssa(app, o):
            out.append(f"{_where(env, comp, o, src)} argocd: {size} bytes exceeds the {ANNOTATION_LIMIT}-byte "
                       "last-applied annotation of client-side apply and the Application does not use "
                       "ServerSideApply=true: the sync fails with 'metadata.annotations: Too long'")
        gk = (group_of(str(o.get("apiVersion", ""))), str(o.get("kind", "")))
        if gk in crd_wave:
            owner, wave = crd_wave[gk]
            if owner != comp and wave > r.waves.get(comp, 0):
                out.append(f"{_where(env, comp, o, src)} argocd: its CRD comes with {env}-{owner} in wave {wave}, "
                           f"after this Application's wave {r.waves.get(comp, 0)}: the resource cannot be created "
                           "until the later wave, and the earlier one never becomes healthy")
    return out


# --- NetworkPolicies that protect or admit nothing ---------------------------------------------

def _operator_made_pods(o: Obj) -> list[tuple[str, dict]]:
    """(namespace, labels) of pods an operator creates from a custom resource, where references/
    does not model them already: the Keycloak operator's server pods (its Utils.allInstanceLabels:
    app, app.kubernetes.io/instance, app.kubernetes.io/managed-by, and component=server)."""
    if o.get("kind") == "Keycloak" and str(o.get("apiVersion", "")).startswith("k8s.keycloak.org/"):
        md = o.get("metadata") or {}
        return [(md.get("namespace"), {"app": "keycloak", "app.kubernetes.io/instance": md.get("name"),
                                       "app.kubernetes.io/managed-by": "keycloak-operator",
                                       "app.kubernetes.io/component": "server"})]
    return []


def check_network_policies(r) -> list[str]:
    """A NetworkPolicy whose podSelector selects no pod of its namespace (ours, the charts', the ones
    controllers and operators create) protects nothing -- and the traffic its rules were written to
    admit stays denied by the namespace's default deny (a UI behind the ALB, a webhook, scrapes)."""
    env = r.env.name
    union = _union(r) + embedded_pods(r)
    # Team namespaces are exempt: their people create workloads themselves (RayJobs, TrainJobs), so
    # a policy for pods that don't exist yet is written for pods that will.
    tenants = set(_team_namespaces([o for _, o, _ in union]))
    pods: dict[str | None, list[tuple[dict, dict]]] = {}
    for _, o, _ in union:
        for t in list(references.pod_templates(o)) + list(references.operator_pods(o)):
            pods.setdefault(t.namespace, []).append((t.labels, t.patterns))
        for ns, labels in _operator_made_pods(o):
            pods.setdefault(ns, []).append((labels, {}))
    for rel in r.helm.values():  # pods the chart's controller spawns (e.g. JupyterHub's single-user servers)
        if rel.pod_specs and rel.pod_labels:
            pods.setdefault(rel.namespace, []).append((dict(rel.pod_labels), {}))
    out = []
    for comp, o, src in union:
        if o.get("kind") != "NetworkPolicy":
            continue
        ns = (o.get("metadata") or {}).get("namespace")
        sel = (o.get("spec") or {}).get("podSelector") or {}
        if not sel or ns in tenants:
            continue  # every pod of the namespace, present or future
        if not any(references.selector_matches(sel, labels, patterns) for labels, patterns in pods.get(ns, [])):
            out.append(f"{_where(env, comp, o, src)} network-policy: spec.podSelector selects no pod in {ns} (ours, the "
                       "charts', or what controllers create): it protects nothing, and what its rules admit stays "
                       "denied by the namespace's default deny")
    return out


# --- ResourceQuota / LimitRange admission ------------------------------------------------------

def _team_namespaces(objs: list[Obj]) -> list[str]:
    from ..kit.meta import LABEL_TEAM
    return sorted(o["metadata"]["name"] for o in objs if o.get("kind") == "Namespace"
                  and LABEL_TEAM in ((o.get("metadata") or {}).get("labels") or {}))


def check_quota(r) -> list[str]:
    env = r.env.name
    union = _union(r)
    objs = [o for _, o, _ in union]
    quotas, defaults = resource_quotas(objs), limit_defaults(objs)
    teams = _team_namespaces(objs)
    out: list[str] = []
    for comp, o, src in union:
        kind = o.get("kind")
        md = o.get("metadata") or {}
        if kind in ("ClusterTrainingRuntime", "TrainingRuntime"):
            # A runtime's nodes start together (gang-scheduled): the whole gang must fit the quota of
            # each team that may use it. A cluster runtime is offered to every team; a team without
            # any of a resource the runtime needs (no GPU quota for a GPU runtime) is not its
            # audience, but one with some of it and too little would have every TrainJob refused.
            nodes = int(((o.get("spec") or {}).get("mlPolicy") or {}).get("numNodes") or 1)
            targets = teams if kind == "ClusterTrainingRuntime" else [md.get("namespace")]
            for path, spec, _ in admission_pss.pod_templates(o):
                fits_somewhere = False
                for ns in targets:
                    totals, _ = pod_totals(spec, defaults.get(ns, {}))
                    ns_ok = True
                    for qname, hard, *_ in (q for q in quotas.get(ns, []) if q.applies_to(spec)):
                        without = {k for k, v in hard.items() if quantity(v) == 0 and
                                   (k if k.startswith(("requests.", "limits.")) else f"requests.{k}") in totals}
                        if kind == "ClusterTrainingRuntime" and without:
                            ns_ok = False
                            break  # not this team's kind of runtime
                        per_pod = exceeds(totals, hard)
                        gang = exceeds(totals, hard, nodes) if not per_pod else []
                        if per_pod or gang:
                            ns_ok = False
                        if per_pod:
                            out.append(f"{_where(env, comp, o, src)} quota: {path}: one pod asks {', '.join(per_pod)} of "
                                       f"ResourceQuota {ns}/{qname}: every TrainJob of this runtime in {ns} is refused "
                                       f"(exceeded quota); list the teams that can hold it in the runtime's `teams`")
                        elif gang:
                            out.append(f"{_where(env, comp, o, src)} quota: {path}: its {nodes} nodes together ask "
                                       f"{', '.join(gang)} of ResourceQuota {ns}/{qname}: the gang never starts in {ns} "
                                       f"(the pods past the quota are refused); list the teams that can hold it in `teams`")
                    fits_somewhere = fits_somewhere or ns_ok
                if targets and not fits_somewhere:
                    out.append(f"{_where(env, comp, o, src)} quota: {path}: no team that may use this runtime has the "
                               f"quota for it ({', '.join(targets)}): every TrainJob of it is refused")
            continue
        ns = md.get("namespace")
        if ns not in quotas:
            continue
        for path, spec, _ in admission_pss.pod_templates(o):
            totals, missing = pod_totals(spec, defaults.get(ns, {}))
            for qname, hard, *_ in (q for q in quotas[ns] if q.applies_to(spec)):
                quotad = {k for k in hard if k in QUOTA_KEYS}
                for m in missing:
                    part_key = m.rsplit(" ", 1)[-1]
                    if part_key in quotad or part_key.split(".")[1] in quotad:
                        out.append(f"{_where(env, comp, o, src)} quota: {path}: {m} and namespace {ns} has no LimitRange "
                                   f"default for it while ResourceQuota {qname} limits it: the pod is refused")
                too_big = exceeds(totals, hard)
                if too_big:
                    out.append(f"{_where(env, comp, o, src)} quota: {path}: one pod asks {', '.join(too_big)} of "
                               f"ResourceQuota {ns}/{qname}: the pod is refused (exceeded quota)")
    return out


def check(r) -> list[str]:
    """Everything above; [] when the env's charts were not rendered (plan.render(with_renders=False),
    used by tests of other things): the union would lack the charts' objects."""
    if not r.renders.complete:
        return []
    return (check_pod_security(r) + check_references(r) + check_app_project(r) + check_argocd(r)
            + check_quota(r) + check_network_policies(r))
