"""vLLM's monitoring contributions: alerts and recording rules, the dashboard, the queue metric.

- `rules(env)`: area `vllm`, generated from `serving.models` like the objects they watch, so names
  can't drift: one set of alerts per model (its namespace, `model_name`, HPA name and max
  replicas); thresholds from `monitoring.alerts`, a model's `slo` overriding them for that model.
- `dashboards(env)`: "vLLM serving", per model: queue, latency, throughput, KV cache, HPA bounds.
- `custom_metrics(env)`: each model's queue, served per pod by prometheus-adapter as
  `queue_metric(<model>)`, the metric the model's HPA asks for.

The vLLM series are named in `metrics.py`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.dashboards import Dashboard, Panel, Query, Variable
from ...kit.monitoring import PodMetric
from ...kit.rules import Alert, Record, RuleArea, num, selector
from .metrics import (E2E_BUCKET, GENERATION_TOKENS, KV_CACHE, MODEL_LABEL, QUEUE_SERIES, RUNNING_SERIES,
                      TTFT_BUCKET, queue_metric)
from .objects import models, namespace

if TYPE_CHECKING:
    from ...config.models import Env, ServedModel

# kube-state-metrics v2 (chart 8.4.0 in kube-prometheus-stack 88.5.3), kubernetes/kube-state-metrics
# docs/metrics/workload/horizontalpodautoscaler-metrics.md: labels namespace +
# horizontalpodautoscaler; condition/status (true|false|unknown) on
# kube_horizontalpodautoscaler_status_condition. Each model's HPA is named after the model.
KSM_HPA_CURRENT = "kube_horizontalpodautoscaler_status_current_replicas"
KSM_HPA_MAX = "kube_horizontalpodautoscaler_spec_max_replicas"
KSM_HPA_CONDITION = "kube_horizontalpodautoscaler_status_condition"


# ------------------------------------------------------------------------------ rules
def _model_alerts(env: Env, m: ServedModel) -> list[Alert]:
    t, a = env.monitoring.alerts, m.autoscaling
    ns = namespace(env, m)
    sel = selector(namespace=ns, **{MODEL_LABEL: m.name})
    hpa = selector(namespace=ns, horizontalpodautoscaler=m.name)
    waiting_high = m.slo.waiting_per_replica_high or t.vllm_waiting_per_replica_high
    ttft = m.slo.ttft_p95_seconds or t.vllm_ttft_p95_seconds
    labels = {MODEL_LABEL: m.name, "team": m.team}
    at_max = (f"max by (namespace, horizontalpodautoscaler) ({KSM_HPA_CURRENT}{hpa})\n"
              f"  >= max by (namespace, horizontalpodautoscaler) ({KSM_HPA_MAX}{hpa})")
    out = [
        Alert("VLLMQueueHighAtMaxReplicas",
              f"namespace_model:vllm_num_requests_waiting_per_replica:avg{sel} > {num(waiting_high)}\n"
              f"and on (namespace) (\n  {at_max}\n)",
              "warning", f"Model {m.name} is saturated: requests queue at max replicas",
              f"{{{{ $value | printf \"%.1f\" }}}} requests wait per replica of {m.name} in {ns} (alert above "
              f"{num(waiting_high)}) and its HPA is at maxReplicas {a.max_replicas}: clients wait longer and "
              f"longer for a first token.",
              f"the autoscaler cannot add replicas (it is at autoscaling.max_replicas {a.max_replicas}) while "
              f"the queue it steers on stays above target {num(a.target_waiting_per_replica)} per replica.",
              f"the request rate and token throughput of {m.name} (Grafana, namespace_model:* series), "
              f"whether the team quota or the gpu NodePool limit would allow more replicas, whether a single "
              f"client floods the model.",
              f"raise serving.models[{m.name}].autoscaling.max_replicas (and the team's GPU quota / the gpu "
              f"pool's gpu_limit if needed) in environments/{env.name}.yaml, or rate-limit the client; "
              f"a larger GPU (min_gpu_memory_gib) gives more KV cache and batch per replica.",
              for_=t.vllm_for, labels=labels),
        Alert("VLLMTimeToFirstTokenHigh",
              f"namespace_model:vllm_time_to_first_token_seconds:p95_5m{sel} > {num(ttft)}",
              "warning", f"Model {m.name} answers slowly (time to first token)",
              f"p95 time to first token of {m.name} in {ns} is {{{{ $value | printf \"%.2f\" }}}} s over 5 minutes "
              f"(SLO {num(ttft)} s).",
              "requests wait in the queue or prefill is slow: users see the first token late.",
              f"the queue per replica and whether the HPA is at max (VLLMQueueHighAtMaxReplicas), KV-cache "
              f"usage and preemptions (vllm:num_preemptions_total), prompt lengths (vllm:request_prompt_tokens).",
              f"scale out (autoscaling.max_replicas / lower target_waiting_per_replica so it scales earlier), "
              f"cap max_model_len, or move to a larger GPU; raise serving.models[{m.name}].slo.ttft_p95_seconds "
              f"only if the SLO itself was wrong.",
              for_=t.vllm_for, labels=labels),
        Alert("VLLMKVCacheNearlyFull",
              f"100 * namespace_model_pod:vllm_kv_cache_usage:max{sel} > {t.vllm_kv_cache_usage_percent}",
              "warning", f"KV cache of a {m.name} replica is nearly full",
              f"Replica {{{{ $labels.pod }}}} of {m.name} uses {{{{ $value | printf \"%.0f\" }}}}% of its KV cache "
              f"(alert above {t.vllm_kv_cache_usage_percent}%).",
              "the replica cannot admit more concurrent sequences: new requests wait and running ones get "
              "preempted (recomputed), so latency rises even if the queue metric looks moderate.",
              "vllm:num_preemptions_total and the queue of the replica, prompt/generation lengths, whether "
              "traffic is spread evenly over replicas.",
              "add replicas (the HPA target), lower max_model_len, leave gpu_memory_utilization unset (or raise it), or "
              "use a GPU with more memory (min_gpu_memory_gib).",
              for_=t.vllm_for, labels=labels),
        Alert("VLLMScalingMetricAbsent", f"absent({QUEUE_SERIES}{sel})",
              "critical", f"No queue metric for model {m.name}: its autoscaler is blind",
              f"Prometheus has no {QUEUE_SERIES} series of {m.name} in {ns}: the HPA {m.name} cannot read "
              f"{queue_metric(m.name)} and will not scale.",
              "no replica of the model is up and scraped: the Deployment has no ready pod, the ServiceMonitor "
              "does not reach it, or vLLM was started with another --served-model-name.",
              f"kubectl -n {ns} get deploy,pods -l app.kubernetes.io/instance={m.name}; the pods' events "
              f"(Pending on GPU capacity? image pull? model download?); Prometheus targets for "
              f"serviceMonitor/{ns}/{m.name}.",
              "get a replica running (GPU capacity, quota, Hugging Face token for gated models); if pods run, "
              "fix the scrape (Service port name, ServiceMonitor selector) so the series comes back.",
              for_=t.metric_absent_for, labels=labels),
        Alert("VLLMAutoscalerScalingInactive",
              f'max by (namespace, horizontalpodautoscaler) '
              f'({KSM_HPA_CONDITION}{{namespace="{ns}",horizontalpodautoscaler="{m.name}",'
              f'condition="ScalingActive",status="false"}}) == 1',
              "critical", f"HPA of model {m.name} cannot compute a scale",
              f"HPA {ns}/{m.name} reports ScalingActive=False: it cannot get {queue_metric(m.name)} "
              f"from the custom metrics API and keeps the current replica count.",
              "the custom metrics API (prometheus-adapter) does not serve the model's queue metric, so the "
              "model neither scales out under load nor back in.",
              f"kubectl -n {ns} describe hpa {m.name} (the condition's message); kubectl get apiservice "
              f"v1beta1.custom.metrics.k8s.io; the prometheus-adapter pods' logs; whether {QUEUE_SERIES}"
              f"{sel} exists in Prometheus.",
              "restore the adapter (pods, APIService Available) or the metric (see VLLMScalingMetricAbsent); "
              "the adapter rule is generated from serving.models, so a renamed model needs a fresh synth.",
              for_=t.metric_absent_for, labels=labels),
    ]
    if a.max_replicas > a.min_replicas:
        # kube-prometheus-stack's KubeHpaMaxedOut fires on every HPA at max, including those with
        # min == max that sit there by design; this one covers only models that can scale, with the
        # model's runbook. (The monitoring values can switch KubeHpaMaxedOut off.)
        out.append(Alert(
            "VLLMAutoscalerAtMaxReplicas", at_max, "warning", f"Model {m.name} runs at max replicas",
            f"HPA {ns}/{m.name} has been at maxReplicas {a.max_replicas} for {t.hpa_at_max_for}.",
            "the model uses all the capacity config allows: one more burst of traffic will queue.",
            f"the queue per replica (namespace_model:vllm_num_requests_waiting_per_replica:avg), the GPU "
            f"quota of team {m.team} and the gpu pool's limit, the trend of the request rate.",
            f"if the load is lasting, raise serving.models[{m.name}].autoscaling.max_replicas (with quota and "
            f"pool limit); if it is a burst, nothing: the HPA scales in after the stabilization window.",
            for_=t.hpa_at_max_for, labels=labels))
    return out


def rules(env: Env) -> list[RuleArea]:
    """Area `vllm`: the per-model series dashboards and capacity reviews read, and per model the
    alerts about its queue, latency, KV cache and autoscaler (a model's `slo` overrides the env's
    thresholds for that model)."""
    served = sorted(models(env), key=lambda m: m.name)
    if not served:
        return []
    by_model = f"namespace, {MODEL_LABEL}"
    recording = [
        # The HPA's signal: waiting requests per pod (summed over engines), averaged over the
        # model's pods -- what an AverageValue Pods metric compares with its target.
        Record("namespace_model_pod:vllm_num_requests_waiting:sum", f"sum by ({by_model}, pod) ({QUEUE_SERIES})"),
        Record("namespace_model:vllm_num_requests_waiting_per_replica:avg",
               f"avg by ({by_model}) (namespace_model_pod:vllm_num_requests_waiting:sum)"),
        Record("namespace_model:vllm_num_requests_running:sum", f"sum by ({by_model}) ({RUNNING_SERIES})"),
        Record("namespace_model:vllm_time_to_first_token_seconds:p95_5m",
               f"histogram_quantile(0.95, sum by ({by_model}, le) (rate({TTFT_BUCKET}[5m])))"),
        Record("namespace_model:vllm_e2e_request_latency_seconds:p95_5m",
               f"histogram_quantile(0.95, sum by ({by_model}, le) (rate({E2E_BUCKET}[5m])))"),
        Record("namespace_model:vllm_generation_tokens:rate5m", f"sum by ({by_model}) (rate({GENERATION_TOKENS}[5m]))"),
        Record("namespace_model_pod:vllm_kv_cache_usage:max", f"max by ({by_model}, pod) ({KV_CACHE})"),
    ]
    alerts = [a for m in served for a in _model_alerts(env, m)]
    return [RuleArea("vllm", recording, alerts)]


# ------------------------------------------------------------------------------ dashboard
# vLLM: the V1 engine's Prometheus logger (vllm-project/vllm vllm/v1/metrics/loggers.py,
# `PrometheusStatLogger`; labels model_name = --served-model-name, engine); the HPA's bounds and
# replicas from kube-state-metrics (kube_horizontalpodautoscaler_*; objects.py names each HPA
# after its model).
_M = 'model_name=~"$model"'
_HPA = 'horizontalpodautoscaler=~"$model"'
VLLM = Dashboard(
    "vllm", "vLLM serving",
    "Per served model: queue, latency, throughput, KV cache and the autoscaler's bounds.",
    variables=(Variable("model", "Model", "vllm:num_requests_waiting", "model_name"),),
    panels=(
        Panel("Requests waiting", (Query(f"sum by (model_name) (vllm:num_requests_waiting{{{_M}}})", "{{model_name}}"),),
              description="The queue the HPA scales on (per pod, through prometheus-adapter)."),
        Panel("Requests running", (Query(f"sum by (model_name) (vllm:num_requests_running{{{_M}}})", "{{model_name}}"),)),
        Panel("Time to first token, p95", (Query(
            f"histogram_quantile(0.95, sum by (le, model_name) (rate(vllm:time_to_first_token_seconds_bucket{{{_M}}}[5m])))",
            "{{model_name}}"),), unit="s"),
        Panel("End-to-end request latency, p95", (Query(
            f"histogram_quantile(0.95, sum by (le, model_name) (rate(vllm:e2e_request_latency_seconds_bucket{{{_M}}}[5m])))",
            "{{model_name}}"),), unit="s"),
        Panel("Generation tokens per second", (
            Query(f"sum by (model_name) (rate(vllm:generation_tokens_total{{{_M}}}[5m]))", "{{model_name}} generated"),
            Query(f"sum by (model_name) (rate(vllm:prompt_tokens_total{{{_M}}}[5m]))", "{{model_name}} prompt"),
        ), unit="short"),
        Panel("KV cache usage", (Query(f"max by (model_name, pod) (vllm:kv_cache_usage_perc{{{_M}}})",
                                       "{{model_name}} {{pod}}"),),
              unit="percentunit", description="1 = the KV cache is full: new requests wait or preempt."),
        Panel("Replicas vs HPA bounds", (
            Query(f"max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{{{_HPA}}})",
                  "{{horizontalpodautoscaler}} current"),
            Query(f"max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_desired_replicas{{{_HPA}}})",
                  "{{horizontalpodautoscaler}} desired"),
            Query(f"max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_min_replicas{{{_HPA}}})",
                  "{{horizontalpodautoscaler}} min"),
            Query(f"max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{{{_HPA}}})",
                  "{{horizontalpodautoscaler}} max"),
        )),
        Panel("Finished requests per second", (Query(
            f"sum by (model_name, finished_reason) (rate(vllm:request_success_total{{{_M}}}[5m]))",
            "{{model_name}} {{finished_reason}}"),), unit="reqps"),
    ),
)


def dashboards(env: Env) -> list[Dashboard]:
    return [VLLM]


# ------------------------------------------------------------------------------ custom metrics
def custom_metrics(env: Env) -> list[PodMetric]:
    """Each model's queue (its namespace and `model_name`), per pod: what its HPA scales on."""
    return [PodMetric(queue_metric(m.name), QUEUE_SERIES, (("namespace", namespace(env, m)), (MODEL_LABEL, m.name)))
            for m in sorted(models(env), key=lambda m: m.name)]
