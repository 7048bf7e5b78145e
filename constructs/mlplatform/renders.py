"""What Argo CD applies besides our own objects: chart renders and upstream manifests, per env.

For every Helm Application the env emits, the pinned chart is rendered with `helm template` the
way Argo CD's repo server does it: its release name, the destination namespace, our
`valuesObject`, `--include-crds`, the env's Kubernetes minor and the API versions the cluster
will serve once earlier waves synced (the core groups of that minor plus every CRD the env
installs: pinned CRDs, the charts' own `crds/`, upstream manifests, our own CRD objects).
Upstream directory sources (plain manifests from a git tag) are loaded from their pinned files.

The result, per component, is a list of `RenderedDoc` (the object and the template or file it
came from), normalized as Argo CD applies it: namespaced objects without a namespace get the
Application's destination namespace; Helm test hooks are dropped (Argo CD does not run them).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from .kit import helm, helm_template, upstream, versions, yamltext
from .kit.component import HelmRelease, UpstreamManifests
from .kit.meta import Obj, group_of
from .kit.scope import is_cluster_scoped

HOOK = "helm.sh/hook"
TEST_HOOKS = {"test", "test-success", "test-failure"}

# Files of upstream manifest sources that Argo CD applies but we cannot load here (not in any
# mirror we can reach), each with the reason. Reviewed like the policy exceptions: a test fails
# when an entry is no longer needed (the file became available) or a missing file has no entry.
UNSEEN: dict[str, str] = {
    "https://raw.githubusercontent.com/keycloak/keycloak-k8s-resources/26.0.0/kubernetes/kubernetes.yml":
        "the Keycloak operator's Deployment/RBAC manifest is not in the offline upstream mirror "
        "(only its two CRDs are); Argo CD applies it unseen by the synth until it is mirrored and pinned",
}


@dataclass
class EnvRenders:
    docs: dict[str, list[helm.RenderedDoc]] = field(default_factory=dict)  # component -> objects
    crds: dict[tuple[str, str], dict] = field(default_factory=dict)  # (group, kind) -> CRD served in env
    crd_origin: dict[tuple[str, str], str] = field(default_factory=dict)  # (group, kind) -> who installs it
    unseen: list[tuple[str, str, str]] = field(default_factory=list)  # (component, url, reason)
    problems: list[str] = field(default_factory=list)
    complete: bool = False  # the env's charts were rendered (plan.render(with_renders=True))
    # What each component's documents are a function of (its render's cache key), and where each CRD
    # of `crds` came from: together they key the caches of snapshots and validation verdicts.
    keys: dict[str, str] = field(default_factory=dict)
    crd_digests: dict[tuple[str, str], str] = field(default_factory=dict)

    def crd_fingerprint(self) -> str:
        import hashlib
        return hashlib.sha256(json.dumps(sorted(f"{g}/{k}={d}" for (g, k), d in self.crd_digests.items()))
                              .encode()).hexdigest()




@lru_cache(maxsize=None)
def chart_crds(chart: str) -> tuple[tuple[str | None, dict], ...]:
    """(subchart or None, CRD) of the chart's (and its subcharts') `crds/` folders: installed with
    --include-crds -- a subchart's only when it is enabled (`crds_installed`)."""
    out = []
    for d in helm.crds_folder_documents(chart):
        if d.obj.get("kind") == "CustomResourceDefinition":
            parts = d.source.split("/")
            out.append((parts[2] if len(parts) > 3 and parts[1] == "charts" else None, d.obj))
    return tuple(out)


def crds_installed(rel: HelmRelease) -> list[dict]:
    """The crds/ CRDs a release installs: the chart's own, and those of subcharts whose condition holds
    for our values (trainer's disabled lws subchart installs nothing)."""
    from .validate.charts import merged
    values = merged(helm.default_values(rel.chart), _plain(rel.values))
    return [doc for sub, doc in chart_crds(rel.chart) if sub is None or helm.subchart_enabled(rel.chart, sub, values)]


def _gk_of_crd(doc: dict) -> tuple[str, str]:
    spec = doc.get("spec") or {}
    return spec.get("group", ""), (spec.get("names") or {}).get("kind", "")


def _served(doc: dict) -> list[str]:
    return [v["name"] for v in (doc.get("spec") or {}).get("versions", []) if v.get("served")]


def _add_crd(er: EnvRenders, doc: dict, origin: str, digest: str | None = None) -> None:
    gk = _gk_of_crd(doc)
    if gk in er.crds:
        return
    er.crds[gk] = doc
    er.crd_origin[gk] = origin
    if digest is None:
        import hashlib
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    er.crd_digests[gk] = digest


def _pinned_gk(gk: str) -> tuple[str, str]:
    kind, _, group = gk.partition(".")
    return group, kind


def collect_crds(helm_rels: dict[str, HelmRelease], ups: dict[str, UpstreamManifests],
                 own: dict[str, list[Obj]]) -> EnvRenders:
    """Every CRD the env installs, known before any chart renders (for --api-versions)."""
    er = EnvRenders()
    for comp, objs in sorted(own.items()):
        for o in objs:
            if o.get("kind") == "CustomResourceDefinition":
                _add_crd(er, o, comp)
    for comp, up in sorted(ups.items()):
        for url, sha in versions.MANIFESTS[up.source].files:
            if sha is None:
                continue
            for i, d in enumerate(upstream.manifest_file(url, sha)):
                if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition":
                    _add_crd(er, d, comp, f"{sha}#{i}")
    for comp, rel in sorted(helm_rels.items()):
        for i, d in enumerate(crds_installed(rel)):
            _add_crd(er, d, comp, f"{helm.archive_digest(rel.chart)}#{i}")
        for gk in versions.CHARTS[rel.chart].provides_crds:  # templated CRDs: the pinned document
            group, kind = _pinned_gk(gk)
            if (group, kind) not in er.crds:
                try:
                    _add_crd(er, upstream.crd_document(kind, group), comp, versions.crd(kind, group).sha256)
                except (KeyError, upstream.UpstreamError):
                    pass  # reported after the render if the chart does not render it either
    return er


def api_versions(minor: str, er: EnvRenders) -> tuple[str, ...]:
    """What `helm template --api-versions` gets: `group/version` and `group/version/Kind` of every
    core kind of the minor and every served version of every CRD the env installs."""
    from .validate.core import schemas
    out: set[str] = set()
    for av, kind in schemas(minor).kinds():
        out.add(av)
        out.add(f"{av}/{kind}")
    for (group, kind), doc in er.crds.items():
        for v in _served(doc):
            out.add(f"{group}/{v}")
            out.add(f"{group}/{v}/{kind}")
    return tuple(sorted(out))


def namespaced(er: EnvRenders, obj: Obj) -> bool | None:
    av, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    gk = (group_of(av), kind)
    if gk in er.crds:
        return er.crds[gk]["spec"].get("scope") == "Namespaced"
    pin = versions.crd_for(av, kind)
    if pin is not None:
        return pin.namespaced
    return None if not _is_core(av, kind) else not is_cluster_scoped(av, kind)


@lru_cache(maxsize=None)
def _core_kinds() -> frozenset[tuple[str, str]]:
    from .validate.core import schemas
    out: set[tuple[str, str]] = set()
    for m in versions.SUPPORTED_KUBERNETES_MINORS:
        try:
            out |= set(schemas(m).kinds())
        except ValueError:
            continue
    return frozenset(out)


def _is_core(av: str, kind: str) -> bool:
    return (av, kind) in _core_kinds()


def _normalize(er: EnvRenders, docs: list[helm.RenderedDoc], namespace: str | None) -> list[helm.RenderedDoc]:
    out = []
    for d in docs:
        anns = ((d.obj.get("metadata") or {}).get("annotations") or {})
        hooks = {h.strip() for h in str(anns.get(HOOK, "")).split(",") if h.strip()}
        if hooks and hooks <= TEST_HOOKS:
            continue  # Argo CD does not apply Helm test hooks
        md = d.obj.setdefault("metadata", {})
        if namespace and not md.get("namespace") and namespaced(er, d.obj):
            md["namespace"] = namespace
        out.append(d)
    return out


def _render_charts(minor: str, helm_rels: dict[str, HelmRelease], er: EnvRenders,
                   only: list[str] | None = None) -> None:
    apis = api_versions(minor, er)
    comps = sorted(only if only is not None else helm_rels)
    reqs = [helm_template.RenderRequest(chart=helm_rels[c].chart, release=helm_rels[c].release,
                                        namespace=helm_rels[c].namespace, values=_plain(helm_rels[c].values),
                                        kube_version=minor, api_versions=apis) for c in comps]
    for comp, req, res in zip(comps, reqs, helm_template.render_many(reqs)):
        rel = helm_rels[comp]
        er.keys[comp] = req.key()
        if isinstance(res, helm.HelmError):
            er.problems.append(f"{comp}/HelmRelease/{rel.release}: {res}")
            er.docs.pop(comp, None)
            continue
        er.docs[comp] = _normalize(er, res, rel.namespace)


def _templated_crds(er: EnvRenders) -> int:
    """Add CRDs that charts render from templates (not from crds/); returns how many were new."""
    new = 0
    for comp, docs in sorted(er.docs.items()):
        for i, d in enumerate(docs):
            if d.obj.get("kind") == "CustomResourceDefinition" and _gk_of_crd(d.obj) not in er.crds:
                _add_crd(er, d.obj, comp, f"{er.keys.get(comp)}#{i}")
                new += 1
    return new


def render_env(minor: str, helm_rels: dict[str, HelmRelease], ups: dict[str, UpstreamManifests],
               own: dict[str, list[Obj]]) -> EnvRenders:
    er = collect_crds(helm_rels, ups, own)
    for comp, up in sorted(ups.items()):
        docs: list[helm.RenderedDoc] = []
        for url, sha in versions.MANIFESTS[up.source].files:
            if sha is None:
                er.unseen.append((comp, url, UNSEEN.get(url, "")))
                if url not in UNSEEN:
                    er.problems.append(f"{comp}: {url} is applied by Argo CD but is neither pinned nor listed in "
                                       "renders.UNSEEN with a reason")
                continue
            src = url.rsplit("/", 1)[-1]
            for d in upstream.manifest_file(url, sha):
                if isinstance(d, dict):
                    text = json.dumps(d, separators=(",", ":"))
                    docs.append(helm.RenderedDoc(src, json.loads(text), len(text)))
        er.docs[comp] = _normalize(er, docs, up.namespace)
        import hashlib
        key = ["manifests", helm_template.RENDER_FORMAT, up.source, up.namespace, versions.MANIFESTS[up.source].files]
        er.keys[comp] = hashlib.sha256(json.dumps(key).encode()).hexdigest()
    # Charts branch on .Capabilities.APIVersions, and some template their CRDs (not in crds/): those
    # render first, so that every chart then renders with the API versions of every CRD the env
    # installs. A chart whose templates never read APIVersions renders the same either way (its cache
    # key leaves them out), so the second pass re-runs helm only for charts that read them.
    first = [c for c in sorted(helm_rels) if helm.templates_crds(helm_rels[c].chart)]
    if first:
        _render_charts(minor, helm_rels, er, first)
        _templated_crds(er)
    for _ in range(3):
        _render_charts(minor, helm_rels, er)
        if not _templated_crds(er):
            break
    else:
        er.problems.append("charts: the set of CRDs the renders install did not settle after 3 passes")
    er.complete = True
    return er


def _plain(values: Any) -> Any:
    """Values as JSON would carry them (tuples -> lists), so the cache key and helm agree."""
    return json.loads(json.dumps(values))


# --- reviewable snapshots (rendered/<env>/<component>/) -----------------------------------------

MASK = "(masked: chart-generated or secret)"
SNAPSHOT_HEADER = ("# Snapshot of what Argo CD renders for this Application, for review and the guard; never "
                   "applied (Argo CD renders the chart itself).\n")


def _mask_ca_bundles(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (MASK if k == "caBundle" and isinstance(v, str) and v else _mask_ca_bundles(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_mask_ca_bundles(x) for x in node]
    return node


def _mask_checksums(md: Any) -> None:
    if isinstance(md, dict) and isinstance(md.get("annotations"), dict):
        md["annotations"] = {k: (MASK if k.startswith("checksum/") else v) for k, v in md["annotations"].items()}


def _crd_summary(o: Obj) -> Obj:
    """A CRD as reviewers and the guard need it: names, scope, served/storage versions and a digest of
    each version's schema (the full document is megabytes of upstream text)."""
    import hashlib
    spec = o.get("spec") or {}
    versions_out = []
    for v in spec.get("versions") or []:
        schema = json.dumps((v.get("schema") or {}).get("openAPIV3Schema") or {}, sort_keys=True, separators=(",", ":"))
        versions_out.append({"name": v.get("name"), "served": bool(v.get("served")), "storage": bool(v.get("storage")),
                             "schemaSha256": hashlib.sha256(schema.encode()).hexdigest(),
                             **({"deprecated": True} if v.get("deprecated") else {})})
    md = {k: v for k, v in (o.get("metadata") or {}).items() if k in ("name", "annotations", "labels")}
    _mask_checksums(md)
    return {"apiVersion": o.get("apiVersion"), "kind": o.get("kind"), "metadata": md,
            "spec": {"group": spec.get("group"), "names": spec.get("names"), "scope": spec.get("scope"),
                     "versions": versions_out,
                     **({"conversion": {"strategy": (spec.get("conversion") or {}).get("strategy")}}
                        if spec.get("conversion") else {})}}


def snapshot(o: Obj) -> Obj:
    """The reviewable form of a rendered object: secret material and generated certificates masked
    (stable bytes, nothing secret in git), CRDs summarized."""
    if o.get("kind") == "CustomResourceDefinition":
        return _crd_summary(o)
    out = _mask_ca_bundles(json.loads(json.dumps(o)))
    if out.get("kind") == "Secret" and out.get("apiVersion") == "v1":
        for part in ("data", "stringData"):
            if isinstance(out.get(part), dict):
                out[part] = {k: MASK for k in out[part]}
    _mask_checksums(out.get("metadata"))
    for path in (("spec", "template", "metadata"), ("spec", "jobTemplate", "spec", "template", "metadata")):
        node: Any = out
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        _mask_checksums(node)
    return out


@lru_cache(maxsize=None)
def code_fingerprint(*modules: str) -> str:
    """sha256 of the source of the given project modules (relative to the package): caches of
    results computed by that code are keyed by it, so a code change never reads a stale result."""
    import hashlib
    from pathlib import Path
    pkg = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for m in sorted(modules):
        for f in sorted((pkg / m).rglob("*.py")) if (pkg / m).is_dir() else [pkg / m]:
            h.update(f.read_bytes())
    return h.hexdigest()


def _cached_json(kind: str, key: str, compute):
    """A JSON-able result cached on disk under the render cache by `key`."""
    f = helm.RENDER_CACHE / kind / key[:2] / f"{key}.json"
    if f.exists():
        try:
            return json.loads(f.read_text(encoding="utf-8"))
        except ValueError:
            pass
    value = compute()
    f.parent.mkdir(parents=True, exist_ok=True)
    part = f.with_name(f"{f.name}.{os.getpid()}.part")
    part.write_text(json.dumps(value, separators=(",", ":")), encoding="utf-8")
    os.replace(part, f)
    return value


def _component_snapshot(docs: list[helm.RenderedDoc]) -> dict[str, str]:
    out: dict[str, str] = {}
    names: dict[str, int] = {}
    for d in docs:
        md = d.obj.get("metadata") or {}
        base = f"{d.obj.get('kind')}.{md.get('name')}"
        names[base] = names.get(base, 0) + 1
    for d in docs:
        md = d.obj.get("metadata") or {}
        base = f"{d.obj.get('kind')}.{md.get('name')}"
        fname = f"{base}.{md.get('namespace')}.yaml" if names[base] > 1 and md.get("namespace") else f"{base}.yaml"
        text = SNAPSHOT_HEADER + f"# source: {d.source}\n" + yamltext.dump(snapshot(d.obj), sort_keys=True,
                                                                            default_flow_style=False, width=10_000)
        if fname in out:  # the same object twice in one render: the validation reports it; keep both visible
            fname = f"{base}.{len(out)}.yaml"
        out[fname] = text
    return out


def snapshot_files(er: EnvRenders) -> dict[str, str]:
    """{"<component>/<Kind>.<name>.yaml": text} for every rendered object, in stable order. Cached
    per render (a render's snapshot is a function of the render and this module's code)."""
    out: dict[str, str] = {}
    for comp, docs in sorted(er.docs.items()):
        key = er.keys.get(comp)
        if key is None:
            files = _component_snapshot(docs)
        else:
            import hashlib
            ck = hashlib.sha256(f"{key}|{code_fingerprint('renders.py', 'kit/yamltext.py')}".encode()).hexdigest()
            files = _cached_json("snapshots", ck, lambda docs=docs: _component_snapshot(docs))
        out.update({f"{comp}/{name}": text for name, text in files.items()})
    return out

