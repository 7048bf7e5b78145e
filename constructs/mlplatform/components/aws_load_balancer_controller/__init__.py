"""Component `aws-load-balancer-controller`: the controller behind the env's shared ALB (IRSA).

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
# -- imports: routes, credentials, secrets
# -- imports: rules, dashboards
# -- imports: checks
# -- imports: versions
from .versions import VERSIONS
from .objects import NAME, NAMESPACE, SERVICE_ACCOUNT, helm

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "AWS Load Balancer Controller (IRSA): the shared ALB",
    no_objects,
    helm=helm,
    # -- routes, credentials, secrets
    # -- rules, dashboards
    # -- checks
    # -- versions
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME", "NAMESPACE", "SERVICE_ACCOUNT"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
