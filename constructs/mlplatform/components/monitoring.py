"""Component `monitoring` (being written)."""
from __future__ import annotations

NAME = "monitoring"


def build(env) -> list:
    return []
