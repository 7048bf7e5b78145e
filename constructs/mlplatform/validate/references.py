"""Cross-object references, checked over everything Argo CD applies to a cluster.

The input is the union of what lands on a cluster: our own objects, what pinned Helm charts
render (operators, webhooks, RBAC, chart-made Secrets) and upstream manifests, as plain dicts in
Kubernetes API shape. `check` reports each reference that the cluster would find broken, with a
message that names the reference (as a field path) and says what happens on the cluster:

    spec.template.spec.containers[app].env[DB_PASSWORD]: Secret "db" has no key "password"
    (keys: user, pass): the pod fails to start (CreateContainerConfigError)

What exists on the cluster without being in the input (namespaces made by the installer,
Secrets made at runtime by a controller or hook, ...) is passed as `Externals`. Built-ins are
known here: the default/kube-* namespaces, the `default` ServiceAccount and the
`kube-root-ca.crt` ConfigMap of every namespace, the cluster-admin/admin/edit/view and
`system:*` ClusterRoles. Objects some operators create from a custom resource are modelled too,
so references to them are not reported as broken: Secrets made by ExternalSecret,
ClusterExternalSecret, SealedSecret and cert-manager Certificate (and Ingress-shim TLS); the
Services KubeRay and the Keycloak operator create; the pods of prometheus-operator's Prometheus
and Alertmanager.

Standard library only, on purpose: this module must not depend on the rest of the package.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

__all__ = ["Externals", "check"]


@dataclass(frozen=True)
class Externals:
    """Things that exist on the cluster although they are not among the checked objects."""

    namespaces: frozenset[str] = frozenset()
    secrets: frozenset[tuple[str, str]] = frozenset()  # (namespace, name); any key accepted
    service_accounts: frozenset[tuple[str, str]] = frozenset()
    cluster_roles: frozenset[str] = frozenset()
    storage_classes: frozenset[str] = frozenset()
    config_maps: frozenset[tuple[str, str]] = frozenset()  # (namespace, name); any key accepted


BUILTIN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
BUILTIN_CLUSTER_ROLES = frozenset({"cluster-admin", "admin", "edit", "view"})
ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"
SA_TOKEN_KEYS = ("token", "ca.crt", "namespace")
CERT_KEYS = ("tls.crt", "tls.key", "ca.crt")
ALB_CONTROLLER = "ingress.k8s.aws/alb"

# Kinds that are cluster-scoped: a metadata.namespace on them is ignored, not a reference.
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "CSINode",
    "VolumeAttachment", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding", "IngressClass", "PriorityClass", "RuntimeClass",
    "ClusterTrainingRuntime", "ClusterSecretStore", "ClusterExternalSecret", "ClusterIssuer",
    "NodePool", "EC2NodeClass", "NodeClaim", "Queue", "FlowSchema",
    "PriorityLevelConfiguration", "CertificateSigningRequest", "IngressClassParams",
    "ClusterPolicy", "ClusterServingRuntime", "ClusterStorageContainer", "ClusterQueue",
    "ResourceFlavor", "ClusterPushSecret", "ClusterGenerator",
})

_WORKLOADS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job",
                        "ReplicationController", "PodTemplate"})

Finding = tuple[dict, str]


# --- small helpers --------------------------------------------------------------------------


def _d(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def _l(v: Any) -> list:
    return v if isinstance(v, list) else []


def _meta(obj: dict) -> dict:
    return _d(obj.get("metadata"))


def _name(obj: dict) -> str:
    return str(_meta(obj).get("name") or "")


def _ns(obj: dict) -> str:
    return str(_meta(obj).get("namespace") or "")


def _group(obj: dict) -> str:
    av = str(obj.get("apiVersion") or "")
    return av.rsplit("/", 1)[0] if "/" in av else ""


def _is(obj: dict, group: str, *kinds: str) -> bool:
    return obj.get("kind") in kinds and _group(obj) == group


def _labels(v: Any) -> dict[str, str]:
    return {str(k): str(x) for k, x in _d(v).items()}


def _keys_text(keys: Iterable[str]) -> str:
    ks = list(keys)
    return f"keys: {', '.join(ks)}" if ks else "no keys"


def _fmt_map(m: dict) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(m.items())) + "}"


class _KeySet:
    """Keys a Secret/ConfigMap will hold; `any` when they cannot be known statically."""

    __slots__ = ("keys", "any")

    def __init__(self, keys: Iterable[str] = (), any_key: bool = False):
        self.keys: dict[str, None] = dict.fromkeys(str(k) for k in keys)
        self.any = any_key

    def add(self, other: "_KeySet") -> None:
        self.keys.update(other.keys)
        self.any = self.any or other.any

    def has(self, key: str) -> bool:
        return self.any or key in self.keys


# --- label selectors ------------------------------------------------------------------------


def selector_matches(selector: dict | None, labels: dict[str, str],
                     patterns: dict[str, re.Pattern] | None = None) -> bool:
    """metav1.LabelSelector semantics (matchLabels + matchExpressions); {} matches everything.

    `patterns` stands for labels whose value is only known by shape (a StatefulSet's pod-name).
    """
    sel = _d(selector)
    patterns = patterns or {}

    def value_is(key: str, value: str) -> bool:
        if key in labels:
            return labels[key] == value
        p = patterns.get(key)
        return bool(p and p.fullmatch(value))

    def present(key: str) -> bool:
        return key in labels or key in patterns

    for k, v in _d(sel.get("matchLabels")).items():
        if not value_is(str(k), str(v)):
            return False
    for expr in _l(sel.get("matchExpressions")):
        expr = _d(expr)
        key, op = str(expr.get("key", "")), expr.get("operator")
        values = [str(x) for x in _l(expr.get("values"))]
        if op == "In":
            if not any(value_is(key, v) for v in values):
                return False
        elif op == "NotIn":
            if key in labels and labels[key] in values:
                return False
        elif op == "Exists":
            if not present(key):
                return False
        elif op == "DoesNotExist":
            if present(key):
                return False
        else:
            return False  # unknown operator: the API server would reject the selector
    return True


def _map_matches(selector: dict, labels: dict[str, str],
                 patterns: dict[str, re.Pattern] | None = None) -> bool:
    return selector_matches({"matchLabels": selector}, labels, patterns)


# --- pod templates --------------------------------------------------------------------------


@dataclass
class _PodTemplate:
    owner: dict
    path: str  # path to the pod spec inside owner
    namespace: str | None  # None: cluster-scoped owner, pods run in some other namespace
    labels: dict[str, str]
    spec: dict
    patterns: dict[str, re.Pattern] = field(default_factory=dict)
    claim_prefixes: tuple[str, ...] = ()  # PVC names a StatefulSet makes: <tpl>-<sts>-<ordinal>
    synthetic: bool = False  # made up for an operator's pods: only a target, never checked

    def matches(self, selector: dict) -> bool:
        return _map_matches(selector, self.labels, self.patterns)

    def port_names(self) -> set[str]:
        return {str(p.get("name")) for c in _containers(self.spec) for p in _l(c.get("ports"))
                if isinstance(p, dict) and p.get("name")}


def _containers(spec: dict) -> list[dict]:
    return [c for key in ("initContainers", "containers") for c in _l(spec.get(key))
            if isinstance(c, dict)]


def _tpl(owner: dict, path: str, template: Any, ns: str | None,
         extra: dict[str, str] | None = None, **kw: Any) -> _PodTemplate | None:
    template = _d(template)
    spec = template.get("spec")
    if not isinstance(spec, dict):
        return None
    labels = _labels(_meta(template).get("labels"))
    labels.update(extra or {})
    return _PodTemplate(owner, path, ns, labels, spec, **kw)


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


def _pod_templates(obj: dict) -> Iterator[_PodTemplate]:
    kind, ns, name = obj.get("kind"), _ns(obj), _name(obj)
    spec = _d(obj.get("spec"))
    found: Iterable[_PodTemplate | None] = ()
    if kind == "Pod" and _group(obj) == "":
        found = [_PodTemplate(obj, "spec", ns, _labels(_meta(obj).get("labels")), spec)]
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


def _operator_pods(obj: dict) -> Iterator[_PodTemplate]:
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
    yield _PodTemplate(obj, "spec", _ns(obj), labels, pod_spec,
                       patterns={"operator.prometheus.io/shard": re.compile(r"\d+")}, synthetic=True)


def _operator_services(obj: dict, templates: list[_PodTemplate]) -> Iterator[dict]:
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


# --- the index of what exists ---------------------------------------------------------------


def _external_secret_keys(spec: dict) -> _KeySet:
    """Keys of the Secret an ExternalSecret (spec) makes, as the ESO controller builds it.

    No template: the provider keys (spec.data[].secretKey; spec.dataFrom: unknown). A template
    with neither data nor templateFrom only shapes metadata/type: provider keys again. Otherwise
    the template's keys; mergePolicy Merge keeps the provider keys too, Replace (the default)
    does not.
    """
    provider = _KeySet(d.get("secretKey") for d in map(_d, _l(spec.get("data"))) if d.get("secretKey"))
    provider.any = bool(_l(spec.get("dataFrom")))
    tpl = _d(_d(spec.get("target")).get("template"))
    if not _d(spec.get("target")).get("template"):
        return provider
    tpl_data, tpl_from = _d(tpl.get("data")), _l(tpl.get("templateFrom"))
    if not tpl_data and not tpl_from:
        return provider
    keys = _KeySet(tpl_data)
    for tf in map(_d, tpl_from):
        if tf.get("target", "Data") != "Data":
            continue  # rendered into labels/annotations
        if tf.get("literal") is not None:
            keys.any = True  # the literal's output keys are themselves templated
        for src in (_d(tf.get("configMap")), _d(tf.get("secret"))):
            for item in map(_d, _l(src.get("items"))):
                if item.get("templateAs", "Values") == "Values" and item.get("key"):
                    keys.keys[str(item["key"])] = None
                else:
                    keys.any = True
    if tpl.get("mergePolicy") == "Merge":
        keys.add(provider)
    return keys


class _Index:
    def __init__(self, objs: list[dict], ext: Externals):
        self.ext = ext
        self.namespaces: dict[str, dict[str, str]] = {n: {"kubernetes.io/metadata.name": n}
                                                      for n in BUILTIN_NAMESPACES | ext.namespaces}
        self.secrets: dict[tuple[str, str], _KeySet] = {}
        self.config_maps: dict[tuple[str, str], _KeySet] = {}
        self.service_accounts: set[tuple[str, str]] = set(ext.service_accounts)
        self.roles: set[tuple[str, str]] = set()
        self.cluster_roles: set[str] = set(BUILTIN_CLUSTER_ROLES | ext.cluster_roles)
        self.storage_classes: set[str] = set(ext.storage_classes)
        self.pvcs: set[tuple[str, str]] = set()
        self.services: dict[tuple[str, str], dict] = {}
        self.ingress_classes: dict[str, dict] = {}
        self.templates: list[_PodTemplate] = []
        merge_secrets: list[tuple[tuple[str, str], _KeySet]] = []
        cluster_external: list[dict] = []

        for o in objs:
            if not isinstance(o, dict):
                continue
            kind, g, ns, name = o.get("kind"), _group(o), _ns(o), _name(o)
            spec = _d(o.get("spec"))
            if g == "":
                if kind == "Namespace":
                    self.namespaces[name] = {**_labels(_meta(o).get("labels")),
                                             "kubernetes.io/metadata.name": name}
                elif kind == "Secret":
                    keys = _KeySet([*_d(o.get("data")), *_d(o.get("stringData"))])
                    if o.get("type") == "kubernetes.io/service-account-token":
                        keys.add(_KeySet(SA_TOKEN_KEYS))  # filled in by the token controller
                    self._add(self.secrets, (ns, name), keys)
                elif kind == "ConfigMap":
                    self._add(self.config_maps, (ns, name),
                              _KeySet([*_d(o.get("data")), *_d(o.get("binaryData"))]))
                elif kind == "ServiceAccount":
                    self.service_accounts.add((ns, name))
                elif kind == "PersistentVolumeClaim":
                    self.pvcs.add((ns, name))
                elif kind == "Service":
                    self.services[(ns, name)] = o
            elif g == "rbac.authorization.k8s.io":
                if kind == "Role":
                    self.roles.add((ns, name))
                elif kind == "ClusterRole":
                    self.cluster_roles.add(name)
            elif g == "storage.k8s.io" and kind == "StorageClass":
                self.storage_classes.add(name)
            elif g == "networking.k8s.io" and kind == "IngressClass":
                self.ingress_classes[name] = o
            elif g == "external-secrets.io" and kind == "ExternalSecret":
                target = _d(spec.get("target"))
                key = (ns, str(target.get("name") or name))
                policy = target.get("creationPolicy", "Owner")
                if policy == "Merge":  # only adds keys to a Secret made by something else
                    merge_secrets.append((key, _external_secret_keys(spec)))
                elif policy != "None":
                    self._add(self.secrets, key, _external_secret_keys(spec))
            elif g == "external-secrets.io" and kind == "ClusterExternalSecret":
                cluster_external.append(o)
            elif g == "bitnami.com" and kind == "SealedSecret":
                keys = _KeySet([*_d(spec.get("encryptedData")),
                                *_d(_d(spec.get("template")).get("data"))])
                self._add(self.secrets, (ns, name), keys)
            elif g == "cert-manager.io" and kind == "Certificate" and spec.get("secretName"):
                keys = _KeySet(CERT_KEYS, any_key=bool(spec.get("keystores")
                                                        or spec.get("additionalOutputFormats")))
                self._add(self.secrets, (ns, str(spec["secretName"])), keys)
            self.templates.extend(_pod_templates(o))
            self.templates.extend(_operator_pods(o))

        for o in objs:  # operator-made Services, unless the input has one of that name
            if isinstance(o, dict):
                for s in _operator_services(o, self.templates):
                    self.services.setdefault((_ns(s), _name(s)), s)
        for o in cluster_external:
            spec = _d(o.get("spec"))
            es_spec = _d(spec.get("externalSecretSpec"))
            target = _d(es_spec.get("target"))
            sname = str(target.get("name") or spec.get("externalSecretName") or _name(o))
            namespaces = {str(n) for n in _l(spec.get("namespaces"))}
            selectors = [s for s in [spec.get("namespaceSelector"), *_l(spec.get("namespaceSelectors"))]
                         if isinstance(s, dict)]
            namespaces |= {n for n, lbl in self.namespaces.items()
                           if any(selector_matches(s, lbl) for s in selectors)}
            if target.get("creationPolicy", "Owner") in ("Merge", "None"):
                continue
            for n in namespaces:
                self._add(self.secrets, (n, sname), _external_secret_keys(es_spec))
        for key, keys in merge_secrets:
            if key in self.secrets or key in ext.secrets:
                self._add(self.secrets, key, keys)

    @staticmethod
    def _add(table: dict, key: tuple[str, str], keys: _KeySet) -> None:
        if key in table:
            table[key].add(keys)
        else:
            table[key] = keys

    def secret(self, ns: str, name: str) -> _KeySet | None:
        if (ns, name) in self.ext.secrets:
            return _KeySet(any_key=True)
        return self.secrets.get((ns, name))

    def config_map(self, ns: str, name: str) -> _KeySet | None:
        if (ns, name) in self.ext.config_maps:
            return _KeySet(any_key=True)
        if name == ROOT_CA_CONFIG_MAP and (ns, name) not in self.config_maps:
            return _KeySet(["ca.crt"])
        return self.config_maps.get((ns, name))

    def has_sa(self, ns: str, name: str) -> bool:
        return name == "default" or (ns, name) in self.service_accounts

    def has_cluster_role(self, name: str) -> bool:
        return name in self.cluster_roles or name.startswith("system:")

    def pvc_exists(self, ns: str, name: str) -> bool:
        if (ns, name) in self.pvcs:
            return True
        for t in self.templates:
            if t.namespace == ns:
                for p in t.claim_prefixes:
                    if name.startswith(p) and name[len(p):].isdigit():
                        return True
        return False

    def services_in(self, namespaces: set[str] | None) -> list[dict]:
        return [s for (n, _), s in sorted(self.services.items())
                if namespaces is None or n in namespaces]


# --- the checks -----------------------------------------------------------------------------


class _Checker:
    def __init__(self, objs: list[dict], ext: Externals):
        self.objs = [o for o in objs if isinstance(o, dict)]
        self.ix = _Index(self.objs, ext)
        self.out: list[Finding] = []

    def report(self, obj: dict, message: str) -> None:
        self.out.append((obj, message))

    def run(self) -> list[Finding]:
        for t in self.ix.templates:
            if not t.synthetic:
                self.pod_template(t)
        for o in self.objs:
            kind, g = o.get("kind"), _group(o)
            if g == "" and kind == "Service":
                self.service(o)
            elif g == "" and kind == "PersistentVolumeClaim":
                self.storage_class(o, "spec", _d(o.get("spec")), _meta(o))
            elif g == "apps" and kind == "StatefulSet":
                for i, v in enumerate(_l(_d(o.get("spec")).get("volumeClaimTemplates"))):
                    vname = _meta(v).get("name") or i
                    self.storage_class(o, f"spec.volumeClaimTemplates[{vname}].spec",
                                       _d(_d(v).get("spec")), _meta(v))
            elif g == "networking.k8s.io" and kind == "Ingress":
                self.ingress(o)
            elif g == "admissionregistration.k8s.io" and kind in (
                    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
                self.webhooks(o)
            elif g == "apiregistration.k8s.io" and kind == "APIService":
                self.api_service(o)
            elif g == "apiextensions.k8s.io" and kind == "CustomResourceDefinition":
                self.crd_conversion(o)
            elif g == "rbac.authorization.k8s.io" and kind in ("RoleBinding", "ClusterRoleBinding"):
                self.binding(o)
            elif g == "monitoring.coreos.com" and kind == "ServiceMonitor":
                self.service_monitor(o)
            elif g == "monitoring.coreos.com" and kind == "PodMonitor":
                self.pod_monitor(o)
            self.namespace(o)
        seen: set[tuple[int, str]] = set()
        unique = []
        for obj, msg in self.out:
            if (id(obj), msg) not in seen:
                seen.add((id(obj), msg))
                unique.append((obj, msg))
        unique.sort(key=lambda f: (str(f[0].get("kind", "")), _ns(f[0]), _name(f[0]), f[1]))
        return unique

    # 8. namespaces ---------------------------------------------------------------------------

    def namespace(self, o: dict) -> None:
        ns = _ns(o)
        if ns and o.get("kind") not in CLUSTER_SCOPED and ns not in self.ix.namespaces:
            self.report(o, f'metadata.namespace: namespace "{ns}" does not exist: Argo CD\'s sync fails')

    # 1. pod templates ------------------------------------------------------------------------

    def pod_template(self, t: _PodTemplate) -> None:
        if t.namespace is None:
            return  # ClusterTrainingRuntime: the pods run in the namespace of each TrainJob
        ns, spec, p, ix = t.namespace, t.spec, t.path, self.ix
        bare_pod = t.owner.get("kind") == "Pod"

        sa = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
        if not ix.has_sa(ns, sa):
            effect = ("the Pod is rejected at admission: Argo CD's sync fails" if bare_pod else
                      "pod creation is rejected (error looking up service account), so no pods run")
            self.report(t.owner, f'{p}.serviceAccountName: ServiceAccount "{sa}" not found in '
                                 f'namespace "{ns}": {effect}')

        for ref in map(_d, _l(spec.get("imagePullSecrets"))):
            name = ref.get("name")
            if name and ix.secret(ns, str(name)) is None:
                self.report(t.owner, f'{p}.imagePullSecrets[{name}]: Secret "{name}" not found: '
                                     'the kubelet pulls without these credentials; private images '
                                     'fail with ImagePullBackOff')

        mount = "the pod is stuck in ContainerCreating (FailedMount)"
        for vol in map(_d, _l(spec.get("volumes"))):
            vp = f"{p}.volumes[{vol.get('name')}]"
            if "secret" in vol:
                src = _d(vol["secret"])
                self.object_ref(t.owner, f"{vp}.secret", "Secret", ns, src.get("secretName"),
                                src, [i.get("key") for i in map(_d, _l(src.get("items")))], mount)
            if "configMap" in vol:
                src = _d(vol["configMap"])
                self.object_ref(t.owner, f"{vp}.configMap", "ConfigMap", ns, src.get("name"),
                                src, [i.get("key") for i in map(_d, _l(src.get("items")))], mount)
            for j, source in enumerate(map(_d, _l(_d(vol.get("projected")).get("sources")))):
                for field_, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                    if field_ in source:
                        src = _d(source[field_])
                        self.object_ref(t.owner, f"{vp}.projected.sources[{j}].{field_}", kind, ns,
                                        src.get("name"), src,
                                        [i.get("key") for i in map(_d, _l(src.get("items")))], mount)
            claim = _d(vol.get("persistentVolumeClaim")).get("claimName")
            if claim and not ix.pvc_exists(ns, str(claim)):
                self.report(t.owner, f'{vp}.persistentVolumeClaim: PersistentVolumeClaim "{claim}" '
                                     'not found: the pod stays Pending (unschedulable)')

        config = "the pod fails to start (CreateContainerConfigError)"
        for key in ("initContainers", "containers"):
            for c in map(_d, _l(spec.get(key))):
                cp = f"{p}.{key}[{c.get('name')}]"
                for e in map(_d, _l(c.get("env"))):
                    vf = _d(e.get("valueFrom"))
                    for field_, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                        if field_ in vf:
                            ref = _d(vf[field_])
                            self.object_ref(t.owner, f"{cp}.env[{e.get('name')}]", kind, ns,
                                            ref.get("name"), ref, [ref.get("key")], config)
                for i, ef in enumerate(map(_d, _l(c.get("envFrom")))):
                    for field_, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                        if field_ in ef:
                            ref = _d(ef[field_])
                            self.object_ref(t.owner, f"{cp}.envFrom[{i}].{field_}", kind, ns,
                                            ref.get("name"), ref, [], config)

    def object_ref(self, owner: dict, path: str, kind: str, ns: str, name: Any, ref: dict,
                   keys: list[Any], effect: str) -> None:
        if not name or ref.get("optional") is True:
            return
        name = str(name)
        have = self.ix.secret(ns, name) if kind == "Secret" else self.ix.config_map(ns, name)
        if have is None:
            self.report(owner, f'{path}: {kind} "{name}" not found in namespace "{ns}": {effect}')
            return
        for k in keys:
            if k and not have.has(str(k)):
                self.report(owner, f'{path}: {kind} "{name}" has no key "{k}" '
                                   f'({_keys_text(have.keys)}): {effect}')

    # 2. services -----------------------------------------------------------------------------

    def service(self, svc: dict) -> None:
        spec, ns = _d(svc.get("spec")), _ns(svc)
        selector = _labels(spec.get("selector"))
        if spec.get("type") == "ExternalName" or not selector:
            return
        pods = [t for t in self.ix.templates if t.namespace == ns and t.matches(selector)]
        if not pods:
            self.report(svc, f"spec.selector {_fmt_map(selector)}: selects no pods: the Service "
                             "has no endpoints")
            return
        names = set().union(*(t.port_names() for t in pods))
        for port in map(_d, _l(spec.get("ports"))):
            tp = port.get("targetPort")
            if isinstance(tp, str) and not tp.isdigit() and tp not in names:
                label = port.get("name") or port.get("port")
                self.report(svc, f'spec.ports[{label}].targetPort: no selected pod has a container '
                                 f'port named "{tp}": the Service has no endpoints for this port')

    # 3. ingress ------------------------------------------------------------------------------

    def _is_alb(self, ing: dict) -> bool:
        cls = _d(ing.get("spec")).get("ingressClassName") or _d(_meta(ing).get("annotations")).get(
            "kubernetes.io/ingress.class")
        if cls is None:  # the default IngressClass, if one is marked
            defaults = [c for c in self.ix.ingress_classes.values() if _d(_meta(c).get(
                "annotations")).get("ingressclass.kubernetes.io/is-default-class") == "true"]
            return any(_d(c.get("spec")).get("controller") == ALB_CONTROLLER for c in defaults)
        ic = self.ix.ingress_classes.get(str(cls))
        if ic is not None:
            return _d(ic.get("spec")).get("controller") == ALB_CONTROLLER
        return str(cls) == "alb" or any(str(k).startswith("alb.ingress.kubernetes.io/")
                                        for k in _d(_meta(ing).get("annotations")))

    def ingress(self, ing: dict) -> None:
        spec, ns = _d(ing.get("spec")), _ns(ing)
        annotations = _d(_meta(ing).get("annotations"))
        alb = self._is_alb(ing)
        effect = ("the AWS Load Balancer Controller fails to build the model and stops reconciling "
                  "this Ingress (and its IngressGroup)" if alb else
                  "the ingress controller answers 503 for this path")
        backends: list[tuple[str, dict]] = []
        if "defaultBackend" in spec:
            backends.append(("spec.defaultBackend", _d(spec["defaultBackend"])))
        for r, rule in enumerate(map(_d, _l(spec.get("rules")))):
            host = rule.get("host") or r
            for i, path in enumerate(map(_d, _l(_d(rule.get("http")).get("paths")))):
                backends.append((f"spec.rules[{host}].http.paths[{path.get('path') or i}].backend",
                                 _d(path.get("backend"))))
        for bp, backend in backends:
            svc_ref = backend.get("service")
            if not isinstance(svc_ref, dict):
                continue  # a resource backend
            name, port = str(svc_ref.get("name") or ""), _d(svc_ref.get("port"))
            if alb and port.get("name") == "use-annotation":
                self.alb_action(ing, bp, name, annotations, effect)
                continue
            self.service_port(ing, f"{bp}.service", ns, name, port.get("number"), port.get("name"),
                              effect)
        if alb:
            self.alb_oidc(ing, annotations)
            return  # the AWS LB controller takes certificates from ACM, not from tls[].secretName
        if annotations.get("cert-manager.io/cluster-issuer") or annotations.get("cert-manager.io/issuer"):
            return  # cert-manager's ingress-shim makes a Certificate for each tls[].secretName
        for tls in map(_d, _l(spec.get("tls"))):
            sn = tls.get("secretName")
            if sn and self.ix.secret(ns, str(sn)) is None:
                self.report(ing, f'spec.tls[{sn}].secretName: Secret "{sn}" not found in namespace '
                                 f'"{ns}": the controller serves its default certificate for these hosts')

    def service_port(self, obj: dict, path: str, ns: str, name: str, number: Any, pname: Any,
                     effect: str) -> None:
        svc = self.ix.services.get((ns, name))
        if svc is None:
            self.report(obj, f'{path}: Service "{name}" not found in namespace "{ns}": {effect}')
            return
        ports = [_d(p) for p in _l(_d(svc.get("spec")).get("ports"))]
        listing = ", ".join(f"{p.get('port')}/{p['name']}" if p.get("name") else str(p.get("port"))
                            for p in ports) or "none"
        if number is not None and not any(str(p.get("port")) == str(number) for p in ports):
            self.report(obj, f'{path}: Service "{name}" has no port {number} (ports: {listing}): {effect}')
        elif pname is not None and number is None and not any(p.get("name") == pname for p in ports):
            self.report(obj, f'{path}: Service "{name}" has no port named "{pname}" '
                             f'(ports: {listing}): {effect}')

    def alb_action(self, ing: dict, bp: str, name: str, annotations: dict, effect: str) -> None:
        key = f"alb.ingress.kubernetes.io/actions.{name}"
        if key not in annotations:
            self.report(ing, f'{bp}.service: port "use-annotation" but no annotation "{key}": {effect}')
            return
        try:
            action = json.loads(str(annotations[key]))
        except ValueError:
            self.report(ing, f'metadata.annotations[{key}]: not valid JSON: {effect}')
            return
        for i, tg in enumerate(map(_d, _l(_d(_d(action).get("forwardConfig")).get("targetGroups")))):
            if tg.get("serviceName"):
                sp = tg.get("servicePort")
                number, pname = (sp, None) if str(sp).isdigit() else (None, sp)
                self.service_port(ing, f"metadata.annotations[{key}].forwardConfig.targetGroups[{i}]",
                                  _ns(ing), str(tg["serviceName"]), number, pname, effect)

    def alb_oidc(self, ing: dict, annotations: dict) -> None:
        key = "alb.ingress.kubernetes.io/auth-idp-oidc"
        if annotations.get("alb.ingress.kubernetes.io/auth-type") != "oidc" or key not in annotations:
            return
        try:
            sn = _d(json.loads(str(annotations[key]))).get("secretName")
        except ValueError:
            return
        if sn:
            self.object_ref(ing, f"metadata.annotations[{key}].secretName", "Secret", _ns(ing), sn, {},
                            ["clientID", "clientSecret"],
                            "the AWS Load Balancer Controller cannot configure OIDC and stops "
                            "reconciling this Ingress")

    # 4. webhooks and aggregated APIs ---------------------------------------------------------

    def webhooks(self, cfg: dict) -> None:
        for i, wh in enumerate(map(_d, _l(cfg.get("webhooks")))):
            ref = _d(_d(wh.get("clientConfig")).get("service"))
            if not ref:
                continue  # url-addressed
            policy = wh.get("failurePolicy") or "Fail"
            if policy == "Fail":
                missing = ("failurePolicy Fail: every matching request is rejected while the "
                           "Service is missing")
                no_port = ("failurePolicy Fail: every matching request is rejected (the webhook "
                           "is unreachable)")
            else:
                missing = no_port = (f"failurePolicy {policy}: the webhook is skipped for every "
                                     "matching request")
            self.service_ref(cfg, f"webhooks[{wh.get('name') or i}].clientConfig.service", ref, missing,
                             no_port)

    def service_ref(self, obj: dict, path: str, ref: dict, effect: str, port_effect: str = "") -> None:
        """A Service addressed as {namespace, name, port (default 443)} by the API server."""
        ns, name, port = str(ref.get("namespace") or ""), str(ref.get("name") or ""), ref.get("port", 443)
        svc = self.ix.services.get((ns, name))
        if svc is None:
            self.report(obj, f'{path}: Service "{ns}/{name}" not found: {effect}')
        elif not any(str(_d(p).get("port")) == str(port) for p in _l(_d(svc.get("spec")).get("ports"))):
            self.report(obj, f'{path}: Service "{ns}/{name}" has no port {port}: {port_effect or effect}')

    def api_service(self, api: dict) -> None:
        spec = _d(api.get("spec"))
        ref = _d(spec.get("service"))
        if ref:
            gv = f"{spec.get('group') or ''}/{spec.get('version') or ''}"
            self.service_ref(api, "spec.service", ref,
                             f"the APIService is Unavailable: requests to {gv} fail (503) and API "
                             "discovery reports it as failing")

    def crd_conversion(self, crd: dict) -> None:
        conv = _d(_d(crd.get("spec")).get("conversion"))
        ref = _d(_d(_d(conv.get("webhook")).get("clientConfig")).get("service"))
        if conv.get("strategy") == "Webhook" and ref:
            self.service_ref(crd, "spec.conversion.webhook.clientConfig.service", ref,
                             "conversion fails: reads and writes in any version other than the "
                             "stored one are rejected")

    # 5. RBAC ---------------------------------------------------------------------------------

    def binding(self, b: dict) -> None:
        ns, ix = _ns(b), self.ix
        role = _d(b.get("roleRef"))
        rkind, rname = role.get("kind"), str(role.get("name") or "")
        effect = "the binding grants nothing (the subjects' requests are Forbidden)"
        if rkind == "Role" and b.get("kind") == "RoleBinding":
            if (ns, rname) not in ix.roles:
                self.report(b, f'roleRef: Role "{rname}" not found in namespace "{ns}": {effect}')
        elif rkind == "ClusterRole":
            if not ix.has_cluster_role(rname):
                self.report(b, f'roleRef: ClusterRole "{rname}" not found: {effect}')
        else:
            self.report(b, f'roleRef: a {b.get("kind")} cannot refer to a {rkind}: the API server '
                           "rejects it and Argo CD's sync fails")
        for s in map(_d, _l(b.get("subjects"))):
            if s.get("kind") != "ServiceAccount":
                continue
            sns, sname = str(s.get("namespace") or ns), str(s.get("name") or "")
            if not ix.has_sa(sns, sname):
                self.report(b, f'subjects[ServiceAccount {sns}/{sname}]: ServiceAccount not found: '
                               'binds nothing: no workload runs as it (warning)')

    # 6. storage classes ----------------------------------------------------------------------

    def storage_class(self, obj: dict, path: str, spec: dict, meta: dict) -> None:
        sc = spec.get("storageClassName")
        if sc is None:
            sc = _d(meta.get("annotations")).get("volume.beta.kubernetes.io/storage-class")
            path = "metadata.annotations[volume.beta.kubernetes.io/storage-class]" if sc else path
        else:
            path = f"{path}.storageClassName"
        if sc in (None, "") or str(sc) in self.ix.storage_classes:
            return  # unset: the default class; "": bind statically to a PersistentVolume
        self.report(obj, f'{path}: StorageClass "{sc}" not found: the claim stays Pending and pods '
                         'using it never schedule')

    # 7. ServiceMonitor / PodMonitor ----------------------------------------------------------

    def _monitor_namespaces(self, mon: dict) -> set[str] | None:
        sel = _d(_d(mon.get("spec")).get("namespaceSelector"))
        if sel.get("any") is True:
            return None
        names = {str(n) for n in _l(sel.get("matchNames"))}
        return names or {_ns(mon)}

    def service_monitor(self, mon: dict) -> None:
        spec = _d(mon.get("spec"))
        namespaces = self._monitor_namespaces(mon)
        where = "any namespace" if namespaces is None else ", ".join(sorted(namespaces))
        selector = spec.get("selector")
        svcs = [s for s in self.ix.services_in(namespaces)
                if isinstance(selector, dict) and selector_matches(selector, _labels(_meta(s).get("labels")))]
        if not svcs:
            self.report(mon, f"spec.selector: matches no Service in {where}: Prometheus has no "
                             "targets for this ServiceMonitor")
            return
        names = {str(_d(p).get("name")) for s in svcs for p in _l(_d(s.get("spec")).get("ports"))}
        for i, ep in enumerate(map(_d, _l(spec.get("endpoints")))):
            port = ep.get("port")
            if port and str(port) not in names:
                self.report(mon, f'spec.endpoints[{i}].port: no matched Service has a port named '
                                 f'"{port}" (ports: {", ".join(sorted(names - {"None"})) or "none"}): '
                                 'this endpoint yields no targets')

    def pod_monitor(self, mon: dict) -> None:
        spec = _d(mon.get("spec"))
        namespaces = self._monitor_namespaces(mon)
        where = "any namespace" if namespaces is None else ", ".join(sorted(namespaces))
        selector = spec.get("selector")
        pods = [t for t in self.ix.templates
                if t.namespace is not None and (namespaces is None or t.namespace in namespaces)
                and isinstance(selector, dict) and selector_matches(selector, t.labels, t.patterns)]
        if not pods:
            self.report(mon, f"spec.selector: matches no pod template in {where}: Prometheus has "
                             "no targets for this PodMonitor")
            return
        names = set().union(*(t.port_names() for t in pods))
        for i, ep in enumerate(map(_d, _l(spec.get("podMetricsEndpoints")))):
            port = ep.get("port")
            if port and str(port) not in names:
                self.report(mon, f'spec.podMetricsEndpoints[{i}].port: no matched pod has a container '
                                 f'port named "{port}": this endpoint yields no targets')


def check(objs: list[dict], *, external: Externals | None = None) -> list[Finding]:
    """(object, message) for each reference the cluster would find broken, in a stable order."""
    return _Checker(list(objs), external or Externals()).run()
