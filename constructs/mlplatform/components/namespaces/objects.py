"""Component `namespaces`: one namespace per platform component and per team.

Each namespace gets Pod Security Admission labels, a LimitRange with container defaults (so a
pod that declares no resources is admitted under a quota instead of rejected), a
ResourceQuota for teams, and NetworkPolicies that admit exactly what the namespace serves:

* deny all ingress, then admit the same namespace (and named platform clients);
* the ALB's subnets only to the pods and container ports behind the namespace's routes
  (`kit/routes.py`: Ingress -> Service -> pods), health-check ports included;
* the EKS control-plane subnets only to webhook / aggregated-API ports (`control_plane_ports`);
* the monitoring namespace only to metrics ports;
* team namespaces: deny all egress, then DNS, their own namespace, MLflow, the Kubernetes API and
  (per env) the internet outside the VPC and without the instance metadata endpoint.

No ipBlock here covers the pod subnets: with the AWS VPC CNI a pod's IP is a VPC address, so a
VPC-wide block would let every pod in. `validate/netpol.py` refuses any env where one does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...config.tenants import ContainerDefaults, Team
from ...kit import k8s
from ...kit.meta import LABEL_TEAM, Obj
from ...kit.quantity import parse
from .. import kuberay, mlflow, node_pools, volcano

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "namespaces"


def _quota_hard(env: Env, team: Team) -> dict[str, str]:
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
    # A MIG slice is its own resource: a quota without it would let the team take every slice of
    # the cluster, so every slice kind a GPU pool offers is limited (0 for a team without it).
    offered = {r for p in node_pools.gpu_placements(env).values() for r in p.resources
               if r.startswith(node_pools.MIG_RESOURCE_PREFIX)}
    offered |= {node_pools.MIG_RESOURCE_PREFIX + p for p in q.mig_slices}
    for r in sorted(offered):
        hard[f"requests.{r}"] = str(q.of(r))
    return hard


def _fmt(d) -> str:
    return format(d.normalize(), "f")


METADATA_IP = "169.254.169.254/32"  # EC2 instance metadata (node credentials): never a pod's destination
KUBE_DNS = ("kube-system", {"k8s-app": "kube-dns"})


def _allow(env: Env, ns: str, name: str, *, selector: dict | None, ingress=None, egress=None) -> Obj:
    return k8s.network_policy(f"{ns}-{name}", namespace=ns, component=NAME, env=env.name, pod_selector=selector,
                              ingress=ingress, egress=egress)


def _alb_policies(env: Env, ns: str) -> list[Obj]:
    """The ALB (ip targets) to the pods behind each route of this namespace, on their target and
    health-check ports: from the ALB's subnets, never the VPC."""
    alb = [k8s.peer_cidr(c) for c in env.infrastructure.alb_subnet_cidrs]
    out = []
    from ...kit import routes
    for r in sorted(routes.for_env(env), key=lambda r: r.name):
        if r.namespace != ns or not r.pods:
            continue
        out.append(_allow(env, ns, f"allow-alb-{r.name}", selector={"matchLabels": r.pod_labels},
                          ingress=[{"from": alb, "ports": k8s.ports(*r.target_ports)}]))
    return out


def _ingress_policies(env: Env, ns: str, *, allow_from_namespaces: list[str], control_plane_ports: list[int],
                      metrics: list[tuple[str, dict, list]], isolated_pods: dict[str, list[str]] | None) -> list[Obj]:
    selector = None
    if isolated_pods:  # e.g. user notebooks: only their chart's policies (hub, proxy) admit traffic
        selector = {"matchExpressions": [{"key": k, "operator": "NotIn", "values": sorted(v)}
                                         for k, v in sorted(isolated_pods.items())]}
    mon = env.namespaces.monitoring_namespace
    objs = [k8s.network_policy(f"{ns}-default-deny-ingress", namespace=ns, component=NAME, env=env.name,
                               deny_all_ingress=True)]
    peers = [k8s.peer_same_namespace()] + [k8s.peer_namespace(n) for n in sorted(set(allow_from_namespaces) - {ns})]
    objs.append(k8s.network_policy(f"{ns}-allow-ingress", namespace=ns, component=NAME, env=env.name,
                                   ingress_from=peers, pod_selector=selector))
    if ns != mon:
        for suffix, pods, numbers in metrics:
            if numbers:
                objs.append(_allow(env, ns, f"allow-metrics{suffix}", selector=pods or selector,
                                   ingress=[{"from": [k8s.peer_namespace(mon)], "ports": k8s.ports(*numbers)}]))
    objs += _alb_policies(env, ns)
    if control_plane_ports:
        cp = [k8s.peer_cidr(c) for c in env.infrastructure.control_plane_subnet_cidrs]
        objs.append(_allow(env, ns, "allow-control-plane", selector=selector,
                           ingress=[{"from": cp, "ports": k8s.ports(*control_plane_ports)}]))
    return objs


def _dns_and_api(env: Env, kubernetes_api: bool) -> list[dict]:
    rules = [{"to": [k8s.peer_pods(*KUBE_DNS)], "ports": k8s.ports(53, protocol="UDP") + k8s.ports(53)}]
    if kubernetes_api:  # the private EKS endpoint: the control plane's ENIs
        rules.append({"to": [k8s.peer_cidr(c) for c in env.infrastructure.control_plane_subnet_cidrs],
                      "ports": k8s.ports(443)})
    return rules


def _outside_vpc(env: Env) -> dict:
    return k8s.peer_cidr("0.0.0.0/0", except_=[env.infrastructure.vpc_cidr, METADATA_IP])


def _egress_policies(env: Env, ns: str, rules: list[dict]) -> list[Obj]:
    return [k8s.network_policy(f"{ns}-default-deny-egress", namespace=ns, component=NAME, env=env.name,
                               deny_all_egress=True),
            _allow(env, ns, "allow-egress", selector=None, egress=rules)]


def _team_egress(env: Env, team: Team) -> list[dict]:
    """Team pods: their namespace (Ray GCS, workers, in-cluster Redis), DNS, the Kubernetes API
    (the Ray autoscaler, kubectl in jobs), MLflow, and the internet outside the VPC when the env
    allows it. Never another tenant, a platform pod they don't use, or the metadata endpoint."""
    rules = [{"to": [k8s.peer_same_namespace()]}, *_dns_and_api(env, True),
             {"to": [k8s.peer_pods(mlflow.NAMESPACE, mlflow.SELECTOR)], "ports": k8s.ports(mlflow.CONTAINER_PORT)}]
    infra = env.infrastructure
    if (env.ray.enabled and env.ray.redis == "external" and infra.redis_endpoint
            and team.name in env.ray.fault_tolerant_teams()):
        # ElastiCache sits in the private subnets: one port only; every pod there denies ingress.
        port = int(infra.redis_endpoint.rsplit(":", 1)[1])
        rules.append({"to": [k8s.peer_cidr(c) for c in infra.pod_subnet_cidrs], "ports": k8s.ports(port)})
    if env.namespaces.tenant_internet_egress:
        rules.append({"to": [_outside_vpc(env)]})
    return rules


def _team_metrics(env: Env, team: Team) -> list[tuple[str, dict, list]]:
    """Monitoring scrapes Ray's metrics agent on every Ray node and vLLM's /metrics (its API port)."""
    from .. import vllm
    out: list[tuple[str, dict, list]] = []
    if env.ray.enabled and env.ray.service_monitor:
        out.append(("-ray", {"matchLabels": {"ray.io/is-ray-node": "yes"}}, [kuberay.METRICS_PORT]))
    if any(m.team == team.name for m in vllm.models(env)):
        out.append(("-vllm", {"matchLabels": {"app.kubernetes.io/name": vllm.APP}}, [vllm.PORT]))
    return out


def _team_operator_access(env: Env, ns: str) -> list[Obj]:
    """The KubeRay operator reads each head's dashboard API (job and Serve status)."""
    if not env.ray.enabled:
        return []
    return [_allow(env, ns, "allow-kuberay-operator", selector={"matchLabels": {"ray.io/node-type": "head"}},
                   ingress=[{"from": [k8s.peer_namespace(kuberay.NAMESPACE)], "ports": k8s.ports(kuberay.DASHBOARD_PORT)}])]


def _namespace_objects(env: Env, ns: str, *, pod_security: str, defaults: ContainerDefaults,
                       extra_labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> list[Obj]:
    c, e = NAME, env.name
    return [
        k8s.namespace(ns, component=c, env=e, pod_security=pod_security, extra_labels=extra_labels,
                      annotations=annotations),
        k8s.limit_range(f"{ns}-container-defaults", namespace=ns, component=c, env=e,
                        default_request={"cpu": defaults.cpu_request, "memory": defaults.memory_request},
                        default_limit={"cpu": defaults.cpu_limit, "memory": defaults.memory_limit}),
    ]


def build(env: Env) -> list[Obj]:
    objs: list[Obj] = []
    for p in env.namespaces.platform:
        ann = {"platform.mlops.io/pod-security-reason": p.pod_security_reason} if p.pod_security_reason else None
        objs += _namespace_objects(env, p.name, pod_security=p.pod_security, defaults=p.container_defaults,
                                   extra_labels={"platform.mlops.io/owner-component": p.component}, annotations=ann)
        objs += _ingress_policies(env, p.name, allow_from_namespaces=p.allow_from_namespaces
                                  + ([env.team_namespace(t) for t in env.teams] if p.allow_from_teams else []),
                                  control_plane_ports=p.control_plane_ports,
                                  metrics=[("", {}, list(p.metrics_ports))], isolated_pods=p.isolated_pods)
        if p.egress is not None:
            rules = [{"to": [k8s.peer_same_namespace()]}, *_dns_and_api(env, p.egress.kubernetes_api)]
            if p.egress.internet_ports:
                rules.append({"to": [_outside_vpc(env)], "ports": k8s.ports(*p.egress.internet_ports)})
            objs += _egress_policies(env, p.name, rules)
    for team in env.teams:
        ns = env.team_namespace(team)
        ann = {"platform.mlops.io/description": team.description} if team.description else {}
        ann.update(volcano.namespace_annotations(env, team))  # the team's default Volcano queue
        # Tenants: restricted PSA; only their own namespace, the ALB (to their routes), monitoring
        # (metrics ports) and the KubeRay operator (heads' dashboard API) get in.
        objs += _namespace_objects(env, ns, pod_security="restricted", defaults=team.container_defaults,
                                   extra_labels={LABEL_TEAM: team.name}, annotations=ann or None)
        objs += _ingress_policies(env, ns, allow_from_namespaces=[], control_plane_ports=[],
                                  metrics=_team_metrics(env, team), isolated_pods=None)
        objs += _team_operator_access(env, ns)
        objs += _egress_policies(env, ns, _team_egress(env, team))
        objs.append(k8s.resource_quota(f"{ns}-quota", namespace=ns, component=NAME, env=env.name,
                                       hard=_quota_hard(env, team)))
    return objs
