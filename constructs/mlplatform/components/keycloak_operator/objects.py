"""Component `keycloak-operator`: the Keycloak operator from its pinned upstream manifests.

No chart: Bitnami's Keycloak chart images were withdrawn, and the operator project publishes
plain manifests (CRDs + Deployment + RBAC) per release; Argo CD reads them straight from the
release tag. They bind the operator's ClusterRole to namespace `keycloak`, which is where it runs
and where it watches.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.component import UpstreamManifests

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "keycloak-operator"
NAMESPACE = "keycloak"


def upstream(env: Env) -> UpstreamManifests:
    return UpstreamManifests(source="keycloak-operator", namespace=NAMESPACE)
