"""scripts/vllm_facts.py (the vLLM bump check) on a planted release: it must catch a flag, a metric,
a metric kind and a label our config relies on but the release lacks, and a stale image pin."""
from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("vllm_facts", ROOT / "scripts" / "vllm_facts.py")
facts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(facts)

ARGS = '''
parser.add_argument("--max-model-len", type=int)
group.add_argument("--gpu-memory-utilization", "--device-memory-utilization", dest="gpu_memory_utilization")
'''
FRONTEND = '''
class BaseFrontendArgs:
    lora_modules: list | None = None
class FrontendArgs(BaseFrontendArgs):
    host: str | None = None
    port: int = 8000
'''
LOGGERS = '''
labelnames = ["model_name", "engine"]
g = self._gauge_cls(
    name="vllm:num_requests_waiting",
    documentation="waiting",
    labelnames=labelnames,
)
c = self._counter_cls(
    name="vllm:generation_tokens",
    documentation="tokens",
    labelnames=labelnames,
)
h = self._histogram_cls(
    name="vllm:time_to_first_token_seconds",
    documentation="ttft",
    buckets=[1, 2],
)
'''


def _release(tmp_path: Path) -> "facts.Release":
    wheel = tmp_path / "vllm-9.9.9-cp38-abi3-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("vllm/engine/arg_utils.py", ARGS)
        z.writestr("vllm/entrypoints/common/cli_args.py", FRONTEND)
        z.writestr("vllm/v1/metrics/loggers.py", LOGGERS)
        z.writestr("vllm/config/cache.py", "    gpu_memory_utilization: float | None = Field(default=None)\n")
    return facts.Release.from_wheel(wheel)


def test_a_release_that_has_everything_passes(tmp_path):
    rel = _release(tmp_path)
    assert rel.version == "9.9.9" and {"--host", "--port", "--lora-modules", "--max-model-len"} <= rel.flags
    assert facts.problems(rel, {"--host", "--gpu-memory-utilization", "--lora-modules"},
                          {"vllm:num_requests_waiting", "vllm:generation_tokens_total"}, "v9.9.9") == []
    assert "default=None" in rel.gpu_memory_default()


def test_planted_gaps_are_each_named(tmp_path):
    rel = _release(tmp_path)
    found = facts.problems(rel, {"--host", "--enable-lora"},
                           {"vllm:gpu_cache_usage_perc", "vllm:num_requests_waiting_total",
                            "vllm:time_to_first_token_seconds_bucket"}, "v0.15.1")
    assert found == [
        "flag --enable-lora: not an argument of `vllm serve` in vLLM 9.9.9",
        "metric vllm:gpu_cache_usage_perc: vLLM 9.9.9 defines no such metric",
        "metric vllm:num_requests_waiting_total: vllm:num_requests_waiting is a gauge in vLLM 9.9.9, not a counter",
        "metric vllm:time_to_first_token_seconds_bucket: vllm:time_to_first_token_seconds has no model_name label "
        "in vLLM 9.9.9",
        "kit/versions.py pins vllm/vllm-openai:v0.15.1, not this release (v9.9.9)",
    ]


def test_what_we_use_is_read_from_the_code_and_dist():
    flags = facts.used_flags(ROOT / "dist")
    assert {"--served-model-name", "--max-model-len", "--lora-modules", "--gpu-memory-utilization"} <= flags
    metrics = facts.used_metrics(ROOT / "dist")
    assert {"vllm:num_requests_waiting", "vllm:e2e_request_latency_seconds_bucket"} <= metrics
