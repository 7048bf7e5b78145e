"""Component `prometheus-rules`: the platform's recording rules and alerts, from every unit.

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
    "Recording rules and alerts (GPU, vLLM, JupyterHub, Airflow, Ray, Karpenter, "
              "platform) with per-env thresholds",
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
