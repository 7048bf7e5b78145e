"""The KubeRay operator: chart values (`helm`) and the RBAC we write per team namespace (the
operator's Role and the team's `ray-users` Role), so who may do what in a tenant namespace is
reviewed in `dist/`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import monitoring, versions
from ...kit.component import HelmRelease
from ...kit.meta import LABEL_TEAM, Obj, metadata
from ..priority_classes import PRIORITY
from .names import (DEFAULT_MEMBER_GROUP_PREFIX, NAME, NAMESPACE, OPERATOR_ROLE, OPERATOR_SA, PODGROUP_CRD, RELEASE,
                    SERVICE_MONITOR_CRD, USERS_ROLE, volcano_enabled)

if TYPE_CHECKING:
    from ...config.models import Env


def values(env: Env) -> dict:
    r, infra = env.ray, env.infrastructure
    img = versions.IMAGES["kuberay-operator"]
    v: dict = {
        "replicas": r.operator_replicas,
        "image": {"repository": img.repository, "tag": img.tag},
        "nodeSelector": dict(infra.system_node_labels),
        "resources": r.operator.render(),
        # The chart renders no pod securityContext; its image runs as the distroless nonroot
        # user (65532), a high uid, which this makes explicit (the container one is restricted).
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "leaderElectionEnabled": True,
        "priorityClassName": PRIORITY.controllers,
        # Namespaced RBAC, written by us per team namespace (build); the chart makes no ClusterRole.
        "rbacEnable": True,
        "singleNamespaceInstall": True,
        "crNamespacedRbacEnable": False,
        "watchNamespace": sorted(env.team_namespace(t) for t in env.teams),
        "env": [{"name": "ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE", "value": "true"}],
        "metrics": {"enabled": True, "serviceMonitor": {
            "enabled": r.service_monitor, "additionalLabels": monitoring.monitor_labels()}},
    }
    if volcano_enabled(env):
        v["batchScheduler"] = {"name": "volcano"}  # `enabled` is the deprecated spelling
    return v


def helm(env: Env) -> HelmRelease | None:
    if not env.ray.enabled:
        return None
    crds = ((SERVICE_MONITOR_CRD,) if env.ray.service_monitor else ()) + ((PODGROUP_CRD,) if volcano_enabled(env) else ())
    return HelmRelease(chart="kuberay-operator", release=RELEASE, namespace=NAMESPACE, values=values(env),
                       requires_crds=crds)


def operator_rules(volcano: bool) -> list[dict]:
    """What the operator does in a team namespace: Ray pods and Services, the autoscaler's
    ServiceAccount and Role, RayJob submitter and Redis-cleanup Jobs, Ingresses it is asked for,
    Volcano PodGroups, and the Ray custom resources themselves."""
    crud = ["create", "delete", "get", "list", "patch", "update", "watch"]
    rules = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": crud + ["deletecollection"]},
        {"apiGroups": [""], "resources": ["events", "services"], "verbs": crud},
        {"apiGroups": [""], "resources": ["pods/status", "services/status", "pods/proxy"], "verbs": ["get", "patch", "update"]},
        {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["create", "get", "patch", "update"]},
        {"apiGroups": [""], "resources": ["pods/resize"], "verbs": ["patch"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["create", "delete", "get", "list", "watch"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": crud},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": crud},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
         "verbs": ["create", "delete", "get", "list", "update", "watch"]},
        {"apiGroups": ["ray.io"], "resources": ["rayclusters", "rayjobs", "rayservices", "raycronjobs"], "verbs": crud},
        {"apiGroups": ["ray.io"], "resources": ["rayclusters/status", "rayjobs/status", "rayservices/status",
                                                "raycronjobs/status"], "verbs": ["get", "patch", "update"]},
        {"apiGroups": ["ray.io"], "resources": ["rayclusters/finalizers", "rayjobs/finalizers",
                                                "rayservices/finalizers", "raycronjobs/finalizers"], "verbs": ["update"]},
    ]
    if volcano:
        rules.append({"apiGroups": ["scheduling.volcano.sh"], "resources": ["podgroups"],
                      "verbs": ["create", "delete", "get", "list", "update", "watch"]})
    return rules


def member_group(env: Env, team: str) -> str:
    """The Kubernetes group of a team's people (the same group the training RBAC binds)."""
    prefix = getattr(getattr(env, "trainer", None), "member_group_prefix", DEFAULT_MEMBER_GROUP_PREFIX)
    return f"{prefix}{team}"


def user_rules() -> list[dict]:
    """What a team's people need for Ray in their namespace: run RayJobs from the template, follow
    them, read their clusters and services, and reach a head with `kubectl port-forward`."""
    read = ["get", "list", "watch"]
    return [
        {"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["create", "delete", *read]},
        {"apiGroups": ["ray.io"], "resources": ["rayclusters", "rayservices"], "verbs": read},
        {"apiGroups": [""], "resources": ["pods", "pods/log", "services", "events", "configmaps"], "verbs": read},
        {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": read},
    ]


def operator_rbac(env: Env) -> list[Obj]:
    objs: list[Obj] = []
    for t in env.teams:
        ns = env.team_namespace(t)
        name = f"{ns}-{OPERATOR_ROLE}"
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                     "metadata": metadata(name, component=NAME, env=env.name, namespace=ns,
                                          extra_labels={LABEL_TEAM: t.name}),
                     "rules": operator_rules(volcano_enabled(env))})
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                     "metadata": metadata(name, component=NAME, env=env.name, namespace=ns,
                                          extra_labels={LABEL_TEAM: t.name}),
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                     "subjects": [{"kind": "ServiceAccount", "name": OPERATOR_SA, "namespace": NAMESPACE}]})
        users = f"{ns}-{USERS_ROLE}"
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                     "metadata": metadata(users, component=NAME, env=env.name, namespace=ns,
                                          extra_labels={LABEL_TEAM: t.name}),
                     "rules": user_rules()})
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                     "metadata": metadata(users, component=NAME, env=env.name, namespace=ns,
                                          extra_labels={LABEL_TEAM: t.name}),
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": users},
                     "subjects": [{"kind": "Group", "name": member_group(env, t.name),
                                   "apiGroup": "rbac.authorization.k8s.io"}]})
    return objs
