"""Component `ingress`: the env's one shared internet-facing ALB, as an IngressClass.

Every platform Ingress names this class; its IngressClassParams pin what must be the same for
all of them: one IngressGroup (so one ALB per env), the scheme, the ACM certificate (TLS ends at
the ALB), the TLS policy, the HTTP->HTTPS redirect, IP targets, the public subnets, ALB
attributes, and which namespaces may join the group at all. Per-route settings (health checks,
OIDC login) are generated in `kit/ingress.py` from `kit/routes.py`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import routes
from ...kit.ingress import ALB_OIDC_SECRET
from ...kit.meta import Obj, metadata
from .. import aws_load_balancer_controller as lbc

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "ingress"
CONTROLLER = "ingress.k8s.aws/alb"
OIDC_SECRET_READER = "alb-oidc-secret-reader"  # Role/RoleBinding name suffix: `<namespace>-...`
MAX_LB_NAME = 32  # AWS limit


def load_balancer_name(env: Env) -> str:
    return f"{env.infrastructure.cluster_name}-platform"


def group_name(env: Env) -> str:
    return f"{env.infrastructure.cluster_name}-platform"


def allowed_namespaces(env: Env) -> list[str]:
    """Namespaces whose Ingresses may join the shared ALB: platform routes and teams."""
    names = {r.namespace for r in routes.for_env(env)} | {env.team_namespace(t) for t in env.teams}
    return sorted(names)


def build(env: Env) -> list[Obj]:
    infra, cfg = env.infrastructure, env.ingress
    lb_name = load_balancer_name(env)
    if len(lb_name) > MAX_LB_NAME:
        raise ValueError(f"ALB name {lb_name!r} is longer than {MAX_LB_NAME} characters (cluster_name too long)")
    attributes = {
        "idle_timeout.timeout_seconds": str(cfg.idle_timeout_seconds),
        "routing.http.drop_invalid_header_fields.enabled": "true",
        "deletion_protection.enabled": str(cfg.deletion_protection).lower(),
        "access_logs.s3.enabled": str(cfg.access_logs_bucket is not None).lower(),
    }
    if cfg.access_logs_bucket:
        attributes["access_logs.s3.bucket"] = cfg.access_logs_bucket
        attributes["access_logs.s3.prefix"] = lb_name
    params = {
        "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams",
        "metadata": metadata(cfg.class_name, component=NAME, env=env.name),
        "spec": {
            "group": {"name": group_name(env)},
            "loadBalancerName": lb_name,
            "scheme": "internet-facing",
            "ipAddressType": "ipv4",
            "targetType": "ip",
            "certificateArn": [infra.certificate_arn],
            "sslPolicy": cfg.ssl_policy,
            "sslRedirectPort": "443",
            "inboundCIDRs": list(cfg.inbound_cidrs),
            "subnets": {"tags": {k: [v] for k, v in sorted(infra.public_subnet_tags.items())}},
            "loadBalancerAttributes": [{"key": k, "value": v} for k, v in sorted(attributes.items())],
            "tags": [{"key": "platform.mlops.io/env", "value": env.name},
                     {"key": "platform.mlops.io/cluster", "value": infra.cluster_name}],
            "namespaceSelector": {"matchExpressions": [{
                "key": "kubernetes.io/metadata.name", "operator": "In", "values": allowed_namespaces(env)}]},
        },
    }
    ingress_class = {
        "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": metadata(cfg.class_name, component=NAME, env=env.name),
        "spec": {"controller": CONTROLLER,
                 "parameters": {"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": cfg.class_name}},
    }
    objs = [params, ingress_class]
    # The ALB's OIDC action reads the client secret from the Ingress's namespace; the controller
    # may read Secrets only in those namespaces (no cluster-wide Secret access).
    for ns in sorted({r.namespace for r in routes.alb_routes(env)}):
        objs.append({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": metadata(f"{ns}-{OIDC_SECRET_READER}", component=NAME, env=env.name, namespace=ns,
                                 annotations={"platform.mlops.io/reads": ALB_OIDC_SECRET}),
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [ALB_OIDC_SECRET],
                       "verbs": ["get", "list", "watch"]}],
        })
        objs.append({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": metadata(f"{ns}-{OIDC_SECRET_READER}", component=NAME, env=env.name, namespace=ns),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{ns}-{OIDC_SECRET_READER}"},
            "subjects": [{"kind": "ServiceAccount", "name": lbc.SERVICE_ACCOUNT, "namespace": lbc.NAMESPACE}],
        })
    return objs
