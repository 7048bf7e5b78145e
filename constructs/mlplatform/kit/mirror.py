"""A private registry mirror: where every image the platform runs is pulled from (issue 17, part 4).

An institution that pulls nothing from the internet (or wants one audited cache) fronts every
source registry with its own: a Harbor proxy-cache project per source (`docker.io` ->
`harbor.example.org/dockerhub`), an ECR pull-through cache, or one prefix under which a sync job
copies every image with its source host kept (`harbor.example.org/mirror/quay.io/...`). A `Mirror`
is that mapping; it turns an image reference into the one the cluster pulls:

- `sources` maps a source registry host to the repository prefix that mirrors it;
- `prefix` is the fallback for hosts `sources` does not name: `<prefix>/<host>/<path>`;
- Docker Hub short names are spelled out first (`redis` -> `docker.io/library/redis`), as a
  container runtime resolves them, so a mirror never sees an ambiguous name.

Three places are rewritten, all by `plan.render`, so no builder needs to know about the mirror:

1. our objects: every string that is a BOM image reference (`versions.IMAGES`, or a digest of a
   BOM repository), wherever it sits (pod templates, a Keycloak CR's `spec.image`, Ray and Trainer
   templates); pod specs also get the pull Secret (`imagePullSecrets`) when one is configured;
2. chart values we set: the same references, and a BOM repository next to a tag key
   (`image: {repository, tag}`, `defaultAirflowRepository` + `defaultAirflowTag`);
3. chart defaults we do not set: each unit declares where its chart keeps them
   (`versions.MirrorValue` rows: value path + the source it holds there), and `overlay` sets each
   path to its mirrored form. A chart bump that brings an image on a new path fails the synth's
   escape check (validate/mirror.py), which names the image and the chart.

kit only: the env's registry section is read by the caller and handed over as plain data.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from .meta import Obj

DOCKER_HUB = "docker.io"
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# what an image reference looks like inside an argument or an env var: host.tld[:port]/path(:tag|@digest)
_REF_IN_TEXT = re.compile(r"(?:^|=)((?:[a-z0-9-]+\.)+[a-z0-9-]+(?::\d+)?/[a-z0-9._/-]+(?::[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64}))$")


def split(ref: str) -> tuple[str, str]:
    """(registry host, path with tag or digest) of an image reference or repository, the way a
    container runtime reads it: the first component is a host only if it has a `.` or `:` or is
    `localhost`; otherwise Docker Hub, whose one-component names live under `library/`."""
    first, sep, rest = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        if first in ("index.docker.io", "registry-1.docker.io"):
            first = DOCKER_HUB
        if first == DOCKER_HUB and "/" not in repository_of(rest):
            rest = f"library/{rest}"
        return first, rest
    return DOCKER_HUB, ref if sep else f"library/{ref}"


def normalize(ref: str) -> str:
    """`redis:7` -> `docker.io/library/redis:7`; a reference with a registry host is unchanged."""
    host, path = split(ref)
    return f"{host}/{path}"


def repository_of(ref: str) -> str:
    """The repository of a reference (no tag, no digest)."""
    name = ref.partition("@")[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


@dataclass(frozen=True)
class Mirror:
    """Source registry host -> mirror prefix (`sources`), with `prefix/<host>` for the rest."""

    prefix: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    pull_secret: str | None = None  # the Secret name pods list in imagePullSecrets, if any

    def destinations(self) -> tuple[str, ...]:
        """Every repository prefix an image may come from."""
        return tuple(sorted({*self.sources.values(), *((self.prefix,) if self.prefix else ())}))

    def hosts(self) -> tuple[str, ...]:
        """The mirror's registry hosts (what a pull Secret authenticates against)."""
        return tuple(sorted({d.partition("/")[0] for d in self.destinations()}))

    def registry(self, host: str) -> str | None:
        """Where source registry `host` is mirrored (a repository prefix), or None."""
        if host in self.sources:
            return self.sources[host]
        return f"{self.prefix}/{host}" if self.prefix else None

    def is_mirrored(self, ref: str) -> bool:
        return any(ref.startswith(d + "/") for d in self.destinations())

    def source_of(self, ref: str) -> str:
        """The source reference a mirrored one stands for (the longest matching mirror prefix wins)."""
        for host, dest in sorted(self.sources.items(), key=lambda kv: -len(kv[1])):
            if ref.startswith(dest + "/"):
                return f"{host}/{ref[len(dest) + 1:]}"
        if self.prefix and ref.startswith(self.prefix + "/"):
            return ref[len(self.prefix) + 1:]
        return normalize(ref)

    def rewrite(self, ref: str) -> str:
        """The mirrored form of an image reference or repository (unchanged if already mirrored).
        A source registry the mirror does not cover is a KeyError naming it."""
        if self.is_mirrored(ref):
            return ref
        host, path = split(ref)
        dest = self.registry(host)
        if dest is None:
            raise KeyError(f"registry.sources has no entry for {host!r} (image {ref}) and no registry.prefix is set")
        return f"{dest}/{path}"


def _keys(path: str) -> list[str]:
    return path.split(".")


def _set(values: dict, path: str, value: Any) -> None:
    node = values
    keys = _keys(path)
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise TypeError(f"value {path}: {k} is not a map")
    node[keys[-1]] = value


# `MirrorValue.part`s that name where a chart takes image pull Secrets (its `source` is unused):
# a list of {name: ...}, a list of names, or one name.
PULL_SECRET_PARTS = ("pull_secrets", "pull_secret_names", "pull_secret_name")


def _pull_secret_value(values: dict, row: Any, secret: str) -> None:
    node: Any = values
    for k in _keys(row.path):
        node = node.get(k) if isinstance(node, dict) else None
    if row.part == "pull_secret_name":
        _set(values, row.path, secret)
        return
    item: Any = {"name": secret} if row.part == "pull_secrets" else secret
    have = list(node) if isinstance(node, list) else []
    _set(values, row.path, have if item in have else [*have, item])


def overlay(values: dict, rows: Iterable[Any], mirror: Mirror) -> dict:
    """`values` with each `MirrorValue` row's path set to its mirrored source (a copy), and the
    mirror's pull Secret added where a row of a `PULL_SECRET_PARTS` part points. A row of
    part `registry` holds a registry host (`quay.io`), one of part `repository` a repository or a
    repository prefix (`nvcr.io/nvidia`). A value we set there ourselves is left alone (it is a BOM
    reference, which `rewrite_values` mirrored), unless it is the chart's default spelled out."""
    out = copy.deepcopy(values)
    for r in rows:
        if r.part in PULL_SECRET_PARTS:
            if mirror.pull_secret:
                _pull_secret_value(out, r, mirror.pull_secret)
            continue
        node: Any = out
        for k in _keys(r.path):
            node = node.get(k) if isinstance(node, dict) else None
        if node is not None and node != r.source:
            continue  # a value of ours: a BOM reference, which rewrite_values mirrored
        if r.part == "registry":
            dest = mirror.registry(r.source)
            if dest is None:
                raise KeyError(f"registry.sources has no entry for {r.source!r} and no registry.prefix is set")
            _set(out, r.path, dest)
        else:
            _set(out, r.path, mirror.rewrite(r.source))
    return out


def _walk_strings(node: Any, fn) -> Any:
    if isinstance(node, dict):
        return {k: _walk_strings(v, fn) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk_strings(x, fn) for x in node]
    return fn(node)


@dataclass(frozen=True)
class Bom:
    """What `rewrite_*` may touch: the BOM's image references and repositories (exact strings)."""

    refs: frozenset[str]
    repositories: frozenset[str]

    def is_ref(self, s: str) -> bool:
        return s in self.refs or (bool(_DIGEST.search(s)) and s.partition("@")[0] in self.repositories)


def rewrite_values(values: dict, bom: Bom, mirror: Mirror) -> dict:
    """Chart values with every BOM image reference, and every BOM repository that sits next to a tag
    key (`repository`/`name` + `tag`, `xRepository` + `xTag`), mirrored (a copy)."""
    def node(n: Any) -> Any:
        if isinstance(n, list):
            return [node(x) for x in n]
        if not isinstance(n, dict):
            return mirror.rewrite(n) if isinstance(n, str) and bom.is_ref(n) else n
        keys = {str(k).lower() for k in n}
        out = {}
        for k, v in n.items():
            tagged = "tag" in keys or (isinstance(k, str) and k.endswith("Repository")
                                       and f"{k[:-len('Repository')]}Tag".lower() in keys)
            if isinstance(v, str) and v in bom.repositories and tagged:
                out[k] = mirror.rewrite(v)
            else:
                out[k] = node(v)
        return out
    return node(values)


def pod_specs(obj: Obj, templates) -> Iterator[dict]:
    """The pod specs of `obj` (`templates`: validate-side `pod_templates`, handed in)."""
    for _, spec, _ in templates(obj):
        yield spec


def rewrite_object(obj: Obj, bom: Bom, mirror: Mirror, templates) -> Obj:
    """`obj` with every BOM image reference mirrored; its pod specs (by `templates`) list the pull
    Secret when the mirror has one. Argo CD Applications are left alone (their chart values are
    rewritten at the source, before they are wired)."""
    if obj.get("kind") in ("Application", "ApplicationSet"):
        return obj
    out = _walk_strings(obj, lambda s: mirror.rewrite(s) if isinstance(s, str) and bom.is_ref(s) else s)
    if mirror.pull_secret:
        for spec in pod_specs(out, templates):
            if spec.get("containers"):
                add_pull_secret(spec, mirror.pull_secret)
    return out


def add_pull_secret(spec: dict, name: str) -> None:
    """`imagePullSecrets` of a pod spec gains `name` (once)."""
    have = spec.setdefault("imagePullSecrets", [])
    if not any(isinstance(s, dict) and s.get("name") == name for s in have):
        have.append({"name": name})


def image_refs(obj: Obj, templates) -> list[tuple[str, str]]:
    """(where, image) of every image `obj` makes a node pull, as far as the object says: container
    images of its pod templates, image references in their args and env values (an operator's
    `--prometheus-config-reloader=<image>`, `RELATED_IMAGE_*`), and in a custom resource the
    `image` strings and `repository` (+ `image`) pairs an operator turns into pods (ClusterPolicy,
    Prometheus, Alertmanager)."""
    out: list[tuple[str, str]] = []
    for path, spec, _ in templates(obj):
        for k in ("initContainers", "containers", "ephemeralContainers"):
            for c in spec.get(k) or []:
                if not isinstance(c, dict):
                    continue
                name = c.get("name", "?")
                if isinstance(c.get("image"), str):
                    out.append((f"{path} {k} {name}", c["image"]))
                for a in [*(c.get("command") or []), *(c.get("args") or [])]:
                    m = _REF_IN_TEXT.search(a) if isinstance(a, str) else None
                    if m:
                        out.append((f"{path} {k} {name} arg", m.group(1)))
                for e in c.get("env") or []:
                    v = e.get("value") if isinstance(e, dict) else None
                    m = _REF_IN_TEXT.search(v) if isinstance(v, str) else None
                    if m and m.group(0) == v:
                        out.append((f"{path} {k} {name} env {e.get('name')}", v))
    if "." in str(obj.get("apiVersion", "")).partition("/")[0] and not templates(obj) \
            and obj.get("kind") not in ("Application", "ApplicationSet", "CustomResourceDefinition"):
        out += list(_custom_images("spec", obj.get("spec")))
    return out


def _custom_images(path: str, node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if node.get("enabled") is False:  # a part the operator does not run (ClusterPolicy's vgpuManager, ...)
            return
        repo, image, version = node.get("repository"), node.get("image"), node.get("version")
        if isinstance(repo, str) and repo:
            ref = f"{repo}/{image}" if isinstance(image, str) and image else repo
            yield path, f"{ref}:{version}" if isinstance(version, str) and version else ref
        elif isinstance(image, str) and ("/" in image or ":" in image):
            yield f"{path}.image", image
        for k, v in node.items():
            if k not in ("repository", "image") or not isinstance(v, str):
                yield from _custom_images(f"{path}.{k}", v)
    elif isinstance(node, list):
        for i, x in enumerate(node):
            yield from _custom_images(f"{path}[{i}]", x)


def mirror_list(refs: Iterable[str], mirror: Mirror) -> list[tuple[str, str]]:
    """(source, mirror) reference pairs for a sync job (`crane copy <source> <mirror>`) from the
    references an env pulls (mirrored or not), sorted; a digest-pinned reference keeps its digest. A
    bare repository (an operator picks the tag at run time, e.g. the GPU operator's validator) names
    nothing to copy and is left out."""
    out = set()
    for r in refs:
        src = mirror.source_of(r)
        if src != repository_of(src):
            out.add((src, mirror.rewrite(src)))
    return sorted(out)
