"""Component `vllm`: one OpenAI-compatible vLLM server per model, scaled on its own queue.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
# -- imports: config
from .config import ServedModel
# -- imports: routes, credentials, secrets
from . import access
# -- imports: rules, dashboards
from . import metrics, monitoring
from .metrics import MODEL_LABEL
# -- imports: checks
from . import checks
# -- imports: versions
from .versions import VERSIONS
from .objects import APP, GPU_POOL, NAME, POOL_LABEL, PORT, build, model_routes, models, namespace, served_name

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "vLLM: one OpenAI-compatible server per model, scaled on its own queue, API key at llm-<model>.<domain>",
    build,
    # -- routes, credentials, secrets
    routes=model_routes,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    # -- rules, dashboards
    rules=monitoring.rules,
    dashboards=monitoring.dashboards,
    custom_metrics=monitoring.custom_metrics,
    metrics=metrics.FACTS,
    # -- checks
    checks=checks.checks,
    # -- versions
    versions=VERSIONS,
)

__all__ = ["UNIT", "APP", "GPU_POOL", "NAME", "POOL_LABEL", "PORT", "model_routes", "models", "namespace", "served_name"]
# -- published facts: config
__all__ += ["ServedModel"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
__all__ += ["MODEL_LABEL"]
# -- published facts: checks
# -- published facts: versions
