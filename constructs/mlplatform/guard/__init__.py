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

from pathlib import Path
from typing import Any, Iterable, Mapping

from ..config.guard import GuardConfig
from ..kit.meta import ref
from ..kit.secrets import database_key
from ..review import Tree
from .fields import immutable_changes
from .result import Finding, GuardResult, allow_entry
from .sides import Obj, Side, annotations_of, app_sources, identity, side, sync_options

__all__ = ["Finding", "GuardResult", "allow_entry", "guard_trees", "load_configs"]

FINALIZER = "resources-finalizer.argocd.argoproj.io"
REMOVED = "(object)"       # field of a removal
MOVED = "(component)"      # field of a move between Applications
SOURCE = "(source)"        # field of a chart / upstream-manifests source that goes away
PRUNE = "prune"            # field of the env-wide prune limit


# --------------------------------------------------------------------------------------------
# what Argo CD does with an object that leaves an Application


def _fate(comp: str, o: Obj, old: Side, new: Side) -> tuple[bool, str]:
    """(deleted?, how) for an object that is no longer in `comp`'s folder."""
    opts = sync_options(o)
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


def _reclaim_policy(claim: Obj, old: Side) -> str | None:
    """The reclaim policy of the volume behind `claim`, as far as dist/ tells: its bound
    PersistentVolume's, else its StorageClass's (the default class's when it names none)."""
    spec = claim.get("spec") or {}
    pv = old.index.get(("", "PersistentVolume", "", str(spec.get("volumeName")))) if spec.get("volumeName") else None
    if pv is not None:
        return (pv[1].get("spec") or {}).get("persistentVolumeReclaimPolicy", "Retain")
    sc = old.storage_class(spec.get("storageClassName")) if spec.get("storageClassName") else next(
        (o for (g, k, _, _), (_, o) in old.index.items() if (g, k) == ("storage.k8s.io", "StorageClass") and
         annotations_of(o).get("storageclass.kubernetes.io/is-default-class") == "true"), None)
    return sc.get("reclaimPolicy", "Delete") if sc is not None else None


def _stateful(o: Obj, old: Side, new: Side) -> str | None:
    """Why losing this object destroys state, or None if it does not."""
    g, k, ns, name = identity(o)
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


def _crd_why(gk: tuple[str, str], new: Side, others: list[str]) -> str:
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
# one env


def _guard_env(env: str, old_comps: Mapping[str, Mapping[str, Any]], new_comps: Mapping[str, Mapping[str, Any]],
               cfg: GuardConfig) -> tuple[list[Finding], list[str]]:
    old, new = side(env, old_comps), side(env, new_comps)
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
                findings += [Finding(env, ncomp, name, f, a, b, why) for f, a, b, why in immutable_changes(o, n, new)]
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
        kept = {s.key for s in app_sources(app_new)} if app_new else set()
        name = (app.get("metadata") or {}).get("name", comp)
        app_key = ("argoproj.io", "Application", (app.get("metadata") or {}).get("namespace") or "", name)
        app_comp = old.index.get(app_key, (comp,))[0]
        finalizer = FINALIZER in ((app.get("metadata") or {}).get("finalizers") or [])
        for s in app_sources(app):
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

    from ..config.loader import EnvError, fmt_loc as _fmt_loc, line_of as _line_of, read_yaml as _read_yaml, rel as _rel

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
