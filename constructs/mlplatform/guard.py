"""Destructive-change guard: refuse a `dist/` change the cluster cannot apply in place or that
destroys state, before Argo CD (automated sync, prune, self-heal) applies it.

The guard compares two dist trees (`review.load_tree`: env -> component -> object) object by
object. An object's identity in the cluster is (API group, kind, namespace, name): the folder
(= Argo CD Application) it lives in is not part of it, so an object that changes folder is a
*move*, not a delete plus a create, and never counts as a prune. What it refuses:

* changes of fields the API server keeps immutable (workload selectors, Job templates, most of a
  StatefulSet's and a PVC's spec, volume sources, Service cluster IPs, roleRefs, ...) and changes
  that replace network identity (a Service's type);
* removing a stateful object (PVC, PV, Namespace, CRD, an ExternalSecret holding database
  credentials, a StatefulSet that deletes its claims) -- also when Argo CD would keep it
  (Application `prune: false`, `Prune=false`, `Delete=false`): the removal from git is the decision
  a reviewer acknowledges, the annotations only decide when the object goes;
* removing the Application (or the source) of a chart or upstream manifests: Argo CD deletes what
  they installed, which `dist/` does not show, CRDs included;
* moving a stateful object to another Application when the old one would prune it before the
  new one can adopt it (FailOnSharedResource=true makes that the order);
* deleting more than `guard.max_prune_percent` of an env's objects in one change.

Each finding is one line, `<env>/<component>/<Kind>/<ns>/<name>: <field>: <old> -> <new>: <why>`.
`guard.allow` entries in the env file (object, optional field, reason) let exactly the named
change through; entries that match nothing are stale and fail the gate (remove them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .config.guard import GuardConfig
from .kit import quantity, versions
from .kit.meta import LABEL_COMPONENT, SYNC_OPTIONS, group_of, ref
from .kit.secrets import database_key
from .review import MISSING, Tree, _short, field_changes

Ident = tuple[str, str, str, str]  # (API group, kind, namespace or "", name)
Obj = dict[str, Any]

FINALIZER = "resources-finalizer.argocd.argoproj.io"
HOOK_ANNOTATIONS = ("argocd.argoproj.io/hook", "helm.sh/hook")
REMOVED = "(object)"       # field of a removal
MOVED = "(component)"      # field of a move between Applications
SOURCE = "(source)"        # field of a chart / upstream-manifests source that goes away
PRUNE = "prune"            # field of the env-wide prune limit


# --------------------------------------------------------------------------------------------
# findings and results


@dataclass(frozen=True, order=True)
class Finding:
    env: str
    component: str  # "" for the env-wide prune limit
    object: str     # Kind/name, Kind/namespace/name, or the env name (prune limit)
    field: str
    old: str
    new: str
    why: str

    @property
    def where(self) -> str:
        return f"{self.env}/{self.component}/{self.object}" if self.component else self.env

    def line(self) -> str:
        return f"{self.where}: {self.field}: {self.old} -> {self.new}: {self.why}"


@dataclass
class GuardResult:
    envs: list[str]
    refused: list[Finding] = field(default_factory=list)
    allowed: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, "file guard.allow[i]: reason")
    moves: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    compared: str = "dist/"                                  # what was judged, for the summary
    not_compared: list[str] = field(default_factory=list)    # what wasn't, each said before the summary

    def scope(self, renders_skipped: Iterable[str], unseen: Iterable[str] = ()) -> None:
        """Record what the comparison covered: dist/ and rendered/ (minus `renders_skipped` envs, where
        one side has no chart renders), never argocd/, manifests the synth can't see (`unseen`), nor
        what only exists at run time."""
        skipped = sorted(e for e in renders_skipped if e in self.envs)
        with_r = [e for e in self.envs if e not in skipped]
        if not skipped:
            self.compared = "dist/ and rendered/"
        else:
            self.compared = "dist/" + (f" and rendered/ of {', '.join(with_r)}" if with_r else "")
            self.not_compared.append(
                f"rendered/ of {', '.join(skipped)}: one side has no chart renders, so only the Applications' chart "
                "sources were compared there, not the objects the charts make")
        self.not_compared.append("argocd/ (the bootstrap: AppProject, root Application, argo-cd values; applied by "
                                 "hand, not by Argo CD's sync)")
        unseen = sorted(unseen)
        if unseen:
            self.not_compared.append(f"{len(unseen)} upstream manifest(s) Argo CD applies that the synth can't see "
                                     f"(renders.UNSEEN: {', '.join(u.rsplit('/', 1)[-1] for u in unseen)})")
        self.not_compared.append("objects made at run time (operators, hooks) and immutability rules inside CRD "
                                 "schemas")

    def failed(self, allow_destructive: bool = False) -> bool:
        """Refused changes, or exceptions that no longer match anything (a stale entry would let a
        later change of the same field through unreviewed), fail the gate; the emergency flag lets
        everything through."""
        return bool(self.refused or self.stale) and not allow_destructive

    def report(self, allow_destructive: bool = False) -> list[str]:
        """The lines `check` and `diff` print, ending with the summary."""
        out: list[str] = []
        if self.refused:
            out.append(f"guard: {len(self.refused)} destructive change(s)"
                       + (" (NOT refused: --allow-destructive):" if allow_destructive else " refused:"))
            out += [f.line() for f in self.refused]
        if self.allowed:
            out.append(f"guard: {len(self.allowed)} destructive change(s) let through by guard.allow:")
            out += [f"{f.line()} [allowed by {how}]" for f, how in self.allowed]
        out += [f"guard: moved: {m}" for m in self.moves]
        out += [f"guard: stale exception: {s}" for s in self.stale]
        out += [f"guard: not compared: {s}" for s in self.not_compared]
        envs = ", ".join(self.envs) or "none"
        if not self.refused and self.stale and not allow_destructive:
            out.append(f"guard: FAILED: {len(self.stale)} guard.allow entr{'y' if len(self.stale) == 1 else 'ies'} "
                       "match nothing destructive any more: remove them from the env file")
        elif not self.refused:
            out.append(f"guard: ok: nothing destructive in {self.compared} (envs: {envs}"
                       + (f"; {len(self.allowed)} allowed by guard.allow)" if self.allowed else ")"))
        elif allow_destructive:
            out.append(f"guard: --allow-destructive: {len(self.refused)} destructive change(s) let through without a "
                       "recorded reason. This flag is for emergencies; prefer a guard.allow entry in the env file so "
                       "the reason is reviewed in the PR")
        else:
            bad = ", ".join(sorted({f.env for f in self.refused}))
            first = self.refused[0]
            out.append(f"guard: FAILED: {len(self.refused)} destructive change(s) in {bad}. Change course, or let "
                       "exactly that change through with an entry under guard.allow in environments/<env>.yaml, "
                       f"e.g. in environments/{first.env}.yaml: {allow_entry(first)}")
        return out


def allow_entry(f: Finding) -> str:
    """The guard.allow entry (YAML flow mapping) that lets exactly finding `f` through: the object as
    the allow-list names it (Kind/namespace/name, or the env for the prune limit), not the printed
    env/component/ prefix."""
    import yaml

    entry = {"object": f.object, "field": f.field, "reason": "<why it is safe, for the PR's reviewers>"}
    return yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, width=10_000).strip()


# --------------------------------------------------------------------------------------------
# one side (old or new) of an env


def _ident(o: Obj) -> Ident:
    md = o.get("metadata") or {}
    return (group_of(str(o.get("apiVersion", ""))), str(o.get("kind", "")), md.get("namespace") or "",
            str(md.get("name")))


def _annotations(o: Obj) -> dict[str, str]:
    return (o.get("metadata") or {}).get("annotations") or {}


def _sync_options(o: Obj) -> set[str]:
    return {p.strip() for p in str(_annotations(o).get(SYNC_OPTIONS, "")).split(",") if p.strip()}


def _gk(gk: str) -> tuple[str, str]:
    kind, _, group = gk.partition(".")
    return group, kind


@dataclass(frozen=True)
class _Source:
    """A chart or upstream-manifests source of an Application (our own dist/ path is not one)."""

    key: tuple[str, str]  # ("chart", chart name) | ("manifests", versions.MANIFESTS key)
    label: str
    crds: tuple[tuple[str, str], ...]  # (group, kind) it installs

    @property
    def what(self) -> str:
        return "chart" if self.key[0] == "chart" else "upstream manifests"


def _sources(app: Obj) -> list[_Source]:
    spec = app.get("spec") or {}
    out = []
    for s in ([spec["source"]] if spec.get("source") else []) + list(spec.get("sources") or []):
        if s.get("chart"):
            c = versions.CHARTS.get(s["chart"])
            out.append(_Source(("chart", s["chart"]), f"chart {s['chart']} {s.get('targetRevision', '')}".strip(),
                               tuple(_gk(x) for x in (c.provides_crds if c else ()))))
            continue
        m = next((m for m in versions.MANIFESTS.values()
                  if m.repo_url == s.get("repoURL") and m.path == s.get("path")), None)
        if m is not None:
            label = f"upstream manifests {m.name} {s.get('targetRevision', '')}".strip()
            out.append(_Source(("manifests", m.name), label,
                               tuple(_gk(x) for x in m.provides_crds)))
    return out


@dataclass
class _Side:
    env: str
    index: dict[Ident, tuple[str, Obj]]       # identity -> (component, object)
    apps: dict[str, Obj]                      # component -> its Application
    crds: dict[tuple[str, str], list[str]]    # (group, kind) -> who installs it ("dev-kuberay (chart ...)")

    def app_name(self, comp: str) -> str:
        app = self.apps.get(comp)
        return (app.get("metadata") or {}).get("name", comp) if app else f"the Application of dist/{self.env}/{comp}/"

    def users_of(self, gk: tuple[str, str]) -> list[str]:
        return sorted(f"{ref(o)} ({c})" for (g, k, _, _), (c, o) in self.index.items() if (g, k) == gk)

    def storage_class(self, name: str | None) -> Obj | None:
        hit = self.index.get(("storage.k8s.io", "StorageClass", "", str(name)))
        return hit[1] if hit else None


def _side(env: str, comps: Mapping[str, Mapping[str, Any]]) -> _Side:
    index: dict[Ident, tuple[str, Obj]] = {}
    apps: dict[str, Obj] = {}
    crds: dict[tuple[str, str], list[str]] = {}
    for comp in sorted(comps):
        for key, o in sorted(comps[comp].items()):
            if key.startswith("file/") or not isinstance(o, dict):
                continue
            ident = _ident(o)
            index.setdefault(ident, (comp, o))
            if ident[:2] == ("argoproj.io", "Application"):
                owner = ((o.get("metadata") or {}).get("labels") or {}).get(LABEL_COMPONENT)
                if owner:
                    apps[owner] = o
            elif ident[:2] == ("apiextensions.k8s.io", "CustomResourceDefinition"):
                spec = o.get("spec") or {}
                gk = (str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", "")))
                crds.setdefault(gk, []).append(f"{ref(o)} ({comp})")
    for comp, app in sorted(apps.items()):
        name = (app.get("metadata") or {}).get("name", comp)
        for s in _sources(app):
            for gk in s.crds:
                crds.setdefault(gk, []).append(f"{name} ({s.label})")
    return _Side(env, index, apps, crds)


# --------------------------------------------------------------------------------------------
# what Argo CD does with an object that leaves an Application


def _fate(comp: str, o: Obj, old: _Side, new: _Side) -> tuple[bool, str]:
    """(deleted?, how) for an object that is no longer in `comp`'s folder."""
    opts = _sync_options(o)
    name = old.app_name(comp)
    if comp in old.apps and comp not in new.apps:
        if "Delete=false" in opts:
            return False, f"Application {name} is removed; Delete=false leaves this object in the cluster, unmanaged"
        if FINALIZER not in ((old.apps[comp].get("metadata") or {}).get("finalizers") or []):
            return False, f"Application {name} is removed without its resources-finalizer: the object stays, unmanaged"
        return True, f"Application {name} is removed and its resources-finalizer deletes the object"
    app = new.apps.get(comp) or old.apps.get(comp)
    if "Prune=false" in opts:
        return False, (f"Prune=false: {name} does not prune it; it stays as an orphan (OutOfSync) and a sync with "
                       "prune deletes it")
    if "Prune=confirm" in opts:
        return False, f"Prune=confirm: {name} deletes it once someone confirms the prune in Argo CD"
    if app is not None:
        automated = ((app.get("spec") or {}).get("syncPolicy") or {}).get("automated")
        if not isinstance(automated, dict) or not automated.get("prune"):
            return False, (f"{name} has automated prune off: the object stays as an orphan (OutOfSync) and a "
                           "sync with prune deletes it")
    return True, f"{name} prunes it on the next sync"


def _db_keys(o: Obj) -> list[str]:
    spec = o.get("spec") or {}
    keys = [((d or {}).get("remoteRef") or {}).get("key") for d in spec.get("data") or []]
    for d in spec.get("dataFrom") or []:
        keys.append(((d or {}).get("extract") or {}).get("key"))
    marker = database_key("")  # "rds/": Terraform's per-database secrets
    return sorted({str(k) for k in keys if k and (str(k).startswith(marker) or f"/{marker}" in str(k))})


def _reclaim_policy(claim: Obj, old: _Side) -> str | None:
    """The reclaim policy of the volume behind `claim`, as far as dist/ tells: its bound
    PersistentVolume's, else its StorageClass's (the default class's when it names none)."""
    spec = claim.get("spec") or {}
    pv = old.index.get(("", "PersistentVolume", "", str(spec.get("volumeName")))) if spec.get("volumeName") else None
    if pv is not None:
        return (pv[1].get("spec") or {}).get("persistentVolumeReclaimPolicy", "Retain")
    sc = old.storage_class(spec.get("storageClassName")) if spec.get("storageClassName") else next(
        (o for (g, k, _, _), (_, o) in old.index.items() if (g, k) == ("storage.k8s.io", "StorageClass") and
         _annotations(o).get("storageclass.kubernetes.io/is-default-class") == "true"), None)
    return sc.get("reclaimPolicy", "Delete") if sc is not None else None


def _stateful(o: Obj, old: _Side, new: _Side) -> str | None:
    """Why losing this object destroys state, or None if it does not."""
    g, k, ns, name = _ident(o)
    spec = o.get("spec") or {}
    if (g, k) == ("", "PersistentVolumeClaim"):
        policy = _reclaim_policy(o, old)
        if policy == "Delete":
            return "deleting the claim deletes its volume (reclaimPolicy Delete): the data is destroyed"
        if policy is not None:
            return (f"deleting the claim leaves its volume Released (reclaimPolicy {policy}): the data survives, but "
                    "no claim binds to it again without manual repair (clearing the volume's claimRef)")
        return ("deleting the claim releases its volume: with reclaimPolicy Delete the data is destroyed, with "
                "Retain the volume is left Released and no claim binds to it again without manual repair")
    if (g, k) == ("", "PersistentVolume"):
        if spec.get("persistentVolumeReclaimPolicy") == "Delete":
            return "reclaimPolicy Delete: deleting the volume destroys the storage behind it"
        claim = spec.get("claimRef") or {}
        bound = f" claim {claim.get('namespace')}/{claim.get('name')}" if claim.get("name") else " claim"
        return (f"the bound{bound} loses its volume (Lost); the storage itself is retained (reclaimPolicy "
                f"{spec.get('persistentVolumeReclaimPolicy', 'Retain')}) but needs manual rebinding")
    if (g, k) == ("", "Namespace"):
        return ("deleting a namespace deletes everything in it, also what is not in git (PVCs of StatefulSets and "
                "notebooks, Secrets, running jobs)")
    if (g, k) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        gk = (str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", "")))
        return _crd_why(gk, new, new.crds.get(gk, []))
    if (g, k) == ("external-secrets.io", "ExternalSecret"):
        keys = _db_keys(o)
        if not keys:
            return None
        target = (spec.get("target") or {})
        secret = f"{ns}/{target.get('name') or name}"
        policy = target.get("creationPolicy", "Owner")
        if policy == "Owner":
            return (f"it holds database credentials ({', '.join(keys)}): Secret {secret}, which it owns, is "
                    "garbage-collected, and whatever uses it cannot log in to the database after its next restart")
        return (f"it holds database credentials ({', '.join(keys)}): Secret {secret} stays (creationPolicy {policy}) "
                "but is no longer refreshed, so a rotated password breaks the database login")
    if (g, k) == ("apps", "StatefulSet") and spec.get("volumeClaimTemplates") and \
            (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenDeleted") == "Delete":
        return ("persistentVolumeClaimRetentionPolicy.whenDeleted is Delete: its claims and their data are deleted "
                "with it")
    return None


def _crd_why(gk: tuple[str, str], new: _Side, others: list[str]) -> str:
    """Why deleting the CRD of `gk` destroys state; `others` install it in the new tree."""
    why = f"deleting the CRD deletes every {gk[1]} ({gk[0]}) in the cluster"
    if others:
        return why + f", before {'; '.join(others)} creates it again"
    users = new.users_of(gk)
    if users:
        more = f" and {len(users) - 5} more" if len(users) > 5 else ""
        why += f"; still in dist/{new.env}/, and unappliable without it: {', '.join(users[:5])}{more}"
    return why


# --------------------------------------------------------------------------------------------
# changes of fields that cannot change in place


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


def _changes(o: Obj, n: Obj, new: _Side) -> list[tuple[str, str, str, str]]:
    """(field, old, new, why) of each change the cluster cannot take in place."""
    g, k, _, _ = _ident(n)
    opts = _sync_options(n)
    if (g, k) in _RECREATE_OK and ({"Force=true", "Replace=true"} <= opts
                                   or any(a in _annotations(n) for a in HOOK_ANNOTATIONS)):
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


# --------------------------------------------------------------------------------------------
# one env


def _guard_env(env: str, old_comps: Mapping[str, Mapping[str, Any]], new_comps: Mapping[str, Mapping[str, Any]],
               cfg: GuardConfig) -> tuple[list[Finding], list[str]]:
    old, new = _side(env, old_comps), _side(env, new_comps)
    findings: list[Finding] = []
    moves: list[str] = []
    deleted: dict[str, int] = {}
    for ident, (comp, o) in sorted(old.index.items()):
        name = ref(o)
        if ident in new.index:
            ncomp, n = new.index[ident]
            if ncomp != comp:
                gone, how = _fate(comp, o, old, new)
                why = _stateful(o, old, new)
                if why and gone:
                    shared = ("FailOnSharedResource=true: it refuses an object another Application tracks"
                              if "FailOnSharedResource=true" in (((new.apps.get(ncomp) or {}).get("spec") or {})
                                                                  .get("syncPolicy") or {}).get("syncOptions", [])
                              else "unless it adopts the object first")
                    findings.append(Finding(env, comp, name, MOVED, comp, ncomp,
                                            f"a move hands the object from {old.app_name(comp)} to "
                                            f"{new.app_name(ncomp)} ({shared}): {how}, then it is created anew: {why}; "
                                            "hand it over first (README: moving a stateful object)"))
                else:
                    moves.append(f"{env}/{comp}/{name}: {comp} -> {ncomp} (the same object in the cluster: "
                                  "not a prune)")
            if o != n:
                findings += [Finding(env, ncomp, name, f, a, b, why) for f, a, b, why in _changes(o, n, new)]
            continue
        gone, how = _fate(comp, o, old, new)
        if gone:
            deleted[comp] = deleted.get(comp, 0) + 1
        why = _stateful(o, old, new)
        if why:
            findings.append(Finding(env, comp, name, REMOVED, "present", "removed", f"{how}; {why}"))

    # Charts and upstream manifests: what they install is not in dist/, so judge their sources.
    for comp, app in sorted(old.apps.items()):
        app_new = new.apps.get(comp)
        kept = {s.key for s in _sources(app_new)} if app_new else set()
        name = (app.get("metadata") or {}).get("name", comp)
        app_key = ("argoproj.io", "Application", (app.get("metadata") or {}).get("namespace") or "", name)
        app_comp = old.index.get(app_key, (comp,))[0]
        finalizer = FINALIZER in ((app.get("metadata") or {}).get("finalizers") or [])
        for s in _sources(app):
            if s.key in kept:
                continue
            if app_new is None and not finalizer:
                continue  # the Application goes without cascading: what it installed stays, unmanaged
            if app_new is not None:
                automated = ((app_new.get("spec") or {}).get("syncPolicy") or {}).get("automated") or {}
                if not automated.get("prune"):
                    continue
            how = (f"Application {name} is removed and its resources-finalizer deletes" if app_new is None
                   else f"{name} prunes")
            findings.append(Finding(env, app_comp, ref(app), SOURCE, s.label, "removed",
                                    f"{how} everything the {s.what} installed, which dist/ does not show: "
                                    "PersistentVolumeClaims, Secrets and CRDs among it go too (and with a CRD every "
                                    "custom resource of its kind)"))
            for gk in s.crds:
                others = [p for p in new.crds.get(gk, []) if not p.startswith(f"{name} ")]
                to = "; ".join(others) if others else "nobody"
                findings.append(Finding(env, app_comp, ref(app), f"crd {gk[1]}.{gk[0]}", s.label, to,
                                        f"{how} the CRD"
                                        + (" (unless the chart marks it helm.sh/resource-policy: keep)"
                                           if s.key[0] == "chart" else "")
                                        + f"; {_crd_why(gk, new, others)}"))

    total = len(old.index)
    n_deleted = sum(deleted.values())
    if total and n_deleted * 100 > cfg.max_prune_percent * total:
        top = ", ".join(f"{c} ({n})" for c, n in sorted(deleted.items(), key=lambda x: (-x[1], x[0]))[:4])
        findings.append(Finding(env, "", env, PRUNE, f"{total} objects", f"{n_deleted} deleted "
                                f"({100 * n_deleted / total:.1f}%)",
                                f"more than guard.max_prune_percent ({cfg.max_prune_percent}%) of the env in one "
                                f"change (from {top}); check each removal in the diff"))
    return sorted(findings), moves


# --------------------------------------------------------------------------------------------
# entry points


def _matches(obj: str, fld: str | None, f: Finding) -> bool:
    if obj != f.object:
        return False
    return fld is None or f.field == fld or f.field.startswith((fld + ".", fld + "[", fld + " "))


def guard_trees(old: Tree, new: Tree, configs: Mapping[str, GuardConfig], envs: Iterable[str] | None = None,
                sources: Mapping[str, str] | None = None) -> GuardResult:
    """Judge `new` against `old` (both `review.load_tree` trees of dist/). `configs` holds each
    env's `guard:` settings (missing: defaults); `sources` names the file they came from."""
    wanted = set(envs) if envs else None
    names = sorted(e for e in set(old) | set(new) if wanted is None or e in wanted)
    res = GuardResult(envs=names)
    for env in names:
        cfg = configs.get(env) or GuardConfig()
        src = (sources or {}).get(env, f"environments/{env}.yaml")
        findings, moves = _guard_env(env, old.get(env, {}), new.get(env, {}), cfg)
        res.moves += moves
        used = [False] * len(cfg.allow)
        for f in findings:
            hit = next((i for i, a in enumerate(cfg.allow) if _matches(a.object, a.field, f)), None)
            if hit is None:
                res.refused.append(f)
            else:
                used[hit] = True
                res.allowed.append((f, f"{src} guard.allow[{hit}]: {cfg.allow[hit].reason}"))
        for i, a in enumerate(cfg.allow):
            # An entry used by an earlier finding of the same object still counts as used.
            if not used[i] and not any(_matches(a.object, a.field, f) for f in findings):
                res.stale.append(f"{src}: guard.allow[{i}] ({a.object}{' ' + a.field if a.field else ''}) matches "
                                 f"no refused change in {env}: remove it (left in place it lets a future change of "
                                 "the same field through unreviewed)")
    return res


def load_configs(envs: Iterable[str], env_dir: Path) -> tuple[dict[str, GuardConfig], dict[str, str]]:
    """The `guard:` section of each env file (defaults where there is no file or no section),
    validated with `file:line: guard.field: message` errors (raises config.loader.EnvError).
    Only this section is read: the synth validates the rest of the file."""
    from pydantic import ValidationError

    from .config.loader import EnvError, fmt_loc as _fmt_loc, line_of as _line_of, read_yaml as _read_yaml, rel as _rel

    configs: dict[str, GuardConfig] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for env in sorted(set(envs)):
        path = env_dir / f"{env}.yaml"
        sources[env] = _rel(path)
        if not path.exists():
            configs[env] = GuardConfig()
            continue
        doc = _read_yaml(path)
        section = doc.data.get("guard")
        try:
            cfg = GuardConfig.model_validate(section if section is not None else {})
        except ValidationError as e:
            for err in e.errors(include_url=False):
                loc = ("guard", *err["loc"])
                msg = {"missing": "required field is missing",
                       "extra_forbidden": "unknown field (not part of the schema; check the spelling)"}.get(
                    err["type"], err["msg"].removeprefix("Value error, "))
                problems.append(f"{_rel(path)}:{_line_of(doc.node, loc) or 1}: {_fmt_loc(loc)}: {msg}")
            continue
        for i, a in enumerate(cfg.allow):
            loc = ("guard", "allow", i)
            if "/" not in a.object and a.object != env:
                problems.append(f"{_rel(path)}:{_line_of(doc.node, (*loc, 'object'))}: {_fmt_loc((*loc, 'object'))}: "
                                f"{a.object!r} is neither Kind/name, Kind/namespace/name nor this env's name ({env!r})")
            elif "/" not in a.object and a.field not in (None, PRUNE):
                problems.append(f"{_rel(path)}:{_line_of(doc.node, (*loc, 'field'))}: {_fmt_loc((*loc, 'field'))}: "
                                f"the env itself ({env}) has only the field {PRUNE!r} (the prune limit)")
        configs[env] = cfg
    if problems:
        raise EnvError(problems)
    return configs, sources
