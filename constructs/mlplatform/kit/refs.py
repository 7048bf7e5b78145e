"""Find the Secrets an object or a chart's values refer to (by name, never by value).

Used twice: the plan orders a component after the one whose ExternalSecret creates a Secret it
mounts, and the cross-checks fail when a reference names a Secret nothing creates.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterator

from .meta import Obj

# dict keys whose value is {"name": <secret>, ...}
_REF_OBJECTS = {"secretKeyRef", "secretRef", "usernameSecret", "passwordSecret", "tlsSecret"}
# dict keys whose value is the secret name itself
_REF_STRINGS = {"secretName"}
# chart values keys that name an existing Secret (`existingSecret`, `fernetKeySecretName`, ...)
_VALUE_KEY = re.compile(r"^(existing\w*Secret(Name)?|\w*SecretName|secretName)$")
_OIDC_ANNOTATION = "alb.ingress.kubernetes.io/auth-idp-oidc"


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(node, list):
        for x in node:
            yield from _walk(x)


def secret_refs(obj: Obj) -> set[str]:
    """Secret names an object refers to, in its own namespace. (Argo CD Applications carry chart
    values meant for another namespace: those are checked with `value_secret_refs`.)"""
    if obj.get("kind") in ("ExternalSecret", "Secret", "Application", "ApplicationSet", "AppProject"):
        return set()
    out: set[str] = set()
    for k, v in _walk({key: val for key, val in obj.items() if key != "metadata"}):
        if k in _REF_OBJECTS and isinstance(v, dict) and isinstance(v.get("name"), str):
            out.add(v["name"])
        elif k in _REF_STRINGS and isinstance(v, str):
            out.add(v)
    if obj.get("kind") == "Keycloak":
        user = ((obj.get("spec") or {}).get("bootstrapAdmin") or {}).get("user") or {}
        if isinstance(user.get("secret"), str):
            out.add(user["secret"])
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    if _OIDC_ANNOTATION in ann:
        out.add(json.loads(ann[_OIDC_ANNOTATION])["secretName"])
    return out


def value_secret_refs(values: dict) -> set[str]:
    """Secret names a chart's values point at: `existingSecret`-style keys, and env/volume
    references (`secretKeyRef`, `secretRef`, `secretName`) handed to the chart's pods."""
    out: set[str] = set()
    for k, v in _walk(values):
        if k in _REF_OBJECTS and isinstance(v, dict) and isinstance(v.get("name"), str):
            out.add(v["name"])
        elif isinstance(k, str) and _VALUE_KEY.match(k):
            if isinstance(v, str) and v:
                out.add(v)
            elif isinstance(v, dict) and isinstance(v.get("name"), str) and v["name"]:
                out.add(v["name"])
    return out


def created_secrets(objs_by_component: dict[str, list[Obj]]) -> dict[tuple[str, str], str]:
    """(namespace, Secret name) -> component, for Secrets made by ExternalSecrets or emitted directly."""
    out: dict[tuple[str, str], str] = {}
    for comp, objs in objs_by_component.items():
        for o in objs:
            ns = (o.get("metadata") or {}).get("namespace")
            if o.get("kind") == "ExternalSecret":
                out[(ns, o["spec"]["target"].get("name") or o["metadata"]["name"])] = comp
            elif o.get("kind") == "Secret" and o.get("apiVersion") == "v1":
                out[(ns, o["metadata"]["name"])] = comp
    return out


# The keys a PriorityClass is named by: Kubernetes pod specs and chart values (`priorityClassName`),
# and KubeSpawner's trait (`priority_class_name`, set through a chart's hub config).
PRIORITY_CLASS_KEYS = ("priorityClassName", "priority_class_name")


def priority_class_refs(node: object) -> set[str]:
    """PriorityClass names an object or a chart's values name anywhere inside (pods, templates, values)."""
    return {v for k, v in _walk(node) if k in PRIORITY_CLASS_KEYS and isinstance(v, str) and v}


def created_priority_classes(objs_by_component: dict[str, list[Obj]]) -> dict[str, str]:
    """PriorityClass name -> the component that emits it."""
    return {o["metadata"]["name"]: comp for comp, objs in objs_by_component.items() for o in objs
            if o.get("kind") == "PriorityClass" and o.get("apiVersion", "").startswith("scheduling.k8s.io/")}
