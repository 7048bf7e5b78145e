"""Component `namespaces`: one namespace per platform component and per team.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .objects import NAME, build

UNIT = Component(
    NAME,
    "Platform and team namespaces: PSA, quotas, limits, network policies",
    build,
)

__all__ = ["UNIT", "NAME"]
