"""Component `secrets`: where every credential of the platform comes from.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
# -- imports: routes, credentials, secrets
# -- imports: rules, dashboards
# -- imports: checks
# -- imports: versions
from .objects import NAME, build

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "ClusterSecretStore and every ExternalSecret: credentials by reference only",
    build,
    # -- routes, credentials, secrets
    # -- rules, dashboards
    # -- checks
    # -- versions
)

__all__ = ["UNIT", "NAME"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
