"""Component `keycloak-operator`: the Keycloak operator from its pinned upstream manifests.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
from . import checks
from .versions import VERSIONS
from .objects import NAME, upstream

UNIT = Component(
    NAME,
    "Keycloak operator from its pinned release manifests",
    no_objects,
    upstream=upstream,
    made_services=checks.made_services,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
