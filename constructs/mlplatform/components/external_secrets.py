"""Component `external-secrets`: the External Secrets Operator (IRSA to Secrets Manager).

The store and every ExternalSecret are in `components/secrets.py`."""
from __future__ import annotations

from ..config.models import Env
from ..kit.component import HelmRelease

NAME = "external-secrets"
NAMESPACE = "external-secrets"
SERVICE_ACCOUNT = "external-secrets"

_SMALL = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}


def helm(env: Env) -> HelmRelease:
    infra = env.infrastructure
    system = dict(infra.system_node_labels)
    n = env.secrets.controller_replicas
    values = {
        "installCRDs": True,
        "replicaCount": n,
        "leaderElect": n > 1,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT,
                           "annotations": {"eks.amazonaws.com/role-arn": infra.roles.external_secrets}},
        "resources": _SMALL,
        "nodeSelector": system,
        "podDisruptionBudget": {"enabled": n > 1, "minAvailable": 1},
        # Namespaced stores are not used: one ClusterSecretStore, so tenants can't point a
        # SecretStore of their own at the platform's credentials.
        "processSecretStore": False,
        "webhook": {"create": True, "resources": _SMALL, "nodeSelector": system},
        # Webhook certificates are issued at runtime by the cert controller, not at render time,
        # so the rendered chart stays byte-stable.
        "certController": {"create": True, "resources": _SMALL, "nodeSelector": system},
    }
    return HelmRelease(chart="external-secrets", release="external-secrets", namespace=NAMESPACE, values=values)
