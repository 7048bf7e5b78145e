"""Component `namespaces`: one namespace per platform component and per team.

Each namespace gets Pod Security Admission labels, a LimitRange with container defaults (so a
pod that declares no resources is admitted under a quota instead of rejected), a
ResourceQuota for teams, and ingress NetworkPolicies: deny everything, then admit the same
namespace, the monitoring namespace (scrapes) and -- where the namespace serves traffic from the
shared ALB (ip targets) or EKS control-plane webhooks -- the VPC CIDR.
"""
from __future__ import annotations

from ..config.models import ContainerDefaults, Env, Team
from ..kit import k8s
from ..kit.meta import LABEL_TEAM, Obj
from ..kit.quantity import parse
from . import volcano

NAME = "namespaces"


def _quota_hard(team: Team) -> dict[str, str]:
    q = team.quota
    limits_cpu = q.limits_cpu or _fmt(parse(q.cpu) * 2)
    hard = {
        "requests.cpu": q.cpu,
        "requests.memory": q.memory,
        "limits.cpu": limits_cpu,
        "limits.memory": q.limits_memory or q.memory,
        "pods": str(q.pods),
        "persistentvolumeclaims": str(q.persistent_volume_claims),
        "requests.storage": q.storage,
        # Extended resources can only be quota'd on requests (requests == limits for GPUs).
        "requests.nvidia.com/gpu": str(q.gpus),
    }
    return hard


def _fmt(d) -> str:
    return format(d.normalize(), "f")


def _namespace_set(env: Env, ns: str, *, pod_security: str, defaults: ContainerDefaults,
                   allow_from_vpc: bool, allow_from_namespaces: list[str],
                   extra_labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
                   isolated_pods: dict[str, list[str]] | None = None) -> list[Obj]:
    c, e = NAME, env.name
    objs = [
        k8s.namespace(ns, component=c, env=e, pod_security=pod_security, extra_labels=extra_labels,
                      annotations=annotations),
        k8s.limit_range(f"{ns}-container-defaults", namespace=ns, component=c, env=e,
                        default_request={"cpu": defaults.cpu_request, "memory": defaults.memory_request},
                        default_limit={"cpu": defaults.cpu_limit, "memory": defaults.memory_limit}),
        k8s.network_policy(f"{ns}-default-deny-ingress", namespace=ns, component=c, env=e, deny_all_ingress=True),
    ]
    # One allow policy per namespace, its peers in a fixed order: same namespace, monitoring
    # scrapes, the VPC (ALB ip targets, EKS control-plane webhooks), named platform clients.
    peers = [k8s.peer_same_namespace()]
    mon = env.namespaces.monitoring_namespace
    if ns != mon:
        peers.append(k8s.peer_namespace(mon))
    if allow_from_vpc:
        peers.append(k8s.peer_cidr(env.infrastructure.vpc_cidr))
    peers += [k8s.peer_namespace(n) for n in sorted(set(allow_from_namespaces) - {ns, mon})]
    selector = None
    if isolated_pods:  # e.g. user notebooks: only their chart's policies (hub, proxy) admit traffic
        selector = {"matchExpressions": [{"key": k, "operator": "NotIn", "values": sorted(v)}
                                         for k, v in sorted(isolated_pods.items())]}
    objs.append(k8s.network_policy(f"{ns}-allow-ingress", namespace=ns, component=c, env=e, ingress_from=peers,
                                   pod_selector=selector))
    return objs


def build(env: Env) -> list[Obj]:
    objs: list[Obj] = []
    for p in env.namespaces.platform:
        ann = {"platform.mlops.io/pod-security-reason": p.pod_security_reason} if p.pod_security_reason else None
        objs += _namespace_set(env, p.name, pod_security=p.pod_security, defaults=p.container_defaults,
                               allow_from_vpc=p.allow_from_vpc,
                               allow_from_namespaces=p.allow_from_namespaces
                               + ([env.team_namespace(t) for t in env.teams] if p.allow_from_teams else []),
                               extra_labels={"platform.mlops.io/owner-component": p.component}, annotations=ann,
                               isolated_pods=p.isolated_pods)
    for team in env.teams:
        ns = env.team_namespace(team)
        ann = {"platform.mlops.io/description": team.description} if team.description else {}
        ann.update(volcano.namespace_annotations(env, team))  # the team's default Volcano queue
        # Tenants: restricted PSA; the ALB reaches team endpoints (ip targets) from the VPC.
        objs += _namespace_set(env, ns, pod_security="restricted", defaults=team.container_defaults,
                               allow_from_vpc=True, allow_from_namespaces=[],
                               extra_labels={LABEL_TEAM: team.name}, annotations=ann or None)
        objs.append(k8s.resource_quota(f"{ns}-quota", namespace=ns, component=NAME, env=env.name,
                                       hard=_quota_hard(team)))
    return objs
