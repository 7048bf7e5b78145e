"""Component `aws-load-balancer-controller`: the controller behind the env's shared ALB (IRSA).

Replaces the book's ingress-nginx (retired upstream; best-effort maintenance ended March
2026). The IngressClass and its IngressClassParams are ours (`components/ingress.py`), not the
chart's, so every ALB-wide setting is reviewed in `dist/`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import k8s
from ...kit.component import HelmRelease

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "aws-load-balancer-controller"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"


def helm(env: Env) -> HelmRelease:
    infra = env.infrastructure
    values = {
        "clusterName": infra.cluster_name,
        "region": infra.region,
        "vpcId": infra.vpc_id,
        "replicaCount": env.ingress.controller_replicas,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT,
                           "annotations": {"eks.amazonaws.com/role-arn": infra.roles.load_balancer_controller}},
        # Our IngressClass + IngressClassParams live in dist/ (components/ingress.py).
        "createIngressClassResource": False,
        "ingressClassParams": {"create": False},
        "defaultTargetType": "ip",
        "defaultSSLPolicy": env.ingress.ssl_policy,
        # LoadBalancer Services stay opt-in (loadBalancerClass), nothing is hijacked silently.
        "enableServiceMutatorWebhook": False,
        # Secrets are readable only where an OIDC-protected Ingress lives (Roles in components/ingress.py).
        "clusterSecretsPermissions": {"allowAllSecrets": False},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        # The chart's default (read-only root, non-root, no escalation) made complete: no
        # capabilities (it binds 9443/8080, above 1024), RuntimeDefault seccomp, and a high uid
        # (nobody, the chart's own fsGroup) -- the static controller binary owns no files.
        "securityContext": {**k8s.restricted_container(readOnlyRootFilesystem=True),
                            "runAsUser": 65534, "runAsGroup": 65534},
        "nodeSelector": dict(infra.system_node_labels),
        "podDisruptionBudget": {"maxUnavailable": 1} if env.ingress.controller_replicas > 1 else {},
        "defaultTags": {"platform.mlops.io/env": env.name, "platform.mlops.io/cluster": infra.cluster_name},
    }
    # The chart signs its webhook certificate at render time (genCA): every render differs. Argo CD
    # keeps the live certificate and CA bundle instead of rotating them on each sync.
    ignore = (
        ("", "Secret", "aws-load-balancer-tls", "/data"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration", "aws-load-balancer-webhook",
         ".webhooks[]?.clientConfig.caBundle"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "aws-load-balancer-webhook",
         ".webhooks[]?.clientConfig.caBundle"),
    )
    return HelmRelease(chart="aws-load-balancer-controller", release="aws-load-balancer-controller",
                       namespace=NAMESPACE, values=values, ignore_differences=ignore)
