"""The index of what exists on the cluster, built once from the checked objects and `Externals`:
namespaces with their labels, Secrets and ConfigMaps with their keys (also those an
ExternalSecret, SealedSecret or Certificate makes), ServiceAccounts, roles, StorageClasses,
claims, Services (also operator-made ones), IngressClasses and every pod template."""
from __future__ import annotations

from .model import (BUILTIN_CLUSTER_ROLES, BUILTIN_NAMESPACES, BUILTIN_PRIORITY_CLASSES, CERT_KEYS,
                    ROOT_CA_CONFIG_MAP, SA_TOKEN_KEYS, Externals, KeySet, _d, _group, _l, _labels, _meta, _name, _ns, selector_matches)
from .pods import PodTemplate, operator_pods, operator_services, pod_templates


def external_secret_keys(spec: dict) -> KeySet:
    """Keys of the Secret an ExternalSecret (spec) makes, as the ESO controller builds it.

    No template: the provider keys (spec.data[].secretKey; spec.dataFrom: unknown). A template
    with neither data nor templateFrom only shapes metadata/type: provider keys again. Otherwise
    the template's keys; mergePolicy Merge keeps the provider keys too, Replace (the default)
    does not.
    """
    provider = KeySet(d.get("secretKey") for d in map(_d, _l(spec.get("data"))) if d.get("secretKey"))
    provider.any = bool(_l(spec.get("dataFrom")))
    tpl = _d(_d(spec.get("target")).get("template"))
    if not _d(spec.get("target")).get("template"):
        return provider
    tpl_data, tpl_from = _d(tpl.get("data")), _l(tpl.get("templateFrom"))
    if not tpl_data and not tpl_from:
        return provider
    keys = KeySet(tpl_data)
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


class Index:
    def __init__(self, objs: list[dict], ext: Externals):
        self.ext = ext
        self.namespaces: dict[str, dict[str, str]] = {n: {"kubernetes.io/metadata.name": n}
                                                      for n in BUILTIN_NAMESPACES | ext.namespaces}
        self.secrets: dict[tuple[str, str], KeySet] = {}
        self.config_maps: dict[tuple[str, str], KeySet] = {}
        self.service_accounts: set[tuple[str, str]] = set(ext.service_accounts)
        self.roles: set[tuple[str, str]] = set()
        self.cluster_roles: set[str] = set(BUILTIN_CLUSTER_ROLES | ext.cluster_roles)
        self.storage_classes: set[str] = set(ext.storage_classes)
        self.priority_classes: set[str] = set(BUILTIN_PRIORITY_CLASSES | ext.priority_classes)
        self.pvcs: set[tuple[str, str]] = set()
        self.services: dict[tuple[str, str], dict] = {}
        self.ingress_classes: dict[str, dict] = {}
        self.templates: list[PodTemplate] = []
        merge_secrets: list[tuple[tuple[str, str], KeySet]] = []
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
                    keys = KeySet([*_d(o.get("data")), *_d(o.get("stringData"))])
                    if o.get("type") == "kubernetes.io/service-account-token":
                        keys.add(KeySet(SA_TOKEN_KEYS))  # filled in by the token controller
                    self._add(self.secrets, (ns, name), keys)
                elif kind == "ConfigMap":
                    self._add(self.config_maps, (ns, name),
                              KeySet([*_d(o.get("data")), *_d(o.get("binaryData"))]))
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
            elif g == "scheduling.k8s.io" and kind == "PriorityClass":
                self.priority_classes.add(name)
            elif g == "networking.k8s.io" and kind == "IngressClass":
                self.ingress_classes[name] = o
            elif g == "external-secrets.io" and kind == "ExternalSecret":
                target = _d(spec.get("target"))
                key = (ns, str(target.get("name") or name))
                policy = target.get("creationPolicy", "Owner")
                if policy == "Merge":  # only adds keys to a Secret made by something else
                    merge_secrets.append((key, external_secret_keys(spec)))
                elif policy != "None":
                    self._add(self.secrets, key, external_secret_keys(spec))
            elif g == "external-secrets.io" and kind == "ClusterExternalSecret":
                cluster_external.append(o)
            elif g == "bitnami.com" and kind == "SealedSecret":
                keys = KeySet([*_d(spec.get("encryptedData")),
                                *_d(_d(spec.get("template")).get("data"))])
                self._add(self.secrets, (ns, name), keys)
            elif g == "cert-manager.io" and kind == "Certificate" and spec.get("secretName"):
                keys = KeySet(CERT_KEYS, any_key=bool(spec.get("keystores")
                                                        or spec.get("additionalOutputFormats")))
                self._add(self.secrets, (ns, str(spec["secretName"])), keys)
            self.templates.extend(pod_templates(o))
            self.templates.extend(operator_pods(o))

        for o in objs:  # operator-made Services, unless the input has one of that name
            if isinstance(o, dict):
                for s in operator_services(o, self.templates):
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
                self._add(self.secrets, (n, sname), external_secret_keys(es_spec))
        for key, keys in merge_secrets:
            if key in self.secrets or key in ext.secrets:
                self._add(self.secrets, key, keys)

    @staticmethod
    def _add(table: dict, key: tuple[str, str], keys: KeySet) -> None:
        if key in table:
            table[key].add(keys)
        else:
            table[key] = keys

    def secret(self, ns: str, name: str) -> KeySet | None:
        if (ns, name) in self.ext.secrets:
            return KeySet(any_key=True)
        return self.secrets.get((ns, name))

    def config_map(self, ns: str, name: str) -> KeySet | None:
        if (ns, name) in self.ext.config_maps:
            return KeySet(any_key=True)
        if name == ROOT_CA_CONFIG_MAP and (ns, name) not in self.config_maps:
            return KeySet(["ca.crt"])
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
