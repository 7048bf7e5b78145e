"""Custom resources: validation against the pinned CRD's `openAPIV3Schema`.

The CRD schema is turned into a strict JSON Schema once per (kind, version): objects that
declare `properties` and neither `additionalProperties` nor `x-kubernetes-preserve-unknown-fields`
reject unknown fields (the API server would silently prune them -- a misspelt field is lost
config, so we fail instead), `nullable` admits null, and inline regex flags that Python's `re`
rejects mid-pattern are hoisted to the front. `metadata` is checked against the core ObjectMeta.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jsonschema

from ..kit import upstream, versions

_INLINE_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")


def _fix_pattern(p: str) -> str:
    try:
        re.compile(p)
        return p
    except re.error:
        flags = "".join(sorted(set("".join(_INLINE_FLAGS.findall(p)))))
        stripped = _INLINE_FLAGS.sub("", p)
        return f"(?{flags}){stripped}" if flags else stripped


def strict_schema(node: Any, *, root: bool = False) -> Any:
    if isinstance(node, list):
        return [strict_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in ("properties", "patternProperties"):
            out[k] = {pk: strict_schema(pv) for pk, pv in v.items()}
        elif k == "pattern" and isinstance(v, str):
            out[k] = _fix_pattern(v)
        elif k in ("description", "x-kubernetes-validations", "example", "externalDocs"):
            continue
        elif k == "format":
            continue  # formats are advisory here (int-or-string, quantities, durations...)
        else:
            out[k] = strict_schema(v)
    if out.pop("nullable", False):
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if "properties" in out and "additionalProperties" not in out \
            and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if root:
        props = out.setdefault("properties", {})
        props["metadata"] = {"type": "object"}  # checked separately against ObjectMeta
        # Some CRDs (Keycloak's) omit apiVersion/kind from their schema; the API server always has them.
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.pop("status", None)  # status is the controller's, never ours
    return out


class CrdSchema:
    def __init__(self, pin: versions.CrdPin | None, doc: dict | None = None, version: str | None = None):
        self.pin = pin
        if pin is not None:
            doc, version = upstream.crd_document(pin.kind, pin.group), pin.version
        assert doc is not None and version is not None
        self.namespaced = doc["spec"]["scope"] == "Namespaced"
        self.crd_json_size = len(_compact(doc))
        served = {v["name"]: v for v in doc["spec"]["versions"] if v.get("served")}
        if version not in served:
            raise ValueError(f"{doc['spec']['names']['kind']}.{doc['spec']['group']}: CRD does not serve {version}")
        self.deprecated = bool(served[version].get("deprecated"))
        self.storage = bool(served[version].get("storage"))
        schema = (served[version].get("schema") or {}).get("openAPIV3Schema") or {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}
        self.schema = schema
        self.validator = jsonschema.Draft202012Validator(strict_schema(schema, root=True))


def _compact(doc: dict) -> str:
    import json
    return json.dumps(doc, separators=(",", ":"))


@lru_cache(maxsize=None)
def schema_for(api_version: str, kind: str) -> CrdSchema | None:
    """The pinned CRD schema for a custom resource, or None if nothing pins it."""
    pin = versions.crd_for(api_version, kind)
    if pin is None or pin.api_version != api_version:
        return None
    return CrdSchema(pin)


_DOC_SCHEMAS: dict[tuple[str, str], CrdSchema | None] = {}


def schema_from_crd(doc: dict, api_version: str) -> CrdSchema | None:
    """The schema of `api_version` in a CRD document the env installs (a chart's or an upstream
    manifest's own CRD); None when that CRD does not serve the version. Memoized by content."""
    import hashlib
    version = api_version.rpartition("/")[2]
    key = (hashlib.sha256(_compact(doc).encode()).hexdigest(), version)
    if key not in _DOC_SCHEMAS:
        try:
            _DOC_SCHEMAS[key] = CrdSchema(None, doc, version)
        except ValueError:
            _DOC_SCHEMAS[key] = None
    return _DOC_SCHEMAS[key]
