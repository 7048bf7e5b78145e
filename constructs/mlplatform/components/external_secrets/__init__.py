"""Component `external-secrets`: the External Secrets Operator (IRSA to Secrets Manager).

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
# -- imports: routes, credentials, secrets
# -- imports: rules, dashboards
# -- imports: checks
# -- imports: versions
from .versions import VERSIONS
from .objects import NAME, helm

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "External Secrets Operator (IRSA to Secrets Manager)",
    no_objects,
    helm=helm,
    # -- routes, credentials, secrets
    # -- rules, dashboards
    # -- checks
    # -- versions
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
