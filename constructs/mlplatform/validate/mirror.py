"""Every image the env runs comes from its registry mirror (issue 17, part 4), when one is configured.

Where a node pulls from, as far as the env says it: the container images of every pod template in
our objects, in the chart renders and upstream manifests, in the pods controllers spawn from chart
values (`HelmRelease.pod_specs`, e.g. JupyterHub's single-user servers) and in pod templates
ConfigMaps carry (Airflow's pod_template_file); image references in their args and env values (an
operator's `--prometheus-config-reloader=...`, `RELATED_IMAGE_*`); and the `image` and `repository`
fields of custom resources an operator turns into pods (ClusterPolicy, Prometheus, Alertmanager).
Manifests Argo CD applies unseen (renders.UNSEEN) run the images their unit pins in the BOM: those
count too. An image outside the mirror is a problem unless `registry.exempt` names its repository
with a reason; an exemption that matches nothing is a problem too (it would hide the next escape).

With `registry.pull_secret`, every one of those pods must list the pull Secret in its
imagePullSecrets, or its pulls from the mirror are refused.

Generic: no unit is named; the units' `MirrorValue` rows and the BOM are what the rewrite used.
"""
from __future__ import annotations

from ..kit import mirror, versions
from ..kit.component import units
from ..plan import Rendered
from .admission import _union, embedded_pods
from .admission_pss import pod_templates


def _exempt(ref: str, exempt: dict[str, str]) -> str | None:
    repo = mirror.repository_of(ref)
    for e in exempt:
        if repo == e or mirror.normalize(repo) == mirror.normalize(e) or repo.startswith(e + "/"):
            return e
    return None


def _pods(r: Rendered):
    """(where, object) of everything that makes pods or names images: ours, renders, spawned pods."""
    env = r.env.name
    for comp, o, src in _union(r):
        md = o.get("metadata") or {}
        yield comp, f"{env}/{comp}/{o.get('kind')}/{md.get('name', '?')}" + (f" [{src}]" if src else ""), o
    for comp, rel in sorted(r.helm.items()):
        for name, spec in rel.pod_specs:
            yield comp, f"{env}/{comp}: pods the chart's controller spawns ({name})", \
                {"apiVersion": "v1", "kind": "Pod", "spec": spec}
    for comp, pod, what in embedded_pods(r):
        yield comp, f"{env}/{comp}: {what}", pod


def _hint(r: Rendered, comp: str) -> str:
    if comp in r.helm:
        return (f"add a versions.MirrorValue row for chart {r.helm[comp].chart} at the value that sets it (the "
                "unit's versions.py), or take it from the BOM")
    if comp in r.upstream:
        return "these manifests are applied as-is: list its repository in registry.exempt with the reason"
    return "take it from the BOM (versions.IMAGES): plan.render mirrors every BOM reference"


def env_images(r: Rendered) -> list[tuple[str, str, str]]:
    """(component, where, image) of every image the env pulls, as far as it says (module docstring),
    plus the BOM images of units whose manifests Argo CD applies unseen."""
    out: list[tuple[str, str, str]] = []
    for comp, where, o in _pods(r):
        out += [(comp, f"{where} ({path})", ref) for path, ref in mirror.image_refs(o, pod_templates)]
    unseen = {comp for comp, _, _ in r.renders.unseen}
    for u in units():
        if u.name in unseen:
            out += [(u.name, f"{r.env.name}/{u.name} (run by manifests Argo CD applies unseen)", row.ref)
                    for row in u.versions if isinstance(row, versions.Image)]
    return out


def check(r: Rendered) -> list[str]:
    reg = r.env.registry
    m = reg.mirror()
    if m is None:
        return []
    out: list[str] = []
    used: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for comp, where, ref in env_images(r):
        if m.is_mirrored(ref) or (where, ref) in seen:
            continue
        seen.add((where, ref))
        e = _exempt(ref, reg.exempt)
        if e is not None:
            used.add(e)
            continue
        out.append(f"{where}: image {ref} escapes the registry mirror: {_hint(r, comp)}")
    if m.pull_secret:
        for comp, where, o in _pods(r):
            for path, spec, _ in pod_templates(o):
                names = {s.get("name") for s in spec.get("imagePullSecrets") or [] if isinstance(s, dict)}
                if spec.get("containers") and m.pull_secret not in names:
                    out.append(f"{where}: {path} does not list imagePullSecrets {m.pull_secret}: its pulls from the "
                               f"mirror are refused ({_hint(r, comp) if comp in r.helm else 'kit/mirror.py sets it on ours'})")
    for e in sorted(set(reg.exempt) - used):
        out.append(f"{r.env.name}/registry: registry.exempt names {e}, which no image of the env comes from: drop it")
    return out


def mirror_list(r: Rendered) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """What a sync job copies into the env's mirror: (source, mirror) references of every image the
    env pulls, and (source, why) of the exempt ones it pulls from their sources."""
    reg = r.env.registry
    m = reg.mirror()
    refs = sorted({ref for _, _, ref in env_images(r)})
    exempt = sorted({(mirror.normalize(ref), reg.exempt[e]) for ref in refs
                     if not m.is_mirrored(ref) and (e := _exempt(ref, reg.exempt)) is not None})
    copy = mirror.mirror_list([ref for ref in refs if m.is_mirrored(ref) or _exempt(ref, reg.exempt) is None], m)
    return copy, exempt
