"""Component `prometheus-rules`: the platform's recording rules and alerts, from every unit.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .objects import NAME, build

UNIT = Component(
    NAME,
    "Recording rules and alerts (GPU, vLLM, JupyterHub, Airflow, Ray, Karpenter, "
              "platform) with per-env thresholds",
    build,
)

__all__ = ["UNIT", "NAME"]
