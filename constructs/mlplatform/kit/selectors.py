"""Kubernetes label-selector matching, shared by the checks in `validate/` and the units' own checks."""
from __future__ import annotations


def matches(selector: dict | None, labels: dict[str, str] | None) -> bool:
    """Kubernetes label-selector semantics (`{}` selects everything)."""
    selector, labels = selector or {}, labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
