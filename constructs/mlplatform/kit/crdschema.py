"""A pinned CRD's `openAPIV3Schema` as a strict JSON Schema (shared by `validate/crd.py`, which
checks every custom resource, and units that check an embedded document against a CRD's sub-schema,
such as the keycloak unit's realm against KeycloakRealmImport's RealmRepresentation).

Objects that declare `properties` and neither `additionalProperties` nor
`x-kubernetes-preserve-unknown-fields` reject unknown fields (the API server would silently prune
them -- a misspelt field is lost config, so we fail instead), `nullable` admits null, and inline
regex flags that Python's `re` rejects mid-pattern are hoisted to the front.
"""
from __future__ import annotations

import re
from typing import Any

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
