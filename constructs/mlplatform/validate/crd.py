"""Custom resources: validation against the pinned CRD's `openAPIV3Schema`.

The CRD schema is turned into a strict JSON Schema once per (kind, version): objects that
declare `properties` and neither `additionalProperties` nor `x-kubernetes-preserve-unknown-fields`
reject unknown fields (the API server would silently prune them -- a misspelt field is lost
config, so we fail instead), `nullable` admits null, and inline regex flags that Python's `re`
rejects mid-pattern are hoisted to the front. `metadata` is checked against the core ObjectMeta.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import jsonschema

from ..kit import upstream, versions
from ..kit.crdschema import strict_schema  # noqa: F401  (re-exported: validate.crd.strict_schema)


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
