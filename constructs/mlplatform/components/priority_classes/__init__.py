"""Component `priority-classes`: controllers above serving above notebooks and batch.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read:
`PRIORITY`, the class names a unit's pods use."""
from __future__ import annotations

from ...kit.component import Component
from .objects import NAME, PRIORITY, Priorities, build

UNIT = Component(
    NAME,
    "PriorityClasses: platform-critical (controllers), serving (models), preemptible (notebooks, batch)",
    build,
)

__all__ = ["UNIT", "NAME", "PRIORITY", "Priorities"]
