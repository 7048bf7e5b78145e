"""Component `secrets`: where every credential of the platform comes from.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .objects import NAME, build

UNIT = Component(
    NAME,
    "ClusterSecretStore and every ExternalSecret: credentials by reference only",
    build,
)

__all__ = ["UNIT", "NAME"]
