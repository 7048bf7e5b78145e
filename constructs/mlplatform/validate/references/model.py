"""The vocabulary of the reference checks: what exists outside the checked objects (`Externals`),
the built-ins every cluster has, small accessors over objects as plain dicts, the keys a Secret or
ConfigMap will hold, and label-selector matching. Standard library only, like the whole package."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class Externals:
    """Things that exist on the cluster although they are not among the checked objects."""

    namespaces: frozenset[str] = frozenset()
    secrets: frozenset[tuple[str, str]] = frozenset()  # (namespace, name); any key accepted
    service_accounts: frozenset[tuple[str, str]] = frozenset()
    cluster_roles: frozenset[str] = frozenset()
    storage_classes: frozenset[str] = frozenset()
    config_maps: frozenset[tuple[str, str]] = frozenset()  # (namespace, name); any key accepted
    priority_classes: frozenset[str] = frozenset()


BUILTIN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
BUILTIN_CLUSTER_ROLES = frozenset({"cluster-admin", "admin", "edit", "view"})
# The API server creates these two at startup (scheduling/v1 system priority classes).
BUILTIN_PRIORITY_CLASSES = frozenset({"system-cluster-critical", "system-node-critical"})
ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"
SA_TOKEN_KEYS = ("token", "ca.crt", "namespace")
CERT_KEYS = ("tls.crt", "tls.key", "ca.crt")
ALB_CONTROLLER = "ingress.k8s.aws/alb"

# Kinds that are cluster-scoped: a metadata.namespace on them is ignored, not a reference.
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "CSINode",
    "VolumeAttachment", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding", "IngressClass", "PriorityClass", "RuntimeClass",
    "ClusterTrainingRuntime", "ClusterSecretStore", "ClusterExternalSecret", "ClusterIssuer",
    "NodePool", "EC2NodeClass", "NodeClaim", "Queue", "FlowSchema",
    "PriorityLevelConfiguration", "CertificateSigningRequest", "IngressClassParams",
    "ClusterPolicy", "ClusterServingRuntime", "ClusterStorageContainer", "ClusterQueue",
    "ResourceFlavor", "ClusterPushSecret", "ClusterGenerator",
})

_WORKLOADS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job",
                        "ReplicationController", "PodTemplate"})

Finding = tuple[dict, str]


def _d(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def _l(v: Any) -> list:
    return v if isinstance(v, list) else []


def _meta(obj: dict) -> dict:
    return _d(obj.get("metadata"))


def _name(obj: dict) -> str:
    return str(_meta(obj).get("name") or "")


def _ns(obj: dict) -> str:
    return str(_meta(obj).get("namespace") or "")


def _group(obj: dict) -> str:
    av = str(obj.get("apiVersion") or "")
    return av.rsplit("/", 1)[0] if "/" in av else ""


def _is(obj: dict, group: str, *kinds: str) -> bool:
    return obj.get("kind") in kinds and _group(obj) == group


def _labels(v: Any) -> dict[str, str]:
    return {str(k): str(x) for k, x in _d(v).items()}


def _keys_text(keys: Iterable[str]) -> str:
    ks = list(keys)
    return f"keys: {', '.join(ks)}" if ks else "no keys"


def _fmt_map(m: dict) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(m.items())) + "}"


class KeySet:
    """Keys a Secret/ConfigMap will hold; `any` when they cannot be known statically."""

    __slots__ = ("keys", "any")

    def __init__(self, keys: Iterable[str] = (), any_key: bool = False):
        self.keys: dict[str, None] = dict.fromkeys(str(k) for k in keys)
        self.any = any_key

    def add(self, other: "KeySet") -> None:
        self.keys.update(other.keys)
        self.any = self.any or other.any

    def has(self, key: str) -> bool:
        return self.any or key in self.keys


def selector_matches(selector: dict | None, labels: dict[str, str],
                     patterns: dict[str, re.Pattern] | None = None) -> bool:
    """metav1.LabelSelector semantics (matchLabels + matchExpressions); {} matches everything.

    `patterns` stands for labels whose value is only known by shape (a StatefulSet's pod-name).
    """
    sel = _d(selector)
    patterns = patterns or {}

    def value_is(key: str, value: str) -> bool:
        if key in labels:
            return labels[key] == value
        p = patterns.get(key)
        return bool(p and p.fullmatch(value))

    def present(key: str) -> bool:
        return key in labels or key in patterns

    for k, v in _d(sel.get("matchLabels")).items():
        if not value_is(str(k), str(v)):
            return False
    for expr in _l(sel.get("matchExpressions")):
        expr = _d(expr)
        key, op = str(expr.get("key", "")), expr.get("operator")
        values = [str(x) for x in _l(expr.get("values"))]
        if op == "In":
            if not any(value_is(key, v) for v in values):
                return False
        elif op == "NotIn":
            if key in labels and labels[key] in values:
                return False
        elif op == "Exists":
            if not present(key):
                return False
        elif op == "DoesNotExist":
            if present(key):
                return False
        else:
            return False  # unknown operator: the API server would reject the selector
    return True


def map_matches(selector: dict, labels: dict[str, str],
                 patterns: dict[str, re.Pattern] | None = None) -> bool:
    return selector_matches({"matchLabels": selector}, labels, patterns)
