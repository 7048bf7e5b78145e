"""Component `external-dns`: Route 53 records for every Ingress host (IRSA), replacing the
book's record script. Scoped to the env's hosted zone and domain; TXT ownership records carry
the cluster name, so two clusters never fight over a record."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.component import HelmRelease
from ..priority_classes import PRIORITY

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "external-dns"
NAMESPACE = "external-dns"


def helm(env: Env) -> HelmRelease:
    infra = env.infrastructure
    values = {
        "provider": {"name": "aws"},
        "sources": ["ingress"],
        "domainFilters": [env.domain],
        "policy": env.external_dns.policy,
        "registry": "txt",
        "txtOwnerId": infra.cluster_name,
        "txtPrefix": "extdns-",
        "interval": env.external_dns.interval,
        "extraArgs": [f"--zone-id-filter={infra.route53_zone_id}", "--aws-zone-type=public"],
        "env": [{"name": "AWS_DEFAULT_REGION", "value": infra.region}],
        "serviceAccount": {"create": True, "name": "external-dns",
                           "annotations": {"eks.amazonaws.com/role-arn": infra.roles.external_dns}},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
        "nodeSelector": dict(infra.system_node_labels),
        "logFormat": "json",
        "priorityClassName": PRIORITY.controllers,
    }
    return HelmRelease(chart="external-dns", release="external-dns", namespace=NAMESPACE, values=values)
