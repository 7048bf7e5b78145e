"""Validation of a rendered env, before anything is written.

Every object is checked against the exact API it targets -- core kinds against the env's
Kubernetes minor (strict), custom resources against the pinned CRD's served version -- and
against the platform rules. A kind with no schema is an error. Then the generic cross-checks
(hosts and certificates, secret references, service URLs, GPU scheduling, monitoring, metrics,
network policies, BOM, admission) and every unit's own `checks`. Problems read
`env/component/Kind/name: message`.
"""
from __future__ import annotations

import json

from ..kit import versions
from ..kit.component import units
from ..kit.meta import Obj, group_of
from ..plan import Rendered
from ..renders import namespaced as namespaced_in
from . import (admission, bom, cel, charts, core, crd, crosschecks, metrics, mirror, monitoring, netpol, rendered, rules,
               scheduling)

MAX_ERRORS_PER_OBJECT = 8
BOOTSTRAP = "argocd-bootstrap"


# Validating a body against its schema is most of a synth's CPU, and envs repeat bodies (the same
# Role, policy or runtime in dev, staging and prod, per team): results are memoized by the
# canonical JSON of the object without its metadata (metadata is checked on its own, cheaply).
_MEMO: dict[tuple[str, str], tuple[list[str], bool | None]] = {}
_STAND_IN = {"name": "object"}


def _schema_problems(obj: Obj, cs: core.CoreSchemas) -> tuple[list[str], bool | None]:
    """(problems, namespaced?) -- namespaced is None when the kind is unknown."""
    body = {k: v for k, v in obj.items() if k != "metadata"}
    key = (cs.minor, json.dumps(body, sort_keys=True, separators=(",", ":")))
    hit = _MEMO.get(key)
    if hit is None:
        hit = _MEMO[key] = _body_problems({**body, "metadata": dict(_STAND_IN)}, cs)
    found, namespaced = hit
    if namespaced is not None:
        found = found + _meta_problems(obj.get("metadata") or {}, cs)
    return list(found), namespaced


_META_MEMO: dict[tuple[str, str], list[str]] = {}


def _meta_problems(md: dict, cs: core.CoreSchemas) -> list[str]:
    """ObjectMeta schema problems, memoized: the schema only types `name`/`namespace` as strings,
    so objects that differ only in those share one verdict (labels/annotation sets repeat a lot)."""
    shape = {k: ("" if k in ("name", "namespace") and isinstance(v, str) else v) for k, v in md.items()}
    key = (cs.minor, json.dumps(shape, sort_keys=True, separators=(",", ":"), default=repr))
    hit = _META_MEMO.get(key)
    if hit is None:
        hit = _META_MEMO[key] = [f"metadata{e.json_path[1:]}: {e.message}" for e in cs.object_meta.iter_errors(md)]
    return hit


def _body_problems(obj: Obj, cs: core.CoreSchemas) -> tuple[list[str], bool | None]:
    av, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(av, str) or not isinstance(kind, str):
        return ["object has no apiVersion/kind"], None
    v = cs.validator(av, kind)
    if v is not None:
        errs = sorted(v.iter_errors(obj), key=lambda e: e.json_path)
        return [f"{e.json_path[2:] or '(root)'}: {e.message}" for e in errs], not core.is_cluster_scoped(av, kind)
    s = crd.schema_for(av, kind)
    if s is None:
        pin = versions.crd_for(av, kind)
        if pin is not None:
            return [f"{av} is not the pinned version of {kind} ({pin.api_version})"], None
        return [f"unknown kind {kind} in {av}: not a Kubernetes {cs.minor} core kind and no pinned CRD "
                f"(add it to kit/versions.py CRDS)"], None
    out = [f"{e.json_path[2:] or '(root)'}: {e.message}"
           for e in sorted(s.validator.iter_errors(obj), key=lambda e: e.json_path)]
    if s.deprecated:
        out.append(f"{av} {kind} is deprecated in the pinned CRD; emit the storage version")
    return out, s.namespaced


def unit_checks(r: Rendered) -> list[str]:
    """Every unit's own checks (`Component.checks`), in registry order; a unit's check runs whether
    or not the unit is enabled in this env (Volcano's reports work that needs Volcano when it is off)."""
    return [p for unit in units() if unit.checks is not None for p in unit.checks(r)]


def validate(r: Rendered) -> list[str]:
    env = r.env
    cs = core.schemas(env.kubernetes_version)
    problems: list[str] = list(r.problems)
    created = {o["metadata"]["name"] for objs in r.components.values() for o in objs
               if o.get("kind") == "Namespace" and o.get("apiVersion") == "v1"}
    allowed_ns = created | set(env.namespaces.external) | {env.gitops.argocd_namespace}
    seen_ids: dict[tuple, str] = {}
    groups = [(c, objs) for c, objs in sorted(r.components.items())] + [(BOOTSTRAP, r.bootstrap)]
    for comp, objs in groups:
        files: dict[str, str] = {}
        for obj in objs:
            md = obj.get("metadata") or {}
            name = md.get("name", "?")
            where = f"{env.name}/{comp}/{obj.get('kind')}/{name}"
            found, namespaced = _schema_problems(obj, cs)
            if namespaced is None and (group_of(str(obj.get("apiVersion", ""))), obj.get("kind")) in r.renders.crds:
                # No pinned CRD, but a chart of the env installs one from its archive's crds/ (e.g.
                # Karpenter's NodeOverlay): the object is judged by that CRD, as the API server would.
                found, namespaced = rendered.schema_problems(obj, cs, r.renders), namespaced_in(r.renders, obj)
            found = found[:MAX_ERRORS_PER_OBJECT]
            ns = md.get("namespace")
            if namespaced is False and ns is not None:
                found.append(f"cluster-scoped {obj.get('kind')} must not set metadata.namespace ({ns!r})")
            if namespaced is True:
                if not ns:
                    found.append("namespaced object without metadata.namespace")
                elif ns not in allowed_ns:
                    found.append(f"namespace {ns!r} is not created in env {env.name} (nor declared external)")
            found += rules.check_object(obj)
            found += cel.check_object(obj)  # the pinned CRD's x-kubernetes-validations rules
            # cdk8s writes one file per Kind.name per component folder: two objects must not collide.
            fname = f"{obj.get('kind')}.{name}"
            if fname in files:
                found.append(f"same kind and name as {files[fname]} in this component: the second would "
                             f"overwrite the first in dist/ (give one an explicit distinct name)")
            files[fname] = where
            ident = (group_of(str(obj.get("apiVersion", ""))), obj.get("kind"), ns, name)
            if ident in seen_ids and seen_ids[ident] != where:
                found.append(f"also emitted by {seen_ids[ident]}: one object, one owner")
            seen_ids.setdefault(ident, where)
            problems += [f"{where}: {m}" for m in found]
    # What Argo CD applies besides our objects: every chart render and upstream manifest.
    problems += rendered.check(env.name, cs, r.renders, allowed_ns, seen_ids, MAX_ERRORS_PER_OBJECT)
    for comp, rel in sorted(r.helm.items()):
        problems += [f"{env.name}/{comp}/HelmRelease/{rel.release}: {m}"
                     for m in charts.check_values(rel.chart, rel.values) + charts.check_resources(rel.values)]
    if r.argocd_values:
        problems += [f"{env.name}/{BOOTSTRAP}/argo-cd.values: {m}" for m in charts.check_values("argo-cd", r.argocd_values)]
    problems += crosschecks.check(r)
    problems += scheduling.check_gpu_scheduling(r)
    problems += unit_checks(r)
    problems += monitoring.check(r)
    problems += metrics.check(r)  # every metric and label a query reads: kit/metrics.py
    problems += netpol.check(r) + netpol.check_route_backends(r)
    problems += bom.check(r)  # the BOM agrees with itself and covers every image the env runs
    problems += mirror.check(r)  # with a registry mirror, no image escapes it
    problems += admission.check(r)  # the union of ours, chart renders and controller-made pods
    return problems
