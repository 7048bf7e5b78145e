"""Cross-checks of what Prometheus will scrape and evaluate: the wiring no schema sees.

For every ServiceMonitor, PodMonitor and PrometheusRule we emit (any component):

* **selected**: its labels satisfy the Prometheus selector for its kind, and its namespace the
  matching namespace selector -- both read from the kube-prometheus-stack HelmRelease's values
  (`prometheus.prometheusSpec.<kind>Selector` / `<kind>NamespaceSelector`), not from
  `kit.monitoring`, so a values change that would orphan monitors is caught. Without a
  kube-prometheus-stack release in the env nothing is selected and nothing is checked.
* **ServiceMonitor -> Service**: in the namespaces it selects, at least one Service we emit carries
  all of its selector labels, and every endpoint's `port` names a port of such a Service (an
  endpoint with only `targetPort` must match one of their target ports).
* **PodMonitor -> pods**: at least one pod template we emit (workloads, and the pods KubeRay
  makes for our RayClusters/RayServices: the template's labels plus KubeRay's `ray.io/*` labels,
  and the `metrics` port KubeRay adds to every Ray container) matches, and every
  `podMetricsEndpoints[].port` names a container port of such a pod.

Chart-made targets: Services and pods a Helm chart renders are not among our objects (no chart
rendering offline). A monitor is skipped -- not failed -- when nothing of ours matches *and* its
selector names a chart release installed in one of the namespaces it selects (a `release` or
`app.kubernetes.io/instance` selector value equal to that HelmRelease's release name). Any other
monitor that finds no target is an error: Prometheus would scrape nothing.

Problems read `env/component/Kind/name: message`.
"""
from __future__ import annotations

from typing import Iterable

from ..kit.meta import Obj
from ..kit.selectors import matches

CHART = "kube-prometheus-stack"
MONITOR_KINDS = {"ServiceMonitor": "serviceMonitor", "PodMonitor": "podMonitor", "PrometheusRule": "rule"}
GROUP = "monitoring.coreos.com"
RELEASE_LABELS = ("release", "app.kubernetes.io/instance")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
RAY_METRICS_PORT = "metrics"  # KubeRay adds this container port (8080) to every Ray container


def _namespace_labels(r) -> dict[str, dict[str, str]]:
    """Labels of every namespace of the env (the API server adds kubernetes.io/metadata.name)."""
    out = {ns: {"kubernetes.io/metadata.name": ns} for ns in r.env.namespaces.external}
    for objs in r.components.values():
        for o in objs:
            if o.get("kind") == "Namespace" and o.get("apiVersion") == "v1":
                name = o["metadata"]["name"]
                out[name] = {**(o["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": name}
    return out


def prometheus_selectors(r) -> dict[str, tuple[dict, dict]] | None:
    """kind -> (label selector, namespace selector) from the kube-prometheus-stack values."""
    rel = next((x for x in r.helm.values() if x.chart == CHART), None)
    if rel is None:
        return None
    spec = ((rel.values.get("prometheus") or {}).get("prometheusSpec") or {})
    out = {}
    for kind, key in MONITOR_KINDS.items():
        sel = spec.get(f"{key}Selector")
        if not sel and spec.get(f"{key}SelectorNilUsesHelmValues", True):
            sel = {"matchLabels": {"release": rel.release}}  # the chart's fallback
        out[kind] = (sel or {}, spec.get(f"{key}NamespaceSelector") or {})
    return out


def _selected_namespaces(o: Obj, all_ns: Iterable[str]) -> list[str]:
    """A monitor's `namespaceSelector`: matchNames, any: true, or (empty) its own namespace."""
    ns_sel = (o.get("spec") or {}).get("namespaceSelector") or {}
    if ns_sel.get("any"):
        return sorted(all_ns)
    if ns_sel.get("matchNames"):
        return sorted(ns_sel["matchNames"])
    return [o["metadata"].get("namespace")]


# --------------------------------------------------------------------------- targets we emit
def _services(r) -> list[tuple[str, dict, list[dict]]]:
    """(namespace, labels, ports) of every Service we emit."""
    return [((o.get("metadata") or {}).get("namespace"), (o.get("metadata") or {}).get("labels") or {},
             (o.get("spec") or {}).get("ports") or [])
            for objs in r.components.values() for o in objs
            if o.get("kind") == "Service" and o.get("apiVersion") == "v1"]


def _container_ports(spec: dict) -> set[str]:
    return {p.get("name") for c in (spec or {}).get("containers") or [] for p in c.get("ports") or [] if p.get("name")}


def _ray_pods(name: str, cluster: dict) -> Iterable[tuple[dict, set[str]]]:
    head = ((cluster.get("headGroupSpec") or {}).get("template") or {})
    groups = [("head", "headgroup", head)] + [
        ("worker", g.get("groupName", ""), g.get("template") or {}) for g in cluster.get("workerGroupSpecs") or []]
    for node_type, group, tpl in groups:
        labels = {**((tpl.get("metadata") or {}).get("labels") or {}), "ray.io/is-ray-node": "yes",
                  "ray.io/node-type": node_type, "ray.io/group": group}
        if name:
            labels["ray.io/cluster"] = name
        yield labels, _container_ports(tpl.get("spec") or {}) | {RAY_METRICS_PORT}


def _pods(r) -> list[tuple[str, dict, set[str]]]:
    """(namespace, labels, container port names) of every pod our objects make."""
    out = []
    for objs in r.components.values():
        for o in objs:
            md, spec, kind = o.get("metadata") or {}, o.get("spec") or {}, o.get("kind")
            ns = md.get("namespace")
            if kind in WORKLOAD_KINDS:
                tpl = spec.get("template") or {}
                out.append((ns, (tpl.get("metadata") or {}).get("labels") or {}, _container_ports(tpl.get("spec"))))
            elif kind == "CronJob":
                tpl = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
                out.append((ns, (tpl.get("metadata") or {}).get("labels") or {}, _container_ports(tpl.get("spec"))))
            elif kind in ("RayCluster", "RayService") and str(o.get("apiVersion", "")).startswith("ray.io/"):
                cluster = spec.get("rayClusterConfig") if kind == "RayService" else spec
                # A RayService's cluster gets a generated name: no ray.io/cluster value to match.
                name = md.get("name", "") if kind == "RayCluster" else ""
                out += [(ns, labels, ports) for labels, ports in _ray_pods(name, cluster or {})]
    return out


def _chart_target(r, selector: dict, namespaces: list[str]) -> bool:
    """The selector names a chart release installed in one of the selected namespaces."""
    wanted = {v for k, v in (selector.get("matchLabels") or {}).items() if k in RELEASE_LABELS}
    return any(rel.namespace in namespaces and rel.release in wanted for rel in r.helm.values())


# --------------------------------------------------------------------------- the checks
def _check_selected(where: str, o: Obj, sel: dict, ns_sel: dict, ns_labels: dict) -> list[str]:
    out = []
    labels = o["metadata"].get("labels") or {}
    kind = o["kind"]
    if not matches(sel, labels):
        out.append(f"{where}: its labels {dict(sorted(labels.items()))} don't satisfy Prometheus's "
                   f"{MONITOR_KINDS[kind]}Selector {sel} (kube-prometheus-stack values): Prometheus ignores it")
    ns = o["metadata"].get("namespace")
    if not matches(ns_sel, ns_labels.get(ns, {"kubernetes.io/metadata.name": ns})):
        out.append(f"{where}: namespace {ns} is outside Prometheus's {MONITOR_KINDS[kind]}NamespaceSelector {ns_sel}")
    return out


def _check_service_monitor(r, where: str, o: Obj, services, all_ns) -> list[str]:
    spec = o.get("spec") or {}
    sel = spec.get("selector") or {}
    namespaces = _selected_namespaces(o, all_ns)
    hits = [(labels, ports) for ns, labels, ports in services if ns in namespaces and matches(sel, labels)]
    if not hits:
        if _chart_target(r, sel, namespaces):
            return []  # a chart's Service (not rendered here): see the module docstring
        return [f"{where}: no Service in {', '.join(namespaces)} carries its selector labels "
                f"{sel.get('matchLabels') or sel}: Prometheus would scrape nothing"]
    names = {p.get("name") for _, ports in hits for p in ports}
    targets = {str(p.get("targetPort", p.get("port"))) for _, ports in hits for p in ports}
    out = []
    for i, ep in enumerate(spec.get("endpoints") or []):
        if "port" in ep and ep["port"] not in names:
            out.append(f"{where}: endpoints[{i}].port {ep['port']!r} is not a port of the selected Services "
                       f"({', '.join(sorted(n for n in names if n))})")
        elif "port" not in ep and "targetPort" in ep and str(ep["targetPort"]) not in targets:
            out.append(f"{where}: endpoints[{i}].targetPort {ep['targetPort']!r} is no target port of the selected Services")
    return out


def _check_pod_monitor(r, where: str, o: Obj, pods, all_ns) -> list[str]:
    spec = o.get("spec") or {}
    sel = spec.get("selector") or {}
    namespaces = _selected_namespaces(o, all_ns)
    hits = [ports for ns, labels, ports in pods if ns in namespaces and matches(sel, labels)]
    if not hits:
        if _chart_target(r, sel, namespaces):
            return []
        return [f"{where}: no pod template in {', '.join(namespaces)} carries its selector labels "
                f"{sel.get('matchLabels') or sel}: Prometheus would scrape nothing"]
    names = set().union(*hits)
    return [f"{where}: podMetricsEndpoints[{i}].port {ep['port']!r} is no container port of the selected pods "
            f"({', '.join(sorted(names)) or 'none declared'})"
            for i, ep in enumerate(spec.get("podMetricsEndpoints") or []) if "port" in ep and ep["port"] not in names]


def check(r) -> list[str]:
    selectors = prometheus_selectors(r)
    if selectors is None:
        return []
    ns_labels = _namespace_labels(r)
    services, pods = _services(r), _pods(r)
    out: list[str] = []
    for comp, objs in sorted(r.components.items()):
        for o in objs:
            kind = o.get("kind")
            if kind not in MONITOR_KINDS or not str(o.get("apiVersion", "")).startswith(GROUP + "/"):
                continue
            where = f"{r.env.name}/{comp}/{kind}/{o['metadata'].get('name')}"
            sel, ns_sel = selectors[kind]
            out += _check_selected(where, o, sel, ns_sel, ns_labels)
            if kind == "ServiceMonitor":
                out += _check_service_monitor(r, where, o, services, ns_labels)
            elif kind == "PodMonitor":
                out += _check_pod_monitor(r, where, o, pods, ns_labels)
    return out
