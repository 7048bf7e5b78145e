"""Component `prometheus-rules` (being written)."""
from __future__ import annotations

NAME = "prometheus-rules"


def build(env) -> list:
    return []
