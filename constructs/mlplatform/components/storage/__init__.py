"""Component `storage`: the env's StorageClasses and the shared EFS volumes.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .objects import GP3, NAME, build, claim_name

UNIT = Component(
    NAME,
    "StorageClasses gp3 (default) and efs-sc; shared EFS volumes per namespace",
    build,
    prune=False,
)

__all__ = ["UNIT", "GP3", "NAME", "claim_name"]
