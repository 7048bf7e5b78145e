"""Component `prometheus-rules`: the platform's recording rules and alerts, from config.

One PrometheusRule per area (GPU, vLLM, JupyterHub, Airflow, Ray, Karpenter, workloads) in the
monitoring namespace, labelled so the kube-prometheus-stack Prometheus selects it
(`kit.monitoring.monitor_labels`). Each has a `recording` group (the series dashboards and
capacity reviews read) and an `alerts` group. Thresholds come from `monitoring.alerts`
(`AlertThresholds`); a served model's `slo` overrides the vLLM ones for that model. Nothing is
emitted when `monitoring.enabled` is false.

Generated from the same config as the objects they watch, so names can't drift: one set of vLLM
alerts per entry of `serving.models` (its namespace, `model_name`, HPA name and max replicas), one
Ray head check per team cluster, the namespaces the workload alerts cover. Every alert carries
`severity` and the annotations `summary`, `description`, `runbook` (what it means, what to check,
what to do) and `runbook_url` (the README section "Alerts and runbooks").

Metric names are the ones the exporters emit at the pinned versions; each family below names the
source it was checked against. kube-prometheus-stack's default rules stay in charge of what they
cover (KubePodCrashLooping, KubePersistentVolumeFillingUp, TargetDown, ...); the workload alerts
here cover what they miss, and say why next to the rule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...kit import monitoring, versions
from ...kit.meta import Obj, metadata
from .. import airflow, gpu_operator, jupyterhub, kuberay, vllm

if TYPE_CHECKING:
    from ...config.models import Env
    from ..vllm import ServedModel

NAME = "prometheus-rules"
PREFIX = "ml-platform"
README_ANCHOR = "alerts-and-runbooks"

# ------------------------------------------------------------------------------ metric families
# vLLM v0.34.0 (V1 engine), vllm-project/vllm vllm/v1/metrics/loggers.py (PrometheusStatLogger; checked
# against the release wheel by scripts/vllm_facts.py):
# gauges vllm:num_requests_waiting / vllm:num_requests_running / vllm:kv_cache_usage_perc (0..1,
# replaced vllm:gpu_cache_usage_perc), counters vllm:generation_tokens (exposed with _total),
# histograms vllm:time_to_first_token_seconds / vllm:e2e_request_latency_seconds; labels
# model_name (= --served-model-name) and engine. namespace/pod come from the ServiceMonitor.
VLLM_WAITING = monitoring.VLLM_QUEUE_SERIES
VLLM_RUNNING = monitoring.VLLM_RUNNING_SERIES
VLLM_KV_CACHE = "vllm:kv_cache_usage_perc"
VLLM_GENERATION_TOKENS = "vllm:generation_tokens_total"
VLLM_TTFT_BUCKET = "vllm:time_to_first_token_seconds_bucket"
VLLM_E2E_BUCKET = "vllm:e2e_request_latency_seconds_bucket"
MODEL = monitoring.VLLM_MODEL_LABEL

# DCGM exporter 4.6.0-4.8.3 (gpu-operator v26.7.0 values.yaml dcgmExporter.version). The operator
# starts it with DCGM_EXPORTER_COLLECTORS=/etc/dcgm-exporter/dcp-metrics-included.csv
# (NVIDIA/gpu-operator assets/state-dcgm-exporter/0800_daemonset.yaml); that file
# (NVIDIA/dcgm-exporter etc/dcp-metrics-included.csv) enables GPU_UTIL (%), FB_USED/FB_FREE (MiB),
# GPU_TEMP (C) and XID_ERRORS (gauge: the code of the last XID). Series labels: gpu, UUID,
# pci_bus_id, device, modelName, Hostname (the node); the Kubernetes mapping adds pod, namespace,
# container of the pod holding the GPU (NVIDIA/dcgm-exporter internal/pkg/transformation/const.go).
DCGM_UTIL = "DCGM_FI_DEV_GPU_UTIL"
DCGM_FB_USED = "DCGM_FI_DEV_FB_USED"
DCGM_FB_FREE = "DCGM_FI_DEV_FB_FREE"
DCGM_TEMP = "DCGM_FI_DEV_GPU_TEMP"
DCGM_XID = "DCGM_FI_DEV_XID_ERRORS"
# The chart's dcgmExporter.serviceMonitor.honorLabels default (gpu-operator v26.7.0 values.yaml).
# With it false, Prometheus keeps the scrape target's namespace/pod (the exporter's own) and renames
# the exporter's workload labels to exported_namespace/exported_pod.
DCGM_HONOR_LABELS_DEFAULT = False
# XIDs that mean the GPU or its node needs attention, not the program that ran on it (NVIDIA's XID
# catalogue: 48 double-bit ECC, 63/64 row remapping, 74 NVLink, 79 fallen off the bus, 92 high
# single-bit ECC rate, 94/95 contained/uncontained ECC, 119/120 GSP RPC timeout/error).
HARDWARE_XIDS = (48, 63, 64, 74, 79, 92, 94, 95, 119, 120)

# kube-state-metrics v2 (chart 8.4.0 in kube-prometheus-stack 88.5.3), kubernetes/kube-state-metrics
# docs/metrics/workload/{horizontalpodautoscaler,pod}-metrics.md and internal/store/pod_test.go:
# labels namespace + horizontalpodautoscaler; condition/status (true|false|unknown) on
# kube_horizontalpodautoscaler_status_condition; extended resources sanitized (nvidia_com_gpu).
KSM_HPA_CURRENT = "kube_horizontalpodautoscaler_status_current_replicas"
KSM_HPA_MAX = "kube_horizontalpodautoscaler_spec_max_replicas"
KSM_HPA_CONDITION = "kube_horizontalpodautoscaler_status_condition"
KSM_GPU = 'resource="nvidia_com_gpu"'

# Karpenter 1.14 (kubernetes-sigs/karpenter pkg/controllers/metrics/nodepool/controller.go:
# karpenter_nodepools_usage / _limit, labels nodepool + resource_type = the resource name lower-cased
# with - as _, so "nvidia.com/gpu" stays as it is; pkg/controllers/nodeclaim/lifecycle/liveness.go:
# karpenter_nodeclaims_disrupted_total{reason=launch_timeout|registration_timeout} and the NodePool
# condition NodeRegistrationHealthy; operator_nodepool_status_condition_count{name,type,status} from
# aws/karpenter-provider-aws website/content/en/preview/reference/metrics.md).
KARPENTER_REGISTRATION = "NodeRegistrationHealthy"

# JupyterHub 5.5 (jupyterhub/jupyterhub jupyterhub/metrics.py): histogram
# jupyterhub_server_spawn_duration_seconds{status=success|failure|already-pending|throttled|too-many-users},
# every status pre-created at 0 (so increase() sees the first failure).
JH_SPAWN_COUNT = "jupyterhub_server_spawn_duration_seconds_count"

# Airflow 3.2 through the chart 1.21.0 StatsD exporter (apache/airflow chart/files/statsd-mappings.yml):
# airflow.scheduler_heartbeat -> airflow_scheduler_heartbeat{type="counter"}; ti_failures has no
# mapping, so the exporter's default escaping makes it airflow_ti_failures (no dag label: Airflow's
# plain StatsD client sends no tags). The exporter serves the classic text format: no _total suffix.
AF_HEARTBEAT = "airflow_scheduler_heartbeat"
AF_TI_FAILURES = "airflow_ti_failures"
STATSD_TARGET = f"serviceMonitor/{airflow.NAMESPACE}/{airflow.STATSD_MONITOR}"


# ------------------------------------------------------------------------------ rule builders
@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    severity: str
    summary: str
    description: str
    means: str
    check: str
    do: str
    for_: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


def _num(x: float) -> str:
    """A threshold as PromQL and YAML spell it: 10 -> "10", 0.5 -> "0.5"."""
    return str(int(x)) if float(x).is_integer() else format(x, "g")


def _runbook_url(env: Env) -> str:
    """The README section "Alerts and runbooks" in the repository Argo CD syncs from."""
    url = env.gitops.repo_url
    if m := re.fullmatch(r"git@([^:]+):(.+)", url):
        url = f"https://{m[1]}/{m[2]}"
    url = re.sub(r"^ssh://(?:[^@/]+@)?", "https://", url)
    url = url.removesuffix(".git").rstrip("/")
    return f"{url}/blob/{env.gitops.revision}/README.md#{README_ANCHOR}"


def _alert(env: Env, a: Alert) -> dict:
    rule: dict = {"alert": a.name, "expr": a.expr}
    if a.for_:
        rule["for"] = a.for_
    rule["labels"] = {"severity": a.severity, **a.labels}
    rule["annotations"] = {
        "summary": a.summary,
        "description": a.description,
        "runbook": f"Means: {a.means}\nCheck: {a.check}\nDo: {a.do}",
        "runbook_url": _runbook_url(env),
    }
    return rule


def _record(name: str, expr: str) -> dict:
    return {"record": name, "expr": expr}


def _rule_object(env: Env, area: str, recording: list[dict], alerts: list[Alert]) -> Obj:
    groups = []
    if recording:
        groups.append({"name": f"{PREFIX}.{area}.recording", "rules": recording})
    if alerts:
        groups.append({"name": f"{PREFIX}.{area}.alerts", "rules": [_alert(env, a) for a in alerts]})
    return {
        "apiVersion": versions.crd("PrometheusRule").api_version, "kind": "PrometheusRule",
        "metadata": metadata(f"{PREFIX}-{area}", component=NAME, env=env.name,
                             namespace=env.namespaces.monitoring_namespace,
                             extra_labels=monitoring.monitor_labels()),
        "spec": {"groups": groups},
    }


def _sel(**matchers: str) -> str:
    """`{a="x",b="y"}` (equality matchers, in the given order)."""
    return "{" + ",".join(f'{k}="{v}"' for k, v in matchers.items()) + "}"


def _any_of(values: list[str]) -> str:
    """A regex matching exactly these (DNS-label) values."""
    return "|".join(sorted(set(values)))


# ------------------------------------------------------------------------------ GPU
def dcgm_workload_labels(env: Env) -> tuple[str, str]:
    """The labels DCGM series carry the namespace and pod of the pod holding the GPU under, as
    the gpu-operator's ServiceMonitor scrapes them (honorLabels decides)."""
    sm = gpu_operator.values(env)["dcgmExporter"]["serviceMonitor"]
    if sm.get("honorLabels", DCGM_HONOR_LABELS_DEFAULT):
        return "namespace", "pod"
    return "exported_namespace", "exported_pod"


def _as_workload(env: Env, expr: str) -> str:
    """`expr` over DCGM series with `namespace`/`pod` naming the workload that holds the GPU
    (where one does; a free GPU keeps the exporter's own)."""
    ns, pod = dcgm_workload_labels(env)
    if ns == "namespace":
        return expr
    return (f'label_replace(label_replace({expr}, "namespace", "$1", "{ns}", "(.+)"), '
            f'"pod", "$1", "{pod}", "(.+)")')


def _serving_gpus(env: Env, metric: str) -> str | None:
    """DCGM series of GPUs held by vLLM replicas (Deployment pods `<model>-<hash>-<suffix>` in the
    model's namespace): their framebuffer is full and their utilization follows traffic by design."""
    ns_label, pod_label = dcgm_workload_labels(env)
    by_ns: dict[str, list[str]] = {}
    for m in vllm.models(env):
        by_ns.setdefault(vllm.namespace(env, m), []).append(m.name)
    if not by_ns:
        return None
    return " or ".join(f'{metric}{{{ns_label}="{ns}",{pod_label}=~"({_any_of(names)})-[a-z0-9]+-[a-z0-9]+"}}'
                       for ns, names in sorted(by_ns.items()))


def _held(env: Env, metric: str) -> str:
    _, pod_label = dcgm_workload_labels(env)
    return f'{metric}{{{pod_label}!=""}}'


def _gpu(env: Env) -> Obj | None:
    g = env.compute.gpu
    if not (g.enabled and g.dcgm_exporter and g.service_monitor):
        return None
    t = env.monitoring.alerts
    ns_label, pod_label = dcgm_workload_labels(env)
    recording = [
        _record("node:dcgm_gpu_utilization:avg",
                f'avg by (node) (label_replace({DCGM_UTIL}, "node", "$1", "Hostname", "(.+)"))'),
        _record("namespace_pod:dcgm_gpu_utilization:avg",
                f"avg by (namespace, pod) ({_as_workload(env, _held(env, DCGM_UTIL))})"),
        _record("gpu:dcgm_framebuffer_used:ratio", f"{DCGM_FB_USED} / ({DCGM_FB_USED} + {DCGM_FB_FREE})"),
        # GPUs requested by running pods (what the device plugin handed out), per namespace.
        _record("namespace:kube_pod_gpu_requests:sum",
                f"sum by (namespace) (kube_pod_container_resource_requests{{{KSM_GPU}}}\n"
                f'  and on (namespace, pod) (kube_pod_status_phase{{phase="Running"}} == 1))'),
        _record("cluster:kube_pod_gpu_requests:sum", "sum(namespace:kube_pod_gpu_requests:sum)"),
        _record("cluster:kube_node_gpu_allocatable:sum", f"sum(kube_node_status_allocatable{{{KSM_GPU}}})"),
    ]
    serving_util, serving_fb = _serving_gpus(env, DCGM_UTIL), _serving_gpus(env, "gpu:dcgm_framebuffer_used:ratio")
    idle = f"avg_over_time({_held(env, DCGM_UTIL)}[10m]) < {t.gpu_idle_utilization_percent}"
    if serving_util:
        idle = f"({idle})\nunless on ({ns_label}, {pod_label}) ({serving_util})"
    fb = f'100 * gpu:dcgm_framebuffer_used:ratio{{{pod_label}!=""}} > {t.gpu_memory_used_percent}'
    if serving_fb:
        fb = f"({fb})\nunless on ({ns_label}, {pod_label}) ({serving_fb})"
    hardware = " or ".join(f"{DCGM_XID} == {x}" for x in HARDWARE_XIDS)
    alerts = [
        Alert("GPUAllocatedButIdle", _as_workload(env, idle), "warning",
              "A pod holds a GPU it does not use",
              f"GPU {{{{ $labels.gpu }}}} ({{{{ $labels.modelName }}}}) on {{{{ $labels.Hostname }}}} is held by "
              f"{{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} and averaged {{{{ $value | printf \"%.1f\" }}}}% "
              f"utilization (below {t.gpu_idle_utilization_percent}%) for {t.gpu_idle_for}.",
              "the GPU is reserved (nobody else can schedule on it, the node cannot be consolidated) but "
              "the pod computes nothing on it; vLLM replicas are left out (their use follows traffic).",
              "which pod it is: a notebook left open (jupyterhub namespace, jupyter-<user>), a training "
              "pod waiting on data or a deadlock, a Ray worker without tasks; its logs and its owner.",
              "ask the owner to stop it (notebooks: stop the server from the hub; the culler stops idle "
              "servers after cull.timeout_seconds); for jobs, fix the input pipeline or request fewer GPUs.",
              for_=t.gpu_idle_for),
        Alert("GPUFramebufferNearlyFull", _as_workload(env, fb), "warning",
              "GPU memory of a pod is nearly full",
              f"GPU {{{{ $labels.gpu }}}} on {{{{ $labels.Hostname }}}} held by {{{{ $labels.namespace }}}}/"
              f"{{{{ $labels.pod }}}} uses {{{{ $value | printf \"%.1f\" }}}}% of its framebuffer "
              f"(alert above {t.gpu_memory_used_percent}%).",
              "the next allocation of the program on this GPU fails with CUDA out of memory; vLLM replicas "
              "are left out (they preallocate gpu_memory_utilization of the framebuffer by design).",
              "the pod's logs for OOM errors, its batch size / sequence length, whether two processes "
              "share the GPU (nvidia-smi in the pod).",
              "reduce batch size or model size, enable activation checkpointing or mixed precision, or move "
              "the workload to an instance type with more GPU memory.",
              for_="15m"),
        Alert("GPUXidHardwareError", _as_workload(env, f"({hardware})"), "critical",
              "GPU reported a hardware XID error",
              f"GPU {{{{ $labels.gpu }}}} ({{{{ $labels.UUID }}}}) on node {{{{ $labels.Hostname }}}} reported "
              f"XID {{{{ $value }}}}.",
              "the driver reported an error of the GPU itself (ECC, row remapping, NVLink, fallen off the "
              "bus, GSP); work on it fails or computes garbage until the GPU is reset.",
              "the XID code against NVIDIA's XID catalogue, the node's kernel log (dmesg | grep -i xid), "
              "which pods run on the node.",
              "cordon and drain the node (kubectl cordon / drain), then delete its NodeClaim so Karpenter "
              "replaces the instance; if the same instance type keeps failing, open an AWS support case."),
        Alert("GPUXidError", _as_workload(env, f"({DCGM_XID} > 0 unless ({hardware}))"), "warning",
              "GPU reported an XID error",
              f"GPU {{{{ $labels.gpu }}}} on node {{{{ $labels.Hostname }}}} reported XID {{{{ $value }}}}.",
              "the driver reported an error while a program ran on the GPU; most such XIDs (13, 31, 43) "
              "are faults of the program (illegal memory access, kernel exception), not of the GPU. The "
              "exporter keeps showing the last XID until it restarts.",
              "which pod held the GPU at the time (DCGM series of the node, pod label), its logs around the "
              "time; whether different pods on the same GPU hit XIDs (then treat it as hardware).",
              "fix or restart the failing program; if XIDs repeat on one GPU across workloads, drain the node "
              "and delete its NodeClaim; restart the node's nvidia-dcgm-exporter pod to clear a handled XID."),
        Alert("GPUTemperatureHigh", _as_workload(env, f"{DCGM_TEMP} > {t.gpu_temperature_celsius}"), "warning",
              "GPU runs hot",
              f"GPU {{{{ $labels.gpu }}}} ({{{{ $labels.modelName }}}}) on {{{{ $labels.Hostname }}}} is at "
              f"{{{{ $value }}}} C (alert above {t.gpu_temperature_celsius} C).",
              "the GPU throttles its clocks to cool down: jobs on it slow down; sustained heat shortens its life.",
              "whether one GPU or the whole node is hot (a cooling fault of the instance), the power draw "
              "(DCGM_FI_DEV_POWER_USAGE).",
              "if one instance stays hot, drain it and delete its NodeClaim to get another host; otherwise "
              "nothing on the cluster side can cool an EC2 GPU.",
              for_="10m"),
    ]
    return _rule_object(env, "gpu", recording, alerts)


# ------------------------------------------------------------------------------ vLLM
def _model_alerts(env: Env, m: ServedModel) -> list[Alert]:
    t, a = env.monitoring.alerts, m.autoscaling
    ns = vllm.namespace(env, m)
    sel = _sel(namespace=ns, **{MODEL: m.name})
    hpa = _sel(namespace=ns, horizontalpodautoscaler=m.name)
    waiting_high = m.slo.waiting_per_replica_high or t.vllm_waiting_per_replica_high
    ttft = m.slo.ttft_p95_seconds or t.vllm_ttft_p95_seconds
    labels = {MODEL: m.name, "team": m.team}
    at_max = (f"max by (namespace, horizontalpodautoscaler) ({KSM_HPA_CURRENT}{hpa})\n"
              f"  >= max by (namespace, horizontalpodautoscaler) ({KSM_HPA_MAX}{hpa})")
    out = [
        Alert("VLLMQueueHighAtMaxReplicas",
              f"namespace_model:vllm_num_requests_waiting_per_replica:avg{sel} > {_num(waiting_high)}\n"
              f"and on (namespace) (\n  {at_max}\n)",
              "warning", f"Model {m.name} is saturated: requests queue at max replicas",
              f"{{{{ $value | printf \"%.1f\" }}}} requests wait per replica of {m.name} in {ns} (alert above "
              f"{_num(waiting_high)}) and its HPA is at maxReplicas {a.max_replicas}: clients wait longer and "
              f"longer for a first token.",
              f"the autoscaler cannot add replicas (it is at autoscaling.max_replicas {a.max_replicas}) while "
              f"the queue it steers on stays above target {_num(a.target_waiting_per_replica)} per replica.",
              f"the request rate and token throughput of {m.name} (Grafana, namespace_model:* series), "
              f"whether the team quota or the gpu NodePool limit would allow more replicas, whether a single "
              f"client floods the model.",
              f"raise serving.models[{m.name}].autoscaling.max_replicas (and the team's GPU quota / the gpu "
              f"pool's gpu_limit if needed) in environments/{env.name}.yaml, or rate-limit the client; "
              f"a larger GPU (min_gpu_memory_gib) gives more KV cache and batch per replica.",
              for_=t.vllm_for, labels=labels),
        Alert("VLLMTimeToFirstTokenHigh",
              f"namespace_model:vllm_time_to_first_token_seconds:p95_5m{sel} > {_num(ttft)}",
              "warning", f"Model {m.name} answers slowly (time to first token)",
              f"p95 time to first token of {m.name} in {ns} is {{{{ $value | printf \"%.2f\" }}}} s over 5 minutes "
              f"(SLO {_num(ttft)} s).",
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
        Alert("VLLMScalingMetricAbsent", f"absent({VLLM_WAITING}{sel})",
              "critical", f"No queue metric for model {m.name}: its autoscaler is blind",
              f"Prometheus has no {VLLM_WAITING} series of {m.name} in {ns}: the HPA {m.name} cannot read "
              f"{monitoring.queue_metric(m.name)} and will not scale.",
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
              f"HPA {ns}/{m.name} reports ScalingActive=False: it cannot get {monitoring.queue_metric(m.name)} "
              f"from the custom metrics API and keeps the current replica count.",
              "the custom metrics API (prometheus-adapter) does not serve the model's queue metric, so the "
              "model neither scales out under load nor back in.",
              f"kubectl -n {ns} describe hpa {m.name} (the condition's message); kubectl get apiservice "
              f"v1beta1.custom.metrics.k8s.io; the prometheus-adapter pods' logs; whether {VLLM_WAITING}"
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


def _vllm(env: Env) -> Obj | None:
    models = sorted(vllm.models(env), key=lambda m: m.name)
    if not models:
        return None
    by_model = f"namespace, {MODEL}"
    recording = [
        # The HPA's signal: waiting requests per pod (summed over engines), averaged over the
        # model's pods -- what an AverageValue Pods metric compares with its target.
        _record("namespace_model_pod:vllm_num_requests_waiting:sum", f"sum by ({by_model}, pod) ({VLLM_WAITING})"),
        _record("namespace_model:vllm_num_requests_waiting_per_replica:avg",
                f"avg by ({by_model}) (namespace_model_pod:vllm_num_requests_waiting:sum)"),
        _record("namespace_model:vllm_num_requests_running:sum", f"sum by ({by_model}) ({VLLM_RUNNING})"),
        _record("namespace_model:vllm_time_to_first_token_seconds:p95_5m",
                f"histogram_quantile(0.95, sum by ({by_model}, le) (rate({VLLM_TTFT_BUCKET}[5m])))"),
        _record("namespace_model:vllm_e2e_request_latency_seconds:p95_5m",
                f"histogram_quantile(0.95, sum by ({by_model}, le) (rate({VLLM_E2E_BUCKET}[5m])))"),
        _record("namespace_model:vllm_generation_tokens:rate5m", f"sum by ({by_model}) (rate({VLLM_GENERATION_TOKENS}[5m]))"),
        _record("namespace_model_pod:vllm_kv_cache_usage:max", f"max by ({by_model}, pod) ({VLLM_KV_CACHE})"),
    ]
    alerts = [a for m in models for a in _model_alerts(env, m)]
    return _rule_object(env, "vllm", recording, alerts)


# ------------------------------------------------------------------------------ JupyterHub
def _jupyterhub(env: Env) -> Obj | None:
    if not env.jupyterhub.enabled:
        return None
    t, ns = env.monitoring.alerts, jupyterhub.NAMESPACE
    failures = f'{JH_SPAWN_COUNT}{{namespace="{ns}",status="failure"}}'
    alerts = [
        # kube-state-metrics, not the hub's own /metrics: a dead hub serves no metrics.
        Alert("JupyterHubDown",
              f'kube_deployment_status_replicas_available{{namespace="{ns}",deployment=~"hub|proxy"}} < 1',
              "critical", "JupyterHub is down",
              f"Deployment {ns}/{{{{ $labels.deployment }}}} has no available replica: nobody can log in to "
              f"or reach notebooks at https://{env.host('platform')}/jupyter.",
              "the hub (logins, spawning) or the proxy (all notebook traffic) is not running; running "
              "notebook servers keep their state but are unreachable while the proxy is down.",
              f"kubectl -n {ns} get pods; the hub's logs (database migration, Keycloak/OIDC errors, its PVC "
              f"hub-db-dir); events of the pod (scheduling, image pull).",
              "fix the cause in the logs; a hub stuck on its SQLite PVC: check the PVC is bound and not full; "
              "Argo CD re-syncs the chart's objects if something was changed by hand.",
              for_=t.component_down_for),
        Alert("JupyterHubSpawnFailures",
              f"sum(increase({failures}[1h])) >= {t.jupyterhub_spawn_failures_per_hour}",
              "warning", "Notebook servers fail to start",
              f"{{{{ $value | printf \"%.0f\" }}}} notebook server spawns failed in the last hour "
              f"(alert at {t.jupyterhub_spawn_failures_per_hour}).",
              "users click Start and get an error: the pod did not come up within the start timeout or was refused.",
              f"the hub logs (kubectl -n {ns} logs deploy/hub) for the failing users and profiles; pending "
              f"jupyter-* pods and their events (GPU capacity, quota, image pull, PVC attach).",
              "GPU profiles: check the gpu NodePool (KarpenterNodePool* alerts) and the image; quota: raise or "
              "free it; a profile that always fails: fix it in jupyterhub.profiles.",
              labels={"namespace": ns}),
        Alert("JupyterHubMetricsAbsent", f"absent({failures})", "warning",
              "JupyterHub's metrics are not scraped",
              f"Prometheus has no {JH_SPAWN_COUNT} from {ns}: JupyterHubSpawnFailures cannot fire.",
              "the hub's /metrics is not scraped (no ServiceMonitor for the hub Service, or metrics need a token).",
              f"Prometheus targets for the {ns} namespace; the hub's ServiceMonitor (port 8081, path "
              f"/jupyter/hub/metrics) and hub.authenticatePrometheus.",
              "add or fix the hub's ServiceMonitor in components/jupyterhub.py and synth.",
              for_="30m", labels={"namespace": ns}),
    ]
    return _rule_object(env, "jupyterhub", [], alerts)


# ------------------------------------------------------------------------------ Airflow
def _airflow(env: Env) -> Obj | None:
    a = env.airflow
    if not (a.enabled and a.service_monitor):
        return None
    t, ns = env.monitoring.alerts, airflow.NAMESPACE
    alerts = [
        Alert("AirflowSchedulerHeartbeatMissing",
              f'(sum(rate({AF_HEARTBEAT}{{namespace="{ns}"}}[5m])) or vector(0)) == 0',
              "critical", "Airflow scheduler is not heartbeating",
              f"No scheduler heartbeat reached the StatsD exporter in {ns} for {t.airflow_heartbeat_missing_for}: "
              f"no task is being scheduled.",
              "the scheduler is down, hung, or cannot reach its metadata database (or its StatsD metrics stopped).",
              f"kubectl -n {ns} get pods -l component=scheduler; its logs (database connection, DAG parsing "
              f"errors); the statsd pod and Prometheus target {STATSD_TARGET}.",
              "restart a hung scheduler (kubectl rollout restart); fix database connectivity (RDS, the "
              "metadata Secret); if only metrics stopped, fix the StatsD exporter/ServiceMonitor.",
              for_=t.airflow_heartbeat_missing_for, labels={"namespace": ns}),
        Alert("AirflowTaskFailures",
              f'sum(increase({AF_TI_FAILURES}{{namespace="{ns}"}}[1h])) >= {t.airflow_task_failures_per_hour}',
              "warning", "Airflow tasks are failing",
              f"{{{{ $value | printf \"%.0f\" }}}} task instances failed in the last hour "
              f"(alert at {t.airflow_task_failures_per_hour}).",
              "DAG tasks fail more than usual: a dependency (database, S3, an API) is broken, or a DAG change "
              "broke tasks.",
              f"https://{env.host('platform')}/airflow -> Browse -> Task Instances, filter state failed: which "
              f"DAGs and tasks, their logs; the task pods' events (OOMKilled, image pull).",
              "fix the failing dependency or DAG; if task pods are OOMKilled or evicted, raise their "
              "resources in the DAG's executor_config.",
              labels={"namespace": ns}),
    ]
    return _rule_object(env, "airflow", [], alerts)


# ------------------------------------------------------------------------------ Ray
def _ray(env: Env) -> Obj | None:
    r = env.ray
    if not (r.enabled and r.clusters):
        return None
    t = env.monitoring.alerts
    alerts = []
    for team in sorted(r.clusters):
        ns, cluster = kuberay.team_namespace(env, team), kuberay.cluster_name(team)
        # A dead or deleted head serves no metrics of its own (and drops out of any Ray scrape
        # target list): kube-state-metrics' view of the head container decides, so a missing head
        # fires too. KubeRay names the head <cluster>-head-<5 random> (ray-project/kuberay
        # ray-operator/controllers/ray/utils: PodGenerateName; <cluster>-head with
        # ENABLE_DETERMINISTIC_HEAD_POD_NAME); the container is ours (components/kuberay.py).
        ready = (f'kube_pod_container_status_ready{{namespace="{ns}",container="ray-head",'
                 f'pod=~"{cluster}-head(-[a-z0-9]{{5}})?"}}')
        alerts.append(Alert(
            "RayHeadDown", f"absent({ready} == 1)", "critical", f"Ray head of team {team} is down",
            f"The head of RayCluster {ns}/{cluster} has no ready container: team {team}'s jobs, "
            f"clients and dashboard (https://{env.ingress.hosts.ray}-{team}.{env.domain}) do not work.",
            "the GCS and dashboard run on the head: without it workers cannot get tasks"
            + (" (the GCS state survives in Redis)" if r.clusters[team].gcs_fault_tolerance else
               "; without GCS fault tolerance, running jobs are lost") + ".",
            f"kubectl -n {ns} get raycluster {cluster} -o yaml (status, conditions); kubectl -n {ns} get pods "
            f"-l ray.io/cluster={cluster},ray.io/node-type=head; the head's events and logs (OOMKilled? Redis "
            f"unreachable? Volcano queue team-{team} full?).",
            "fix the cause; KubeRay recreates a deleted head. An OOMKilled head needs more memory in "
            f"ray.clusters.{team}.head; a head Pending on the queue needs quota.",
            for_=t.component_down_for, labels={"namespace": ns, "ray_cluster": cluster, "team": team}))
    return _rule_object(env, "ray", [], alerts)


# ------------------------------------------------------------------------------ Karpenter
def _karpenter(env: Env) -> Obj:
    t = env.monitoring.alerts
    recording = [
        _record("nodepool_resource:karpenter_nodepools_usage:ratio",
                "karpenter_nodepools_usage / (karpenter_nodepools_limit > 0)"),
    ]
    alerts = [
        Alert("KarpenterNodePoolNearLimit",
              f"100 * nodepool_resource:karpenter_nodepools_usage:ratio > {t.karpenter_pool_usage_percent}",
              "warning", "A NodePool is close to its limit",
              f"NodePool {{{{ $labels.nodepool }}}} uses {{{{ $value | printf \"%.0f\" }}}}% of its "
              f"{{{{ $labels.resource_type }}}} limit (alert above {t.karpenter_pool_usage_percent}%).",
              "Karpenter launches no node that would cross the limit: pods needing a new node (GPU pods, "
              "vLLM replicas the HPA adds) stay Pending.",
              "kubectl get nodepool <name> -o yaml (spec.limits, status.resources); pending pods "
              "(kubectl get pods -A --field-selector=status.phase=Pending) and their events.",
              "raise the limit (compute.karpenter.default_pool / gpu_pool cpu_limit, memory_limit, gpu_limit) "
              "if the spend is intended, or find what holds the capacity (idle GPUs: GPUAllocatedButIdle).",
              for_="15m"),
        Alert("KarpenterNodeRegistrationUnhealthy",
              f'max by (name, reason) (operator_nodepool_status_condition_count{{type="{KARPENTER_REGISTRATION}",'
              f'status="False"}}) > 0',
              "warning", "Nodes of a NodePool fail to launch or register",
              f"NodePool {{{{ $labels.name }}}} has {KARPENTER_REGISTRATION}=False (reason "
              f"{{{{ $labels.reason }}}}): its recent nodes did not launch or did not join the cluster.",
              "Karpenter keeps launching instances that never become nodes: capacity for Pending pods never "
              "arrives and EC2 time is wasted.",
              "kubectl describe nodepool <name> and kubectl get nodeclaims (conditions Launched/Registered and "
              "their messages); the EC2NodeClass status (AMI, subnets, security groups, instance profile); "
              "the karpenter controller logs.",
              "fix the launch error (IAM instance profile, subnet IPs, AMI alias, capacity of the instance "
              "types); a node that boots but never registers: check the AMI's bootstrap and the cluster's "
              "access entries for the node role.",
              for_="10m"),
        Alert("KarpenterNodeClaimsTimingOut",
              "sum by (nodepool, reason) (increase(karpenter_nodeclaims_disrupted_total"
              '{reason=~"launch_timeout|registration_timeout"}[1h])) > 0',
              "warning", "Karpenter gave up on node claims",
              "Karpenter deleted {{ $value | printf \"%.0f\" }} node claims of NodePool {{ $labels.nodepool }} in "
              "the last hour after {{ $labels.reason }} (launch: 5 min, registration: 15 min).",
              "instances were requested but did not launch or never joined the cluster; Karpenter retries, "
              "pods wait meanwhile.",
              "as for KarpenterNodeRegistrationUnhealthy: NodeClaim conditions, EC2NodeClass status, "
              "controller logs, EC2 console for the instances' state and console output.",
              "fix the launch or bootstrap error; repeated launch timeouts on one instance type: remove it "
              "(instance_families / instance_sizes) or allow more types."),
        Alert("KarpenterMetricsAbsent", "absent(karpenter_build_info)", "warning",
              "Karpenter's metrics are not scraped",
              "Prometheus has no Karpenter metrics: the NodePool alerts cannot fire.",
              "the Karpenter controller is down, or its metrics endpoint is not scraped (the chart's "
              "serviceMonitor.enabled is off by default).",
              "kubectl -n kube-system get pods -l app.kubernetes.io/name=karpenter; Prometheus targets "
              "for kube-system/karpenter.",
              "enable the chart's ServiceMonitor (with the Prometheus selector labels) in "
              "components/karpenter.py, or restore the controller.",
              for_="30m"),
    ]
    return _rule_object(env, "karpenter", recording, alerts)


# ------------------------------------------------------------------------------ workloads
def platform_namespaces(env: Env) -> list[str]:
    """Namespaces the platform owns: platform components, monitoring, every team."""
    names = {p.name for p in env.namespaces.platform} | {env.namespaces.monitoring_namespace}
    return sorted(names | {env.team_namespace(team) for team in env.teams})


def _workloads(env: Env) -> Obj:
    t = env.monitoring.alerts
    ns = f'namespace=~"{_any_of(platform_namespaces(env))}"'
    restarts = f"kube_pod_container_status_restarts_total{{{ns}}}"
    alerts = [
        # kube-prometheus-stack's KubePersistentVolumeFillingUp warns only when a linear fill
        # prediction reaches 0 within 4 days (and pages at 3% left). Notebook homes, model caches
        # and Prometheus' own volume grow in jumps (a dataset download, a model pull): this warns at
        # a fixed, per-env level, early enough to expand the volume (gp3 is expandable).
        Alert("PersistentVolumeNearlyFull",
              f"100 * kubelet_volume_stats_used_bytes{{{ns}}} / kubelet_volume_stats_capacity_bytes{{{ns}}}"
              f" > {t.pvc_used_percent}",
              "warning", "A volume is nearly full",
              f"PVC {{{{ $labels.namespace }}}}/{{{{ $labels.persistentvolumeclaim }}}} is "
              f"{{{{ $value | printf \"%.0f\" }}}}% full (alert above {t.pvc_used_percent}%).",
              "the next large write (checkpoint, dataset, model, TSDB block) fails with no space left.",
              "what fills it (kubectl exec into the pod, du -sh); whether it is a notebook home "
              "(claim-<user>), the hub database, Prometheus or a team volume.",
              "delete what is not needed, or expand the PVC (kubectl edit pvc: raise "
              "spec.resources.requests.storage; gp3 expands online) and raise the size in config so the next "
              "volume of its kind starts bigger.",
              for_="15m"),
        # kube-prometheus-stack's KubePodCrashLooping needs the container in CrashLoopBackOff at least
        # once every 5 minutes for 15 minutes. A model server that loads for 20 minutes and is then
        # OOMKilled, or a notebook that dies every half hour, spends most of its time Running and never
        # trips it; counting restarts over a long window does.
        Alert("PodRestartingRepeatedly",
              f"max_over_time({restarts}[{t.pod_restarts_window}]) - min_over_time({restarts}[{t.pod_restarts_window}])"
              f" >= {t.pod_restarts}",
              "warning", "A container keeps restarting",
              f"Container {{{{ $labels.container }}}} of {{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} restarted "
              f"{{{{ $value | printf \"%.0f\" }}}} times in {t.pod_restarts_window}.",
              "the container exits or is killed again and again, slowly enough that it is not (yet) in "
              "CrashLoopBackOff: its work is lost every time (model loads, notebook kernels, jobs).",
              "kubectl describe pod (Last State: reason OOMKilled? exit code?) and kubectl logs --previous; "
              "liveness probe failures in the events.",
              "OOMKilled: raise the memory limit (model servers: serving.models[].resources; notebooks: the "
              "profile's mem_limit); a failing liveness probe during startup: give it a startup probe / longer "
              "timeout; an application error: fix it from the previous logs."),
    ]
    return _rule_object(env, "workloads", [], alerts)


# ------------------------------------------------------------------------------ component
def build(env: Env) -> list[Obj]:
    if not env.monitoring.enabled:
        return []
    objs = [_gpu(env), _vllm(env), _jupyterhub(env), _airflow(env), _ray(env), _karpenter(env), _workloads(env)]
    return [o for o in objs if o is not None]
