"""The checks: every reference the cluster would find broken, each reported with the field path
and what happens on the cluster."""
from __future__ import annotations

import json
from typing import Any

from .index import Index
from .model import (ALB_CONTROLLER, CLUSTER_SCOPED, Externals, Finding, _d, _fmt_map, _group, _keys_text, _l, _labels,
                    _meta, _name, _ns, selector_matches)
from .pods import PodTemplate


class _Checker:
    def __init__(self, objs: list[dict], ext: Externals):
        self.objs = [o for o in objs if isinstance(o, dict)]
        self.ix = Index(self.objs, ext)
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

    def pod_template(self, t: PodTemplate) -> None:
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

        pc = spec.get("priorityClassName")
        if pc and str(pc) not in ix.priority_classes:
            effect = ("the Pod is rejected at admission: Argo CD's sync fails" if bare_pod else
                      "pod creation is rejected by the Priority admission plugin, so no pods run")
            self.report(t.owner, f'{p}.priorityClassName: PriorityClass "{pc}" not found: {effect}')

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
