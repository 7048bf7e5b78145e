"""The BOM agrees with itself and with what the env runs (issue 15), on every synth.

- CRD pins come from the release that installs them: the tag in a pinned CRD's URL is the version of
  the chart (its appVersion, or the app image we run through its values) or manifests that provide
  the kind, and every CRD document a render or upstream manifest applies has the same
  `spec.versions` as the pinned one we validate against (for a chart whose app we run newer than its
  appVersion, its own templated CRDs are compared too).
- An image an operator release documents is the one that release uses: the Trainer runtime image is
  the one in the pinned Trainer chart's torch-distributed runtime; keycloak-config-cli is the build
  for the server's Keycloak minor (its tag is `<cli>-<Keycloak it was built against>`).
- No mutable tag: only a release version (`1.2.3`, `v1.2.3`, with a build suffix such as
  `-alpine`), a date (`2026-07-28`, optionally behind a variant prefix such as `cuda12-`) or a
  digest. `latest`, `7.4-alpine` and `cuda12-python-3.13.14` (a build variant re-pushed while its
  Python stays) are refused.
- Every image the env runs has a BOM row: ours in `versions.IMAGES`, a chart render's in
  `versions.IMAGES` or under its chart in `versions.CHART_IMAGES`.
"""
from __future__ import annotations

import json
import re
import tarfile
from functools import lru_cache
from typing import Callable, Iterable, Mapping


from ..kit import helm, upstream, versions
from ..plan import Rendered
from .admission_pss import pod_templates

_VERSION_TAG = re.compile(r"^v?\d+\.\d+\.\d+([-+._][A-Za-z0-9][A-Za-z0-9._-]*)?$")
_DATE_TAG = re.compile(r"^([a-z][a-z0-9]*-)?\d{4}-\d{2}-\d{2}$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _norm(v: str) -> str:
    return v[1:] if v.startswith("v") else v


def pin_tag(pin: versions.CrdPin) -> str:
    """The git ref of a pinned CRD (raw.githubusercontent.com/<owner>/<repo>/<ref>/...)."""
    return pin.url.split("/")[5]


def app_version(chart: versions.HelmChart, images: Mapping[str, versions.Image]) -> str:
    return images[chart.app_image].tag if chart.app_image else chart.app_version


def crd_release_problems(charts: Mapping[str, versions.HelmChart], manifests: Mapping[str, versions.ManifestSource],
                         crds: Iterable[versions.CrdPin], images: Mapping[str, versions.Image]) -> list[str]:
    """A pinned CRD whose tag is not the release of what installs its kind (manifest sources take
    precedence over charts, as in the app-of-apps: kube-prometheus-stack runs with crds.enabled=false)."""
    installer: dict[tuple[str, str], tuple[str, str]] = {}
    for c in charts.values():
        for gk in c.provides_crds:
            installer[gk] = (f"chart {c.name} {c.version} (app {app_version(c, images)})", app_version(c, images))
    for m in manifests.values():
        for gk in m.provides_crds:
            installer[gk] = (f"manifests {m.name} {m.revision}", m.revision)
    out = []
    for pin in crds:
        who = installer.get(f"{pin.kind}.{pin.group}")
        if who and _norm(pin_tag(pin)) != _norm(who[1]):
            out.append(f"CRD {pin.kind}.{pin.group} is pinned from {pin_tag(pin)} but {who[0]} installs it: pin the "
                       f"CRD of {who[1]} in kit/versions.py CRDS (then `python app.py pins`), or the cluster serves "
                       f"a schema other than the one we validate against")
    return out


# CRD documents come from the document store (one object per content, shared by every env) or the
# pinned files (parsed once): their canonical `spec.versions` is computed once per document object.
_VERSIONS_JSON: dict[int, tuple[dict, str]] = {}


def _versions_json(doc: dict) -> str:
    hit = _VERSIONS_JSON.get(id(doc))
    if hit is None or hit[0] is not doc:
        hit = _VERSIONS_JSON[id(doc)] = (doc, json.dumps((doc.get("spec") or {}).get("versions"), sort_keys=True))
    return hit[1]


def crd_content_problems(installed: Iterable[tuple[str, dict]],
                         pinned: Callable[[str, str], dict | None]) -> list[str]:
    """(origin, CRD document) that differs from the pinned CRD of its kind in `spec.versions`."""
    out = []
    for origin, doc in installed:
        spec = doc.get("spec") or {}
        group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
        pin = pinned(kind, group)
        if pin is not None and _versions_json(doc) != _versions_json(pin):
            out.append(f"CRD {kind}.{group}: {origin} installs a schema that differs from the pinned "
                       f"{versions.crd(kind, group).url}: pin the CRDs of the release that installs them")
    return out


def _pinned_doc(kind: str, group: str) -> dict | None:
    try:
        versions.crd(kind, group)
    except KeyError:
        return None
    return upstream.crd_document(kind, group)


@lru_cache(maxsize=None)
def templated_crds(chart: str) -> tuple[dict, ...]:
    """CRDs a chart makes from `templates/crds/` (template lines dropped: they only gate and annotate)."""
    helm.archive_digest(chart)
    out = []
    with tarfile.open(helm.archive_path(chart), mode="r:gz") as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if m.isfile() and re.match(r"^[^/]+/templates/crds/[^/]+\.ya?ml$", m.name):
                text = "\n".join(ln for ln in tar.extractfile(m).read().decode().splitlines() if "{{" not in ln)
                # through the render cache's document store: parsed once (libyaml), then read as JSON
                out += [d.obj for d in helm.parse_documents(text, m.name)
                        if d.obj.get("kind") == "CustomResourceDefinition"]
    return tuple(out)


def documented_image_problems(images: Mapping[str, versions.Image], trainer_runtime: str | None) -> list[str]:
    """Sidecar/runtime images an operator release documents (`trainer_runtime`: the text of the pinned
    Trainer chart's files/runtimes/torch-distributed.yaml)."""
    out = []
    if trainer_runtime is not None:
        documented = sorted(set(re.findall(r"image:\s*[\"']?([^\s\"']+)", trainer_runtime)))
        ours = images["pytorch-cuda"].ref
        if documented and ours not in documented:
            out.append(f"image pytorch-cuda is {ours} but the pinned Trainer {versions.CHARTS['kubeflow-trainer'].version} "
                       f"runtime uses {', '.join(documented)}: set that tag in kit/versions.py IMAGES")
    cli, kc = images["keycloak-config-cli"].tag, images["keycloak"].tag
    built = cli.split("-", 1)[1] if "-" in cli else ""
    if built.split(".")[:2] != kc.split(".")[:2]:
        out.append(f"image keycloak-config-cli {cli} is built against Keycloak {built or '?'}, the server is {kc}: "
                   f"use the keycloak-config-cli build for Keycloak {'.'.join(kc.split('.')[:2])}")
    return out


def mutable_tag(ref: str) -> str | None:
    """Why an image reference can change under the same name, or None."""
    if _DIGEST.search(ref):
        return None
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:
        return "no tag (means latest)"
    if _DATE_TAG.match(tag):
        return None
    if _VERSION_TAG.match(tag):
        return None
    return (f"tag {tag!r} is not a release version, a date or a digest, so it can be re-pushed"
            + (" (a build-variant tag follows its base, e.g. its Python, and is re-pushed)" if re.search(r"\d", tag) else ""))


def _digest_ref(ref: str) -> str | None:
    return ref if _DIGEST.search(ref) and ":" not in ref.partition("@")[0].rsplit("/", 1)[-1] else None


def _pod_images(obj: dict) -> list[str]:
    out = []
    for _, spec, _ in pod_templates(obj):
        for k in ("initContainers", "containers", "ephemeralContainers"):
            out += [c.get("image", "") for c in spec.get(k) or [] if isinstance(c, dict)]
    return out


def image_problems(ours: Mapping[str, list[dict]], rendered: Mapping[str, tuple[str, list[dict]]],
                   images: Mapping[str, versions.Image], chart_images: Mapping[str, tuple[str, ...]]) -> list[str]:
    """`ours`: component -> our objects; `rendered`: component -> (chart or manifests name, objects)."""
    bom = {i.ref for i in images.values()}
    # a digest of a repository the BOM pins is as good as its row (the digest is the stricter pin)
    bom |= {r for r in (_digest_ref(ref) for objs in ours.values() for o in objs for ref in _pod_images(o))
            if r and r.partition("@")[0] in {i.repository for i in images.values()}}
    out = []
    seen: set[tuple[str, str]] = set()
    # ours first, then the renders: (component, chart or None, objects)
    sources = [(c, None, objs) for c, objs in sorted(ours.items())] + \
        [(c, chart, objs) for c, (chart, objs) in sorted(rendered.items())]
    for comp, chart, objs in sources:
        for o in objs:
            for ref in _pod_images(o):
                if (comp, ref) in seen:
                    continue
                seen.add((comp, ref))
                origin = f" (from chart {chart})" if chart else ""
                why = mutable_tag(ref)
                if why:
                    out.append(f"{comp}: image {ref}{origin}: {why}" + ("; pin it through the chart's values" if chart else ""))
                if chart is None and ref not in bom:
                    out.append(f"{comp}: image {ref} has no BOM row: take it from kit/versions.py IMAGES")
                elif chart is not None and ref not in bom and ref not in chart_images.get(chart, ()):
                    out.append(f"{comp}: image {ref}{origin} has no BOM row: add it to kit/versions.py "
                               f"CHART_IMAGES[{chart!r}] (or IMAGES if we set it)")
    return out


def _trainer_runtime() -> str | None:
    helm.archive_digest("kubeflow-trainer")
    with tarfile.open(helm.archive_path("kubeflow-trainer"), mode="r:gz") as tar:
        try:
            f = tar.extractfile("kubeflow-trainer/files/runtimes/torch-distributed.yaml")
        except KeyError:
            return None
        return f.read().decode() if f else None


def check(r: Rendered) -> list[str]:
    env = r.env.name
    out = [f"{env}/bom: {m}" for m in crd_release_problems(versions.CHARTS, versions.MANIFESTS, versions.CRDS,
                                                           versions.IMAGES)]
    installed = [(f"{comp} ({d.source})", d.obj) for comp, docs in sorted(r.renders.docs.items()) for d in docs
                 if d.obj.get("kind") == "CustomResourceDefinition"]
    installed += [(f"{comp}", o) for comp, objs in sorted(r.components.items()) for o in objs
                  if o.get("kind") == "CustomResourceDefinition"]
    for c in versions.CHARTS.values():  # a chart whose app we run newer than its own CRDs
        if c.app_image:
            installed += [(f"chart {c.name} {c.version} (templates/crds)", d) for d in templated_crds(c.name)]
    out += [f"{env}/bom: {m}" for m in crd_content_problems(installed, _pinned_doc)]
    out += [f"{env}/bom: {m}" for m in documented_image_problems(versions.IMAGES, _trainer_runtime())]
    rendered = {}
    for comp, docs in r.renders.docs.items():
        source = r.helm[comp].chart if comp in r.helm else (r.upstream[comp].source if comp in r.upstream else comp)
        rendered[comp] = (source, [d.obj for d in docs])
    images, chart_images = versions.IMAGES, versions.CHART_IMAGES
    m = r.env.registry.mirror()
    if m is not None:  # the env pulls the BOM's images from its mirror (kit/mirror.py): same rows, mirrored
        images = {k: versions.Image(i.name, m.rewrite(i.repository), i.tag) for k, i in images.items()}
        chart_images = {c: tuple(m.rewrite(ref) for ref in refs) for c, refs in chart_images.items()}
    out += [f"{env}/{m}" for m in image_problems(r.components, rendered, images, chart_images)]
    return out
