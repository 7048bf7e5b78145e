"""Component `external-secrets`: the External Secrets Operator (IRSA to Secrets Manager).

The store and every ExternalSecret are in `components/secrets.py`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.component import HelmRelease
from ..priority_classes import PRIORITY

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "external-secrets"
NAMESPACE = "external-secrets"
SERVICE_ACCOUNT = "external-secrets"

_SMALL = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
# The chart's container securityContext is restricted already but runs uid 1000; the static
# binaries own no files in the image, so run them as nobody (a high uid), and give the pods a
# securityContext of their own (the chart renders an empty one).
_POD_SC = {"enabled": True, "runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
           "seccompProfile": {"type": "RuntimeDefault"}}
_CONTAINER_SC = {"runAsUser": 65534}


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
        "podSecurityContext": _POD_SC,
        "securityContext": _CONTAINER_SC,
        # The controller's own health server (--live-addr, :8082 /healthz and /readyz).
        "livenessProbe": {"enabled": True},
        "readinessProbe": {"enabled": True},
        "podDisruptionBudget": {"enabled": n > 1, "minAvailable": 1},
        # Namespaced stores are not used: one ClusterSecretStore, so tenants can't point a
        # SecretStore of their own at the platform's credentials.
        "processSecretStore": False,
        "priorityClassName": PRIORITY.controllers,
        "webhook": {"create": True, "resources": _SMALL, "nodeSelector": system, "podSecurityContext": _POD_SC,
                    "securityContext": _CONTAINER_SC, "livenessProbe": {"enabled": True},
                    "priorityClassName": PRIORITY.controllers},
        # Webhook certificates are issued at runtime by the cert controller, not at render time,
        # so the rendered chart stays byte-stable.
        "certController": {"create": True, "resources": _SMALL, "nodeSelector": system, "podSecurityContext": _POD_SC,
                           "securityContext": _CONTAINER_SC, "livenessProbe": {"enabled": True},
                           "priorityClassName": PRIORITY.controllers},
    }
    return HelmRelease(chart="external-secrets", release="external-secrets", namespace=NAMESPACE, values=values)
