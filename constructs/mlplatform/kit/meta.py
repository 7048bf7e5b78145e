"""Names, labels and object helpers shared by every component.

Objects are plain dicts shaped exactly like the Kubernetes API (camelCase keys); the builders in
`kit/k8s.py` and `kit/argocd.py` are the typed way to make them, and `validate/` checks each one
against the exact API schema before anything is written.
"""
from __future__ import annotations

from typing import Any

PART_OF = "ml-platform"
MANAGED_BY = "mlplatform"
LABEL_COMPONENT = "platform.mlops.io/component"
LABEL_ENV = "platform.mlops.io/env"
LABEL_TEAM = "platform.mlops.io/team"

# Argo CD annotations
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"

Obj = dict[str, Any]


def labels(component: str, env: str, **extra: str) -> dict[str, str]:
    """Stable labels for an object. Never contains construct addresses or hashes."""
    out = {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/part-of": PART_OF,
        LABEL_COMPONENT: component,
        LABEL_ENV: env,
    }
    out.update(extra)
    return out


def metadata(name: str, *, component: str, env: str, namespace: str | None = None,
             extra_labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> Obj:
    md: Obj = {"name": name, "labels": labels(component, env, **(extra_labels or {}))}
    if namespace is not None:
        md["namespace"] = namespace
    if annotations:
        md["annotations"] = dict(annotations)
    return md


def ref(obj: Obj) -> str:
    """`Kind/name` or `Kind/namespace/name`: how problems and diffs name an object."""
    md = obj.get("metadata") or {}
    ns = md.get("namespace")
    return f"{obj.get('kind')}/{ns + '/' if ns else ''}{md.get('name')}"


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def add_annotation(obj: Obj, key: str, value: str) -> None:
    md = obj.setdefault("metadata", {})
    ann = md.setdefault("annotations", {})
    if key == SYNC_OPTIONS and ann.get(key):
        parts = [p for p in ann[key].split(",") if p]
        if value not in parts:
            parts.append(value)
        ann[key] = ",".join(sorted(parts))
    else:
        ann[key] = value
