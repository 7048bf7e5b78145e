"""Core kinds: strict validation against the target minor's OpenAPI schema.

Uses the schemas kubernetes-validate ships, but loads `_definitions.json` once per minor and
compiles one validator per kind (kubernetes-validate itself re-reads the 1.4 MB definitions
for every document). Unknown apiVersion/kind pairs return None: the caller turns that into an
error, never a skip.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import kubernetes_validate
from referencing import Registry, Resource

from ..kit.scope import CLUSTER_SCOPED, is_cluster_scoped  # noqa: F401 (re-exported)

SCHEMA_ROOT = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
DEFS_ID = "https://kubernetes.io/api/_definitions.json"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"



class CoreSchemas:
    """All core kinds of one Kubernetes minor."""

    def __init__(self, minor: str):
        self.minor = minor
        folder = SCHEMA_ROOT / f"v{minor}.0-local-strict"
        if not folder.exists():
            raise ValueError(f"no Kubernetes {minor} schemas in kubernetes-validate {kubernetes_validate.__version__}")
        with open(folder / "_definitions.json", "rb") as fh:
            defs = json.load(fh)
        self._defs = defs["$defs"]
        self._inlined: dict[str, dict] = {}
        self._registry = Registry().with_resource(DEFS_ID, Resource.from_contents(defs))
        self._kinds: dict[tuple[str, str], str] = {}
        for name, d in defs["$defs"].items():
            for gvk in d.get("x-kubernetes-group-version-kind", []):
                api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
                # Prefer the def that *is* the kind (not e.g. DeleteOptions listed for every group).
                if gvk["kind"] == name.rsplit(".", 1)[-1]:
                    self._kinds[(api_version, gvk["kind"])] = name
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}

    def kinds(self) -> list[tuple[str, str]]:
        """(apiVersion, kind) of every core kind this minor serves."""
        return sorted(self._kinds)

    def knows(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self._kinds

    def _inline(self, name: str, stack: tuple[str, ...] = ()) -> dict:
        """The definition with its `$ref`s replaced by their targets (resolving a `$ref` per
        field per object dominated validation time). Recursive definitions keep an absolute
        `$ref`, which the registry still resolves."""
        if name in self._inlined:
            return self._inlined[name]

        def walk(node):
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref.startswith("#/$defs/"):
                    target = ref[len("#/$defs/"):]
                    rest = {k: walk(v) for k, v in node.items() if k != "$ref"}
                    if target in stack or target == name:
                        return {**rest, "$ref": f"{DEFS_ID}{ref}"}
                    inner = self._inline(target, stack + (name,))
                    return {**inner, **rest} if rest else inner
                return {k: walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(x) for x in node]
            return node

        out = walk(self._defs[name])
        if not stack:  # only top-level results are complete (no cycle cut-offs specific to a path)
            self._inlined[name] = out
        return out

    def _make(self, def_name: str) -> jsonschema.protocols.Validator:
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **self._inline(def_name)}
        return jsonschema.Draft202012Validator(schema, registry=self._registry)

    def validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        key = (api_version, kind)
        v = self._validators.get(key)
        if v is None:
            name = self._kinds.get(key)
            if name is None:
                return None
            v = self._validators[key] = self._make(name)
        return v

    @property
    def object_meta(self) -> jsonschema.protocols.Validator:
        key = ("__meta__", "ObjectMeta")
        if key not in self._validators:
            self._validators[key] = self._make(OBJECT_META)
        return self._validators[key]


@lru_cache(maxsize=None)
def schemas(minor: str) -> CoreSchemas:
    return CoreSchemas(minor)


