"""Typed builders for the core Kubernetes objects the platform emits.

Keyword-only signatures make a misspelt argument a TypeError at build time; the returned dicts
are validated against the target minor's strict OpenAPI schema before anything is written.
(We deliberately don't instantiate cdk8s-plus-27's `Kube*` classes per object: they encode the
frozen Kubernetes 1.27 API, not the env's target minor, and each costs a jsii round trip.)
"""
from __future__ import annotations

from .meta import Obj, metadata

PSA_VERSION = "latest"


def namespace(name: str, *, component: str, env: str, pod_security: str,
              extra_labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> Obj:
    """A Namespace with Pod Security Admission labels: `enforce` at the chosen level and
    `warn`/`audit` always at `restricted`, so drift towards privilege is visible even where
    it is allowed."""
    psa = {
        "pod-security.kubernetes.io/enforce": pod_security,
        "pod-security.kubernetes.io/enforce-version": PSA_VERSION,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": PSA_VERSION,
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": PSA_VERSION,
    }
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": metadata(name, component=component, env=env,
                             extra_labels={**psa, **(extra_labels or {})}, annotations=annotations),
    }


def resource_quota(name: str, *, namespace: str, component: str, env: str, hard: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": metadata(name, component=component, env=env, namespace=namespace),
        "spec": {"hard": dict(hard)},
    }


def limit_range(name: str, *, namespace: str, component: str, env: str, default_request: dict[str, str],
                default_limit: dict[str, str]) -> Obj:
    """Container defaults only (no `max`): a `max` below what platform pods request is how the
    book's example rejects Spark drivers and notebook profiles."""
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": metadata(name, component=component, env=env, namespace=namespace),
        "spec": {"limits": [{"type": "Container", "defaultRequest": dict(default_request),
                             "default": dict(default_limit)}]},
    }


def network_policy(name: str, *, namespace: str, component: str, env: str, pod_selector: dict | None = None,
                   ingress_from: list[dict] | None = None, deny_all_ingress: bool = False,
                   ingress: list[dict] | None = None, egress: list[dict] | None = None,
                   deny_all_egress: bool = False) -> Obj:
    """A NetworkPolicy. `deny_all_ingress`/`deny_all_egress` select the pods for that direction and
    allow nothing; `ingress_from` is one rule admitting these peers on every port; `ingress` and
    `egress` are full rules (`from`/`to` peers plus `ports`). Allows are additive to the denies."""
    types: list[str] = []
    spec: Obj = {"podSelector": dict(pod_selector or {})}
    rules_in = list(ingress or []) + ([{"from": list(ingress_from)}] if ingress_from else [])
    if deny_all_ingress and rules_in:
        raise ValueError("a deny-all policy takes no ingress peers")
    if deny_all_egress and egress:
        raise ValueError("a deny-all policy takes no egress peers")
    if deny_all_ingress or rules_in:
        types.append("Ingress")
    if deny_all_egress or egress:
        types.append("Egress")
    if not types:
        raise ValueError(f"NetworkPolicy {name}: an allow policy needs at least one peer")
    for r in rules_in:
        if not r.get("from"):
            raise ValueError(f"NetworkPolicy {name}: an ingress rule without peers admits everyone")
    for r in egress or []:
        if not r.get("to"):
            raise ValueError(f"NetworkPolicy {name}: an egress rule without peers allows everything")
    spec["policyTypes"] = types
    if rules_in:
        spec["ingress"] = rules_in
    if egress:
        spec["egress"] = list(egress)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(name, component=component, env=env, namespace=namespace),
        "spec": spec,
    }


def peer_namespace(name: str) -> dict:
    """A NetworkPolicy peer: every pod in namespace `name` (by its immutable name label)."""
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def peer_pods(namespace: str, labels: dict[str, str]) -> dict:
    """A NetworkPolicy peer: the pods with `labels` in namespace `namespace`."""
    return {**peer_namespace(namespace), "podSelector": {"matchLabels": dict(sorted(labels.items()))}}


def peer_same_namespace() -> dict:
    return {"podSelector": {}}


def peer_cidr(cidr: str, *, except_: list[str] | tuple[str, ...] = ()) -> dict:
    block: dict = {"cidr": cidr}
    if except_:
        block["except"] = list(except_)
    return {"ipBlock": block}


def ports(*numbers: int | str, protocol: str = "TCP") -> list[dict]:
    """NetworkPolicy ports (numbers or container port names), in the given order, without repeats."""
    seen: list[int | str] = []
    for n in numbers:
        if n not in seen:
            seen.append(n)
    return [{"port": n, "protocol": protocol} for n in seen]


# The container securityContext of Pod Security `restricted` (no escalation, no capabilities,
# non-root, RuntimeDefault seccomp). Every builder takes a fresh copy from here.
RESTRICTED_CONTAINER: Obj = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                             "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def restricted_container(**extra) -> Obj:
    """A fresh `restricted` container securityContext, plus `extra` fields (e.g. runAsUser)."""
    import copy
    return {**copy.deepcopy(RESTRICTED_CONTAINER), **extra}


def sync_job(name: str, *, namespace: str, component: str, env: str, hash_annotation: tuple[str, str],
             deadline_seconds: int, pod_spec: Obj) -> Obj:
    """A Job that applies generated config to an app (realm, pools) and runs again exactly when
    that config changes: the config's hash sits on the pod template, and `Force=true,Replace=true`
    makes Argo CD recreate the (immutable) Job when the template differs. `pod_spec` gives the
    containers, volumes and pod securityContext; restarts and token mounting are fixed here."""
    from .meta import SYNC_OPTIONS
    key, digest = hash_annotation
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": metadata(name, component=component, env=env, namespace=namespace,
                             annotations={SYNC_OPTIONS: "Force=true,Replace=true"}),
        "spec": {
            "backoffLimit": 10,
            "activeDeadlineSeconds": deadline_seconds,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": name}, "annotations": {key: digest}},
                "spec": {"restartPolicy": "OnFailure", "automountServiceAccountToken": False, **pod_spec},
            },
        },
    }
