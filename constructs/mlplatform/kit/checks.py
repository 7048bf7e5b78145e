"""What a unit's `checks` hook reads -- a rendered env -- and pure walks over its objects.

`RenderedEnv` is the part of `plan.Rendered` a check may rely on (kit does not import plan): the
env's config, its objects by component (`dist/<env>/<component>/`) and its Helm releases by
component. The walks are shared by `validate/` and the units' checks.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any, Iterator, Protocol

import yaml

from . import yamltext
from .component import HelmRelease
from .meta import Obj


class RenderedEnv(Protocol):
    """One env as the builders made it, before anything is written."""

    env: Any  # config.models.Env
    components: dict[str, list[Obj]]
    helm: dict[str, HelmRelease]


def where(r: RenderedEnv, comp: str, obj: Obj) -> str:
    """`env/component/Kind/name`: how a problem names the object it is about."""
    return f"{r.env.name}/{comp}/{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def group(obj: Obj) -> str:
    """The API group of an object (`""` for core kinds)."""
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def objects(r: RenderedEnv) -> list[tuple[str, Obj]]:
    """(component, object) for every object of the env, components in name order."""
    return [(c, o) for c, objs in sorted(r.components.items()) for o in objs]


def embedded(obj: Obj) -> list[Obj]:
    """Kubernetes manifests carried as YAML text in a ConfigMap (templates such as example jobs)."""
    if obj.get("kind") != "ConfigMap" or obj.get("apiVersion") != "v1":
        return []
    out = []
    for key, text in sorted((obj.get("data") or {}).items()):
        if not key.endswith((".yaml", ".yml")) or not isinstance(text, str):
            continue
        out += [copy.deepcopy(d) for d in _parse(text)]
    return out


@lru_cache(maxsize=1024)
def _parse(text: str) -> tuple[Obj, ...]:
    """Manifests in a YAML text, parsed once per text (the checks walk the env several times)."""
    try:
        docs = yamltext.load_all(text)
    except yaml.YAMLError:
        return ()
    return tuple(d for d in docs if isinstance(d, dict) and "apiVersion" in d and "kind" in d)


def with_embedded(r: RenderedEnv) -> list[tuple[str, Obj]]:
    """(component, object) for every emitted object and every manifest embedded in a ConfigMap."""
    out = []
    for comp, objs in sorted(r.components.items()):
        for o in objs:
            out.append((comp, o))
            out += [(comp, e) for e in embedded(o)]
    return out


def walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any, dict]]:
    """(path, key, value, parent dict) of every dict entry, however deep."""
    if isinstance(node, dict):
        for k, v in node.items():
            p = f"{path}.{k}" if path else str(k)
            yield p, str(k), v, node
            yield from walk(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")


def find(node: Any, keys: frozenset[str], trail: list | None = None) -> Iterator[tuple[list, str, Any]]:
    """(trail, key, value) of dict entries whose key is in `keys`, however deep; the trail (keys
    and indexes) is only turned into a path string by the caller (`path`), for the rare hits."""
    trail = [] if trail is None else trail
    if isinstance(node, dict):
        for k, v in node.items():
            if k in keys:
                yield trail + [k], k, v
            if isinstance(v, (dict, list)):
                yield from find(v, keys, trail + [k])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)):
                yield from find(v, keys, trail + [i])


def path(trail: list) -> str:
    """`spec.template.metadata.labels[0]` from a `find` trail."""
    out = ""
    for t in trail:
        out += f"[{t}]" if isinstance(t, int) else (f".{t}" if out else str(t))
    return out
