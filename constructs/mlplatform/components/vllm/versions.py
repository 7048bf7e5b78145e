"""Versions rows of unit `vllm`: the vLLM OpenAI server image. `kit/versions.py` collects every unit's rows
into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import Image

VERSIONS = (
    # The newest vLLM on PyPI (2026-12). Every `vllm serve` flag we pass and every `vllm:` metric
    # dist/ uses is checked against a release's sources by `scripts/vllm_facts.py --wheel PATH`
    # (re-run it on every bump; the wheel is too large for CI).
    Image("vllm", "vllm/vllm-openai", "v0.34.0"),
)
