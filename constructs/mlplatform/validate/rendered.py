"""Validation of what charts render and upstream manifests hold, as strictly as our own objects.

Every rendered object is checked against the exact API it targets: core kinds against the env's
Kubernetes minor (strict), custom resources against the CRD the env installs (a pinned one, or
the chart's or manifest's own CRD), the CRD's CEL rules, name and label syntax, scope, and
namespaces that exist. A kind nothing serves is an error naming the chart template it came from,
never a skip. Problems read `env/component/Kind/name: [template] message`.
"""
from __future__ import annotations

import json
import re
from typing import Iterable

from ..kit import versions
from ..kit.meta import Obj, group_of
from ..renders import EnvRenders, namespaced
from . import cel, core, crd, rules

# RBAC object names are path segments (e.g. `system:controller:foo`), not DNS names.
_PATH_SEGMENT_KINDS = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
_PATH_SEGMENT = re.compile(r"^[^/%]+$")


def _name_problems(obj: Obj) -> Iterable[str]:
    md = obj.get("metadata") or {}
    name = md.get("name")
    kind = obj.get("kind")
    if not isinstance(name, str) or not name:
        yield "metadata.name: missing (Argo CD cannot apply an object without a name)"
        return
    if kind in _PATH_SEGMENT_KINDS:
        if not _PATH_SEGMENT.match(name) or name in (".", ".."):
            yield f"metadata.name {name!r}: not a valid path segment name"
    elif kind in rules.LABEL_NAMED_KINDS:
        if len(name) > 63 or not rules.DNS1123_LABEL.match(name):
            yield f"metadata.name {name!r}: must be a DNS-1123 label (max 63 chars)"
    elif len(name) > 253 or not rules.DNS1123_SUBDOMAIN.match(name):
        yield f"metadata.name {name!r}: must be a DNS-1123 subdomain (max 253 chars)"
    yield from rules._label_problems("metadata.labels", md.get("labels"))


def schema_problems(obj: Obj, cs: core.CoreSchemas, er: EnvRenders) -> list[str]:
    from . import _schema_problems  # the same memoized core/pinned-CRD path as our own objects
    av, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    pin = versions.crd_for(av, kind)
    if cs.validator(av, kind) is not None or (pin is not None and pin.api_version == av):
        found, _ = _schema_problems(obj, cs)
        return found + (cel.check_object(obj) if pin is not None else [])
    doc = er.crds.get((group_of(av), kind))
    if doc is None:
        return [f"unknown kind {kind} in {av}: not a Kubernetes {cs.minor} core kind and no CRD that this env "
                "installs serves it (the API server rejects it: Argo CD's sync fails)"]
    s = crd.schema_from_crd(doc, av)
    if s is None:
        served = [v["name"] for v in doc["spec"]["versions"] if v.get("served")]
        return [f"{av} is not served by the CRD {doc['metadata']['name']} this env installs (served: {', '.join(served)})"]
    out = [f"{e.json_path[2:] or '(root)'}: {e.message}"
           for e in sorted(s.validator.iter_errors({**obj, "metadata": {"name": "object"}}), key=lambda e: e.json_path)]
    out += [f"metadata{e.json_path[1:]}: {e.message}" for e in cs.object_meta.iter_errors(obj.get("metadata") or {})]
    rs = getattr(s, "_rules", None)
    if rs is None:
        rs = cel.RuleSet(kind, s.schema)
        s._rules = rs  # type: ignore[attr-defined]
    if rs.any:
        out += cel.check_with(rs, obj)
    return out


def _component_problems(docs, cs: core.CoreSchemas, er: EnvRenders, allowed_ns: set[str],
                        max_errors: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for i, d in enumerate(docs):
        obj = d.obj
        found = schema_problems(obj, cs, er)[:max_errors]
        found += list(_name_problems(obj))
        ns = (obj.get("metadata") or {}).get("namespace")
        if namespaced(er, obj) is True and ns and ns not in allowed_ns:
            found.append(f"namespace {ns!r} is not created in env (nor declared external): the object cannot be created")
        out += [(i, m) for m in found]
    return out


def check(env_name: str, cs: core.CoreSchemas, er: EnvRenders, allowed_ns: set[str],
          seen_ids: dict[tuple, str], max_errors: int = 8) -> list[str]:
    """Problems of every rendered object. The per-object verdicts of a component are cached by its
    render, the env's minor, namespaces and installed CRDs, and this code (validate/, renders.py,
    kit/): an unchanged component is not validated again."""
    import hashlib
    from ..renders import _cached_json, code_fingerprint
    problems: list[str] = []
    for comp, docs in sorted(er.docs.items()):
        key = er.keys.get(comp)
        if key is None:
            verdicts = _component_problems(docs, cs, er, allowed_ns, max_errors)
        else:
            ck = hashlib.sha256(json.dumps([key, cs.minor, sorted(allowed_ns), er.crd_fingerprint(), max_errors,
                                            code_fingerprint("validate", "renders.py", "kit")]).encode()).hexdigest()
            verdicts = _cached_json("verdicts", ck, lambda docs=docs: _component_problems(
                docs, cs, er, allowed_ns, max_errors))
        by_doc: dict[int, list[str]] = {}
        for i, m in verdicts:
            by_doc.setdefault(int(i), []).append(m)
        for i, d in enumerate(docs):
            obj = d.obj
            md = obj.get("metadata") or {}
            name = md.get("name", "?")
            where = f"{env_name}/{comp}/{obj.get('kind')}/{name}"
            found = list(by_doc.get(i, []))
            scope = namespaced(er, obj)
            ns = md.get("namespace")
            ident = (group_of(str(obj.get("apiVersion", ""))), obj.get("kind"), ns if scope else None, name)
            if ident in seen_ids and seen_ids[ident] != where:
                found.append(f"also applied by {seen_ids[ident]}: one object, two Applications (Argo CD's "
                             "FailOnSharedResource stops the second sync)")
            seen_ids.setdefault(ident, where)
            problems += [f"{where}: [{d.source}] {m}" for m in found]
    return problems
