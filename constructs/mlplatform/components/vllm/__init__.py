"""Component `vllm`: one OpenAI-compatible vLLM server per model, scaled on its own queue.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .objects import APP, GPU_POOL, NAME, POOL_LABEL, PORT, build, model_routes, models, namespace, served_name

UNIT = Component(NAME,
                 "vLLM: one OpenAI-compatible server per model, scaled on its own queue, API key at llm-<model>.<domain>",
                 build)

__all__ = ["UNIT", "APP", "GPU_POOL", "NAME", "POOL_LABEL", "PORT", "model_routes", "models", "namespace", "served_name"]
