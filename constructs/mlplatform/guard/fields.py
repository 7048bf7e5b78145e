"""Changes of fields the cluster cannot take in place: the API server keeps them immutable (workload
selectors, Job templates, most of a StatefulSet's and a PVC's spec, volume sources, cluster IPs,
roleRefs, ...), or the change replaces what clients rely on (a Service's type)."""
from __future__ import annotations

from typing import Any

from ..kit import quantity
from ..review import MISSING, _short, field_changes
from .sides import Obj, Side, annotations_of, identity, sync_options

HOOK_ANNOTATIONS = ("argocd.argoproj.io/hook", "helm.sh/hook")


_RECREATE = "the API server refuses the update and the sync fails until the object is deleted and recreated"
_SELECTOR = ("immutable: " + _RECREATE + " (every pod replaced at once); or give it a new name, or let Argo CD "
             "recreate it with sync-options Force=true,Replace=true")
_JOB = ("immutable on a Job: " + _RECREATE + "; a Job meant to re-run on change carries "
        "argocd.argoproj.io/sync-options: Force=true,Replace=true (Argo CD recreates it) or gets a new name")
_STS = ("immutable on a StatefulSet (only replicas, ordinals, template, updateStrategy, revisionHistoryLimit, "
        "minReadySeconds and persistentVolumeClaimRetentionPolicy may change): " + _RECREATE +
        " (kubectl delete --cascade=orphan keeps its pods and claims)")
_STS_VCT = ("volumeClaimTemplates are immutable: " + _RECREATE + ", and existing claims would not follow the new "
            "template anyway: resize or migrate the PVCs themselves, then recreate the StatefulSet with "
            "--cascade=orphan")
_PVC = {
    "spec.storageClassName": "immutable: the sync fails; another class means a new claim with a new, empty volume "
                             "(migrate the data first)",
    "spec.accessModes": "immutable: the sync fails; other access modes mean a new claim and volume",
}
_PVC_OTHER = "a claim's spec is immutable except its storage request: the sync fails; changing it means a new claim"
_PV_MUTABLE = {"accessModes", "capacity", "claimRef", "mountOptions", "persistentVolumeReclaimPolicy",
               "storageClassName", "volumeAttributesClassName"}
_PV_SOURCE = ("the volume source is immutable: the sync fails; other storage means a new PersistentVolume (and "
              "claim), and the data does not move with it")
_STS_MUTABLE = {"replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit", "minReadySeconds",
                "persistentVolumeClaimRetentionPolicy"}
# (group, kind) -> [(field path, why)]
_IMMUTABLE: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("apps", "Deployment"): [("spec.selector", _SELECTOR)],
    ("apps", "ReplicaSet"): [("spec.selector", _SELECTOR)],
    ("apps", "DaemonSet"): [("spec.selector", _SELECTOR)],
    ("batch", "Job"): [(p, _JOB) for p in ("spec.selector", "spec.manualSelector", "spec.template",
                                            "spec.completions", "spec.completionMode")],
    ("rbac.authorization.k8s.io", "RoleBinding"): [("roleRef", "immutable: " + _RECREATE + "; bind another role "
                                                    "under a new name")],
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): [("roleRef", "immutable: " + _RECREATE + "; bind another "
                                                           "role under a new name")],
    ("networking.k8s.io", "IngressClass"): [("spec.controller", "immutable: " + _RECREATE)],
    ("storage.k8s.io", "StorageClass"): [(p, "immutable: " + _RECREATE + "; a changed class needs a new name "
                                          "(existing volumes keep what they were provisioned with)")
                                         for p in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")],
    ("apiextensions.k8s.io", "CustomResourceDefinition"): [("spec.scope", "immutable: " + _RECREATE +
                                                            ", which deletes every custom resource of the kind")],
}
# Recreating these loses nothing, so Force=true,Replace=true (delete + create) or a hook makes the change fine.
_RECREATE_OK = {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "DaemonSet"), ("batch", "Job"),
                ("rbac.authorization.k8s.io", "RoleBinding"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
                ("networking.k8s.io", "IngressClass"), ("", "ConfigMap")}


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def _show(v: Any) -> str:
    return "(unset)" if v is MISSING else _short(v, 80)


def _service_type_why(old: str, new: str) -> str:
    if old == "LoadBalancer":
        return (f"turning a LoadBalancer into {new} deletes its cloud load balancer: the address clients and DNS "
                "records use is gone for good")
    if new == "LoadBalancer":
        return f"turning {old} into LoadBalancer provisions a cloud load balancer with a new public address"
    if new == "ExternalName":
        return "an ExternalName Service has no cluster IP: the allocated one is released and in-cluster clients break"
    if old == "ExternalName":
        return "the Service gets a cluster IP and endpoints instead of a DNS alias: what resolved before changes"
    return f"{old} -> {new} allocates or releases node ports: whatever reaches the nodes on them breaks"


def immutable_changes(o: Obj, n: Obj, new: Side) -> list[tuple[str, str, str, str]]:
    """(field, old, new, why) of each change the cluster cannot take in place."""
    g, k, _, _ = identity(n)
    opts = sync_options(n)
    if (g, k) in _RECREATE_OK and ({"Force=true", "Replace=true"} <= opts
                                   or any(a in annotations_of(n) for a in HOOK_ANNOTATIONS)):
        return []
    ch = list(field_changes(o, n))
    out: list[tuple[str, str, str, str]] = []
    for prefix, why in _IMMUTABLE.get((g, k), ()):
        out += [(p, _show(a), _show(b), why) for p, a, b in ch if _under(p, prefix)]
    spec_o, spec_n = o.get("spec") or {}, n.get("spec") or {}
    if (g, k) == ("apps", "StatefulSet"):
        for p, a, b in ch:
            if _under(p, "spec"):
                top = p.split(".")[1].split("[")[0] if "." in p else ""
                if top not in _STS_MUTABLE:
                    out.append((p, _show(a), _show(b), _STS_VCT if top == "volumeClaimTemplates" else _STS))
    elif (g, k) == ("", "PersistentVolumeClaim"):
        for p, a, b in ch:
            if not _under(p, "spec") or _under(p, "spec.volumeAttributesClassName"):
                continue
            if p == "spec.volumeName" and a is MISSING:
                continue  # binding a pending claim once is allowed
            if p == "spec.resources.requests.storage" and a is not MISSING and b is not MISSING:
                try:
                    qa, qb = quantity.parse(a), quantity.parse(b)
                except ValueError:
                    qa = qb = None
                if qa is not None and qb is not None and qb < qa:
                    out.append((p, _show(a), _show(b), "a claim cannot shrink: the API server refuses it and the sync "
                                                       "fails (shrinking means a new claim and copying the data)"))
                elif qa is not None and qb is not None and qb > qa:
                    sc_name = spec_n.get("storageClassName")
                    sc = new.storage_class(sc_name)
                    if sc is not None and not sc.get("allowVolumeExpansion"):
                        out.append((p, _show(a), _show(b), f"StorageClass {sc_name} does not allow volume expansion: "
                                                           "the API server refuses the resize and the sync fails"))
                continue
            root = ".".join(p.split(".")[:2]).split("[")[0]
            out.append((p, _show(a), _show(b), _PVC.get(root, _PVC_OTHER)))
    elif (g, k) == ("", "PersistentVolume"):
        for p, a, b in ch:
            if not _under(p, "spec"):
                continue
            top = p.split(".")[1].split("[")[0] if "." in p else ""
            if top == "claimRef":
                if p.split(".")[-1] in ("name", "namespace") and a is not MISSING:
                    out.append((p, _show(a), _show(b), "rebinding a bound volume: its current claim becomes Lost"))
            elif top in ("volumeMode", "nodeAffinity"):
                out.append((p, _show(a), _show(b), "immutable: " + _RECREATE))
            elif top not in _PV_MUTABLE:
                out.append((p, _show(a), _show(b), _PV_SOURCE))
    elif (g, k) == ("", "Service"):
        t_o, t_n = spec_o.get("type", "ClusterIP"), spec_n.get("type", "ClusterIP")
        if t_o != t_n:
            out.append(("spec.type", _show(t_o), _show(t_n), _service_type_why(t_o, t_n)))
        if "ExternalName" not in (t_o, t_n):
            for f in ("clusterIP", "clusterIPs"):
                a, b = spec_o.get(f, MISSING), spec_n.get(f, MISSING)
                if a == b or (b is MISSING and a not in ("None", ["None"])):
                    continue  # dropping an allocated IP from git keeps it
                out.append((f"spec.{f}", _show(a), _show(b),
                            "a cluster IP is immutable once allocated: the sync fails; another IP (or headless) means "
                            "deleting the Service, and clients holding the old IP break"))
        if t_o == t_n == "LoadBalancer" and spec_o.get("loadBalancerClass") != spec_n.get("loadBalancerClass"):
            out.append(("spec.loadBalancerClass", _show(spec_o.get("loadBalancerClass", MISSING)),
                        _show(spec_n.get("loadBalancerClass", MISSING)), "immutable: " + _RECREATE +
                        " (and its load balancer with its address)"))
    elif (g, k) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        # (full CRDs of ours, or the summaries of rendered/: versions with served/storage either way)
        def versions_of(spec: dict) -> dict[str, dict]:
            return {str(v.get("name")): v for v in spec.get("versions") or [] if isinstance(v, dict)}
        vo, vn = versions_of(spec_o), versions_of(spec_n)
        for name, v in sorted(vo.items()):
            if not v.get("served") and not v.get("storage"):
                continue
            nv = vn.get(name)
            if nv is None or (v.get("served") and not nv.get("served")):
                stored = " (the current storage version: every stored object is in it)" if v.get("storage") else ""
                out.append((f"spec.versions[{name}]", "served", "removed" if nv is None else "not served",
                            f"version {name} of {spec_o.get('group')}/{(spec_o.get('names') or {}).get('kind')} is no "
                            f"longer served{stored}: objects stored in it become unreadable, and the API server "
                            "refuses a CRD update that drops a version still in status.storedVersions -- migrate "
                            "stored objects first"))
    elif (g, k) in (("", "ConfigMap"), ("", "Secret")) and o.get("immutable") is True:
        out += [(p, _show(a), _show(b), "the object is immutable: true: the API server refuses any change of its data; "
                                         "ship it under a new name")
                for p, a, b in ch if p.split(".")[0].split("[")[0] in ("data", "binaryData", "stringData", "immutable")]
    return out
