"""Render one env: build every component, wire the Argo CD app-of-apps, compute sync waves.

Pure: config in, objects out. Dependencies are read off the emitted objects (a namespaced
object depends on the component that creates its namespace; a custom resource depends on the
component that installs its CRD), never hand-declared, so waves can't drift from reality.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .components import APPS_FOLDER, COMPONENTS
from .config.models import Env
from .kit import argocd, mirror, policy, refs, versions
from .kit.component import Component, HelmRelease, UpstreamManifests
from .kit.meta import SYNC_OPTIONS, Obj, add_annotation, group_of
from .kit.scope import is_cluster_scoped
from .renders import EnvRenders, namespaced, render_env

ANNOTATION_LIMIT = 262144  # bytes of last-applied-configuration for client-side apply


@dataclass
class Rendered:
    env: Env
    components: dict[str, list[Obj]] = field(default_factory=dict)  # dist/<env>/<component>/
    helm: dict[str, HelmRelease] = field(default_factory=dict)
    upstream: dict[str, UpstreamManifests] = field(default_factory=dict)
    waves: dict[str, int] = field(default_factory=dict)
    bootstrap: list[Obj] = field(default_factory=list)  # argocd/<env>/
    argocd_values: dict = field(default_factory=dict)  # argocd/<env>/argo-cd.values.yaml
    problems: list[str] = field(default_factory=list)
    # What Argo CD applies besides our objects: chart renders and upstream manifests (renders.py).
    renders: EnvRenders = field(default_factory=EnvRenders)

    def where(self, component: str) -> str:
        return f"{self.env.name}/{component}"


def _namespace_owner(objs_by_comp: dict[str, list[Obj]]) -> dict[str, str]:
    owner: dict[str, str] = {}
    for comp, objs in objs_by_comp.items():
        for o in objs:
            if o.get("kind") == "Namespace" and o.get("apiVersion") == "v1":
                owner[o["metadata"]["name"]] = comp
    return owner


def _crd_providers(r: Rendered) -> dict[tuple[str, str], str]:
    prov: dict[tuple[str, str], str] = {}
    for comp, objs in r.components.items():
        for o in objs:
            if o.get("kind") == "CustomResourceDefinition":
                spec = o.get("spec", {})
                prov[(spec.get("group", ""), spec.get("names", {}).get("kind", ""))] = comp
    for comp, rel in r.helm.items():
        for gk in versions.CHARTS[rel.chart].provides_crds:
            prov[_group_kind(gk)] = comp
    for comp, up in r.upstream.items():
        for gk in versions.MANIFESTS[up.source].provides_crds:
            prov[_group_kind(gk)] = comp
    return prov


def _group_kind(gk: str) -> tuple[str, str]:
    kind, _, group = gk.partition(".")
    return group, kind


def _is_custom(o: Obj, er: EnvRenders) -> bool:
    """A custom resource: a pinned CRD's, or one a chart of the env installs from its archive's crds/."""
    av = o.get("apiVersion", "")
    return versions.crd_for(av, o.get("kind", "")) is not None or (group_of(av), o.get("kind")) in er.crds


def _waves(r: Rendered, deps: dict[str, set[str]]) -> dict[str, int]:
    waves: dict[str, int] = {}
    visiting: list[str] = []

    def depth(c: str) -> int:
        if c in waves:
            return waves[c]
        if c in visiting:
            cycle = " -> ".join(visiting[visiting.index(c):] + [c])
            raise ValueError(f"dependency cycle between components: {cycle}")
        visiting.append(c)
        d = 0 if not deps.get(c) else 1 + max(depth(x) for x in sorted(deps[c]))
        visiting.pop()
        waves[c] = d
        return d

    for c in sorted(deps):
        depth(c)
    return waves


def _sync_options(r: Rendered, comp: Component) -> list[str]:
    opts = {"PruneLast=true", "FailOnSharedResource=true", "CreateNamespace=false"}
    rel = r.helm.get(comp.name)
    big_crd = any(o.get("kind") == "CustomResourceDefinition"
                  and len(json.dumps(o, separators=(",", ":"))) > ANNOTATION_LIMIT
                  for o in r.components.get(comp.name, []))
    up = r.upstream.get(comp.name)
    if (big_crd or (rel is not None and versions.CHARTS[rel.chart].crds_need_server_side_apply)
            or (up is not None and versions.MANIFESTS[up.source].server_side_apply)):
        opts.add("ServerSideApply=true")
    if rel is not None and rel.ignore_differences:
        opts.add("RespectIgnoreDifferences=true")
    return sorted(opts)


def _ignore_differences(rel: HelmRelease | None) -> list[argocd.IgnoreDifference] | None:
    if rel is None or not rel.ignore_differences:
        return None
    out = []
    for group, kind, name, path in rel.ignore_differences:
        ns = None if is_cluster_scoped(f"{group}/v1" if group else "v1", kind) else rel.namespace
        pointer = path.startswith("/")
        out.append(argocd.IgnoreDifference(group=group, kind=kind, name=name, namespace=ns,
                                           json_pointers=[path] if pointer else None,
                                           jq_path_expressions=None if pointer else [path]))
    return out


def _bom() -> mirror.Bom:
    return mirror.Bom(frozenset(i.ref for i in versions.IMAGES.values()),
                      frozenset(i.repository for i in versions.IMAGES.values()))


def _mirrored(env: Env, objs: list[Obj], rel: HelmRelease | None) -> tuple[list[Obj], HelmRelease | None]:
    """A unit's objects and chart values with every image pulled from the env's registry mirror
    (kit/mirror.py): BOM references rewritten wherever they sit, the chart's default images set
    through its `MirrorValue` rows, the pull Secret listed by every pod template of ours."""
    from dataclasses import replace

    from .validate.admission_pss import pod_templates  # validate imports this module: read late

    m, bom = env.registry.mirror(), _bom()
    objs = [mirror.rewrite_object(o, bom, m, pod_templates) for o in objs]
    if rel is not None:
        values = mirror.overlay(mirror.rewrite_values(rel.values, bom, m),
                                versions.MIRROR_VALUES.get(rel.chart, ()), m)
        specs = tuple((n, mirror.rewrite_object({"kind": "Pod", "apiVersion": "v1", "spec": s}, bom, m,
                                                pod_templates)["spec"]) for n, s in rel.pod_specs)
        rel = replace(rel, values=values, pod_specs=specs)
    return objs, rel


def render(env: Env, components: tuple[Component, ...] = COMPONENTS, *, with_renders: bool = True) -> Rendered:
    """Build every component and wire Argo CD. With `with_renders` (the default) the env's charts
    are rendered and its upstream manifests loaded too (renders.py), so that everything Argo CD
    will apply is validated and feeds the AppProject."""
    r = Rendered(env)
    for comp in components:
        try:
            objs = comp.build(env)
            rel = comp.helm(env) if comp.helm else None
            up = comp.upstream(env) if comp.upstream else None
        except Exception as e:  # a builder bug must still read as a problem, not a traceback
            r.problems.append(f"{r.where(comp.name)}: build failed: {type(e).__name__}: {e}")
            continue
        if env.registry.enabled:
            objs, rel = _mirrored(env, objs, rel)
        if objs:
            r.components[comp.name] = objs
        if rel is not None:
            r.helm[comp.name] = rel
        if up is not None:
            r.upstream[comp.name] = up
    by_name = {c.name: c for c in components}
    if with_renders:
        r.renders = render_env(env.kubernetes_version, r.helm, r.upstream, r.components)
        r.problems += [f"{env.name}/{p}" for p in r.renders.problems]
    ns_owner = _namespace_owner(r.components)
    crd_prov = _crd_providers(r)
    secret_owner = refs.created_secrets(r.components)
    class_owner = refs.created_priority_classes(r.components)
    deps: dict[str, set[str]] = {c: set() for c in list(r.components) + list(r.helm) + list(r.upstream)}
    for comp, objs in r.components.items():
        for o in objs:
            ns = (o.get("metadata") or {}).get("namespace")
            if ns and ns_owner.get(ns) not in (None, comp):
                deps[comp].add(ns_owner[ns])
            for name in refs.secret_refs(o):  # a Secret another component's ExternalSecret makes
                if secret_owner.get((ns, name)) not in (None, comp):
                    deps[comp].add(secret_owner[(ns, name)])
            if o.get("kind") not in ("Application", "PriorityClass"):
                for name in refs.priority_class_refs(o):  # pods naming a class are refused until it exists
                    if class_owner.get(name) not in (None, comp):
                        deps[comp].add(class_owner[name])
            if _is_custom(o, r.renders):
                key = (group_of(o["apiVersion"]), o["kind"])
                prov = crd_prov.get(key)
                if prov and prov == comp:
                    # Same Application (chart + our objects): Argo CD applies the CRDs first, but
                    # the dry run of the whole sync happens before they exist.
                    add_annotation(o, SYNC_OPTIONS, "SkipDryRunOnMissingResource=true")
                elif prov:
                    deps[comp].add(prov)
                    # The CRD arrives with another Application: don't fail the dry run before it exists.
                    add_annotation(o, SYNC_OPTIONS, "SkipDryRunOnMissingResource=true")
                elif prov is None and key not in argocd.BOOTSTRAP_CRDS:
                    r.problems.append(f"{r.where(comp)}/{o['kind']}/{o['metadata'].get('name')}: no component "
                                      f"in this env installs the CRD for {o['kind']}.{key[0]}")
    for comp, rel in r.helm.items():
        if ns_owner.get(rel.namespace) not in (None, comp):
            deps[comp].add(ns_owner[rel.namespace])
        for name in refs.value_secret_refs(rel.values):
            if secret_owner.get((rel.namespace, name)) not in (None, comp):
                deps[comp].add(secret_owner[(rel.namespace, name)])
        for name in refs.priority_class_refs(rel.values):
            if class_owner.get(name) not in (None, comp):
                deps[comp].add(class_owner[name])
        for gk in rel.requires_crds:
            prov = crd_prov.get(_group_kind(gk))
            if prov is None:
                r.problems.append(f"{r.where(comp)}: chart {rel.chart} renders {gk} objects but no component "
                                  f"in this env installs that CRD")
            elif prov != comp:
                deps[comp].add(prov)
    for comp, up in r.upstream.items():
        if up.namespace and ns_owner.get(up.namespace) not in (None, comp):
            deps[comp].add(ns_owner[up.namespace])
    try:
        r.waves = _waves(r, deps)
    except ValueError as e:
        r.problems.append(f"{env.name}: {e}")
        return r
    _wire_argocd(r, by_name)
    # checkov's accepted findings (kit/policy.py), written onto the objects they excuse
    r.problems.extend(f"{env.name}/{p}" for p in policy.annotate(r.components))
    return r


def _wire_argocd(r: Rendered, by_name: dict[str, Component]) -> None:
    env, g = r.env, r.env.gitops
    retry = argocd.Retry(limit=g.retry.limit, backoff=argocd.Backoff(
        duration=g.retry.backoff_duration, factor=g.retry.backoff_factor, max_duration=g.retry.backoff_max_duration))
    apps: list[Obj] = []
    for name in sorted(r.waves, key=lambda c: (r.waves[c], c)):
        comp = by_name[name]
        rel, up = r.helm.get(name), r.upstream.get(name)
        if rel is not None:
            source = argocd.chart_source(rel.chart, release=rel.release, values=rel.values)
            dest = argocd.Destination(server=g.destination_server, namespace=rel.namespace)
        elif up is not None:
            source = argocd.manifests_source(up.source)
            dest = argocd.Destination(server=g.destination_server, namespace=up.namespace)
        else:
            source = None
            dest = argocd.Destination(server=g.destination_server)
        ours = argocd.Source(repo_url=g.repo_url, target_revision=g.revision, path=f"dist/{env.name}/{name}") \
            if r.components.get(name) else None
        # A chart (or upstream manifests) plus objects of ours: one Application, two sources.
        sources = [source, ours] if source is not None and ours is not None else None
        spec = argocd.ApplicationSpec(
            project=env.project, source=None if sources else (source or ours), sources=sources, destination=dest,
            sync_policy=argocd.SyncPolicy(automated=argocd.Automated(prune=comp.prune, self_heal=True),
                                          sync_options=_sync_options(r, comp), retry=retry),
            ignore_differences=_ignore_differences(rel))
        apps.append(argocd.application(f"{env.name}-{name}", namespace=g.argocd_namespace, env=env.name,
                                       component=name, spec=spec, wave=r.waves[name]))
    r.components[APPS_FOLDER] = apps

    root_spec = argocd.ApplicationSpec(
        project=env.project,
        source=argocd.Source(repo_url=g.repo_url, target_revision=g.revision, path=f"dist/{env.name}/{APPS_FOLDER}"),
        destination=argocd.Destination(server=g.destination_server, namespace=g.argocd_namespace),
        sync_policy=argocd.SyncPolicy(automated=argocd.Automated(), retry=retry,
                                      sync_options=["FailOnSharedResource=true", "PruneLast=true"]))
    root = argocd.application(f"{env.name}-root", namespace=g.argocd_namespace, env=env.name,
                              component=APPS_FOLDER, spec=root_spec, finalizer=False)

    namespaces = {g.argocd_namespace}
    cluster_kinds: set[tuple[str, str]] = set()
    repos = {g.repo_url}
    for comp, objs in r.components.items():
        for o in objs:
            ns = (o.get("metadata") or {}).get("namespace")
            if ns:
                namespaces.add(ns)
            if o.get("kind") == "Namespace":
                namespaces.add(o["metadata"]["name"])
            av, kind = o.get("apiVersion", ""), o.get("kind", "")
            pin = versions.crd_for(av, kind)
            if (pin is not None and not pin.namespaced) or (pin is None and is_cluster_scoped(av, kind)) \
                    or (pin is None and namespaced(r.renders, o) is False):  # a chart archive's CRD says so
                cluster_kinds.add((group_of(av), kind))
    for rel in r.helm.values():
        namespaces.add(rel.namespace)
        c = versions.CHARTS[rel.chart]
        repos.add(c.repo_url)
    for up in r.upstream.values():
        m = versions.MANIFESTS[up.source]
        if up.namespace:
            namespaces.add(up.namespace)
        repos.add(m.repo_url)
    # What the charts and upstream manifests will create, read off their renders (never a hand list):
    # a cluster-scoped kind the project does not whitelist makes Argo CD refuse the whole sync.
    for docs in r.renders.docs.values():
        for d in docs:
            scope = namespaced(r.renders, d.obj)
            if scope is False:
                cluster_kinds.add((group_of(str(d.obj.get("apiVersion", ""))), str(d.obj.get("kind", ""))))
            elif scope is True and (d.obj.get("metadata") or {}).get("namespace"):
                namespaces.add(d.obj["metadata"]["namespace"])
    project_spec = argocd.AppProjectSpec(
        description=f"ML platform, {env.name}: only what this generator emits for this env",
        source_repos=sorted(repos),
        destinations=[argocd.ProjectDestination(server=g.destination_server, namespace=n) for n in sorted(namespaces)],
        cluster_resource_whitelist=[argocd.GroupKind(group=gr, kind=k) for gr, k in sorted(cluster_kinds)],
    )
    r.bootstrap = [argocd.app_project(env.project, namespace=g.argocd_namespace, env=env.name, spec=project_spec), root]
    r.argocd_values = argocd.server_values(env)
    if env.registry.enabled:
        m = env.registry.mirror()
        r.argocd_values = mirror.overlay(mirror.rewrite_values(r.argocd_values, _bom(), m),
                                         versions.MIRROR_VALUES.get("argo-cd", ()), m)
    r.argocd_values["configs"]["cm"]["resource.customizations.health.argoproj.io_Application"] = \
        argocd.APPLICATION_HEALTH_LUA
