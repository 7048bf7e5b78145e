"""Platform rules on top of the API schemas: what the API server would accept but we don't."""
from __future__ import annotations

import re
from typing import Any, Iterable

from ..kit.meta import Obj

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# Kinds whose names end up as DNS labels (Service names become DNS records; Namespaces too).
LABEL_NAMED_KINDS = {"Namespace", "Service"}
WORKLOAD_SELECTOR_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
CDK8S_LABEL = re.compile(r"^cdk8s\.io/|^cdk8s\.")


def _label_problems(where: str, labels: dict[str, Any] | None) -> Iterable[str]:
    for k, v in (labels or {}).items():
        prefix, _, name = k.rpartition("/")
        if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
            yield f"{where} key {k!r}: invalid prefix"
        if not name or len(name) > 63 or not LABEL_NAME.match(name):
            yield f"{where} key {k!r}: invalid name part (max 63 chars, alphanumerics, -_.)"
        if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
            yield f"{where} {k}={v!r}: invalid value (max 63 chars, alphanumerics, -_.)"
        if CDK8S_LABEL.match(k):
            yield f"{where} key {k!r}: cdk8s construct labels are forbidden (they change when code moves)"


def check_names_and_labels(obj: Obj) -> Iterable[str]:
    md = obj.get("metadata") or {}
    name = md.get("name", "")
    if obj.get("kind") in LABEL_NAMED_KINDS:
        if len(name) > 63 or not DNS1123_LABEL.match(name):
            yield f"metadata.name {name!r}: must be a DNS-1123 label (max 63 chars)"
    elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        yield f"metadata.name {name!r}: must be a DNS-1123 subdomain (max 253 chars)"
    if re.search(r"-[0-9a-f]{8}$", name) and re.search(r"[a-f]", name[-8:]) and re.search(r"[0-9]", name[-8:]):
        yield f"metadata.name {name!r}: looks like a hash-suffixed name; use an explicit human name"
    yield from _label_problems("metadata.labels", md.get("labels"))
    for k in (md.get("annotations") or {}):
        if CDK8S_LABEL.match(k):
            yield f"metadata.annotations key {k!r}: cdk8s construct metadata is forbidden"


def _walk_selectors(node: Any, path: str) -> Iterable[tuple[str, dict]]:
    if isinstance(node, dict):
        for k, v in node.items():
            p = f"{path}.{k}" if path else k
            if k in ("selector", "podSelector", "namespaceSelector", "labelSelector") and isinstance(v, dict):
                yield p, v.get("matchLabels", v if k == "selector" and "matchLabels" not in v
                                  and "matchExpressions" not in v else {})
                for i, expr in enumerate(v.get("matchExpressions", []) or []):
                    yield f"{p}.matchExpressions[{i}]", {expr.get("key", ""): ""}
            yield from _walk_selectors(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_selectors(v, f"{path}[{i}]")


def check_selectors(obj: Obj) -> Iterable[str]:
    for path, labels in _walk_selectors(obj.get("spec"), "spec"):
        for k in (labels or {}):
            if CDK8S_LABEL.match(str(k)):
                yield f"{path}: selector uses cdk8s construct label {k!r} (changes when code moves; selectors are immutable)"


def _containers(node: Any, path: str) -> Iterable[tuple[str, dict]]:
    """Every container in any pod template, core or custom (walks `containers`/`initContainers`)."""
    if isinstance(node, dict):
        for k, v in node.items():
            p = f"{path}.{k}" if path else k
            if k in ("containers", "initContainers") and isinstance(v, list):
                for i, c in enumerate(v):
                    if isinstance(c, dict) and "image" in c:
                        yield f"{p}[{i}]", c
            else:
                yield from _containers(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _containers(v, f"{path}[{i}]")


def _image_ok(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (pin one from the versions table)"
    if last.rsplit(":", 1)[-1] == "latest":
        return f"image {image!r} uses :latest (pin a version in the versions table)"
    return None


def check_containers(obj: Obj) -> Iterable[str]:
    for path, c in _containers(obj.get("spec"), "spec"):
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        missing = [f"requests.{r}" for r in ("cpu", "memory") if r not in req]
        if "memory" not in lim:
            missing.append("limits.memory")
        if missing:
            yield f"{path} ({c.get('name')}): missing resources {', '.join(missing)}"
        msg = _image_ok(str(c.get("image", "")))
        if msg:
            yield f"{path} ({c.get('name')}): {msg}"


def check_no_secret_values(obj: Obj) -> Iterable[str]:
    if obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData")):
        yield "Secret carries values: secrets never go into git or dist/; reference them (ExternalSecret)"


OBJECT_RULES = (check_names_and_labels, check_selectors, check_containers, check_no_secret_values)


def check_object(obj: Obj) -> list[str]:
    out: list[str] = []
    for rule in OBJECT_RULES:
        out.extend(rule(obj))
    return out
