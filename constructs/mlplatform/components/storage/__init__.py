"""Component `storage`: the env's StorageClasses and the shared EFS volumes.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
# -- imports: routes, credentials, secrets
# -- imports: rules, dashboards
# -- imports: checks
# -- imports: versions
from .objects import GP3, NAME, build, claim_name

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "StorageClasses gp3 (default) and efs-sc; shared EFS volumes per namespace",
    build,
    prune=False,
    # -- routes, credentials, secrets
    # -- rules, dashboards
    # -- checks
    # -- versions
)

__all__ = ["UNIT", "GP3", "NAME", "claim_name"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
