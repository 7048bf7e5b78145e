"""The series vLLM exports, the label that names the model, and the queue signal the HPAs scale on.

vLLM v0.34.0 (V1 engine), vllm-project/vllm vllm/v1/metrics/loggers.py (PrometheusStatLogger; checked
against the release wheel by scripts/vllm_facts.py): gauges vllm:num_requests_waiting /
vllm:num_requests_running / vllm:kv_cache_usage_perc (0..1, replaced vllm:gpu_cache_usage_perc),
counters vllm:generation_tokens (exposed with _total), histograms vllm:time_to_first_token_seconds /
vllm:e2e_request_latency_seconds; labels model_name (= --served-model-name) and engine.
namespace/pod come from the ServiceMonitor.

The HPA (`objects.hpa`), the adapter's rule (`monitoring.custom_metrics`), the alerts and the
dashboard all derive from these names, so they can't drift apart. Kept apart from
`monitoring.py` because the objects need the queue signal and the monitoring contributions need
the objects.
"""
from __future__ import annotations

import re

from ...kit.metrics import SERVICE_MONITOR_LABELS, Exporter, Metric

# vLLM's OpenAI server exports the queue gauge per engine, labelled with the served model name.
QUEUE_SERIES = "vllm:num_requests_waiting"
RUNNING_SERIES = "vllm:num_requests_running"
MODEL_LABEL = "model_name"
KV_CACHE = "vllm:kv_cache_usage_perc"
GENERATION_TOKENS = "vllm:generation_tokens_total"
TTFT_BUCKET = "vllm:time_to_first_token_seconds_bucket"
E2E_BUCKET = "vllm:e2e_request_latency_seconds_bucket"

# The adapter's name for one model's queue: a Kubernetes custom-metric name per model, because
# model names (`org/repo`, or anything with `/`) can't be HPA label-selector values, and one
# metric per model keeps one model's queue from ever steering another's replicas.
_METRIC_PREFIX = "vllm_waiting_requests_"


def queue_metric(model: str) -> str:
    """`opt-125m` -> `vllm_waiting_requests_opt_125m` (the HPA's and the adapter's metric name)."""
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", model):
        raise ValueError(f"model name {model!r} is not a DNS label")
    return _METRIC_PREFIX + model.replace("-", "_")


# ------------------------------------------------------------------------------ metrics facts rows
_SOURCE = ("vllm-0.34.0 wheel: vllm/v1/metrics/loggers.py PrometheusStatLogger (labelnames model_name, engine; "
           "request_success adds finished_reason)")
_LABELS = (MODEL_LABEL, "engine")

FACTS = (
    Exporter("vllm", "image", "vllm", "v0.34.0", SERVICE_MONITOR_LABELS),
    Metric("vllm:num_requests_waiting", "vllm", _LABELS, _SOURCE, True),
    Metric("vllm:num_requests_running", "vllm", _LABELS, _SOURCE, True),
    Metric("vllm:kv_cache_usage_perc", "vllm", _LABELS, _SOURCE, True),
    Metric("vllm:generation_tokens_total", "vllm", _LABELS, _SOURCE, True, "counter"),
    Metric("vllm:prompt_tokens_total", "vllm", _LABELS, _SOURCE, True, "counter"),
    Metric("vllm:request_success_total", "vllm", _LABELS + ("finished_reason",), _SOURCE, True, "counter"),
    Metric("vllm:time_to_first_token_seconds", "vllm", _LABELS, _SOURCE, True, "histogram"),
    Metric("vllm:e2e_request_latency_seconds", "vllm", _LABELS, _SOURCE, True, "histogram"),
)
