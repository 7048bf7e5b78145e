"""Component `keycloak-operator`: the Keycloak operator from its pinned upstream manifests.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
# -- imports: routes, credentials, secrets
# -- imports: rules, dashboards
# -- imports: checks
from . import checks
# -- imports: versions
from .versions import VERSIONS
from .objects import NAME, upstream

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "Keycloak operator from its pinned release manifests",
    no_objects,
    upstream=upstream,
    # -- routes, credentials, secrets
    # -- rules, dashboards
    # -- checks
    made_services=checks.made_services,
    # -- versions
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
