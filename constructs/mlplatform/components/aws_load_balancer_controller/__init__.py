"""Component `aws-load-balancer-controller`: the controller behind the env's shared ALB (IRSA).

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
from .versions import VERSIONS
from .objects import NAME, NAMESPACE, SERVICE_ACCOUNT, helm

UNIT = Component(
    NAME,
    "AWS Load Balancer Controller (IRSA): the shared ALB",
    no_objects,
    helm=helm,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME", "NAMESPACE", "SERVICE_ACCOUNT"]
