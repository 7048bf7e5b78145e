"""Component `vllm`: one OpenAI-compatible vLLM server per model, scaled on its own queue.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from . import access
from . import metrics, monitoring
from .metrics import MODEL_LABEL
from . import checks
from .versions import VERSIONS
from .objects import APP, GPU_POOL, NAME, POOL_LABEL, PORT, build, model_routes, models, namespace, served_name

UNIT = Component(
    NAME,
    "vLLM: one OpenAI-compatible server per model, scaled on its own queue, API key at llm-<model>.<domain>",
    build,
    routes=model_routes,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    rules=monitoring.rules,
    dashboards=monitoring.dashboards,
    custom_metrics=monitoring.custom_metrics,
    metrics=metrics.FACTS,
    checks=checks.checks,
    versions=VERSIONS,
)

__all__ = ["UNIT", "APP", "GPU_POOL", "NAME", "POOL_LABEL", "PORT", "model_routes", "models", "namespace", "served_name"]
__all__ += ["MODEL_LABEL"]
