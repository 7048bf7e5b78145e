"""The GPU operator's monitoring contributions: DCGM metric families, rules, the GPU dashboard.

- `rules(env)`: area `gpu` (when the env runs the DCGM exporter with its ServiceMonitor): GPU use
  per node and per pod holding a GPU, GPUs requested vs allocatable; alerts on a GPU held but idle,
  a nearly full framebuffer, hardware and program XID errors, heat. Thresholds from
  `monitoring.alerts`. With a MIG pool: use per MIG instance, and an alert on a slice held but idle.
- `dashboards(env)`: "GPUs (DCGM)", with a panel per MIG instance where the env has a MIG pool.

Shared GPUs as DCGM sees them: a time-sliced GPU is one physical GPU to DCGM -- its series
(utilization, framebuffer) are the whole GPU's, whichever of the pods sharing it runs, so per-pod
figures of a time-sliced GPU are the GPU's, not the pod's share. A MIG instance is reported on its
own: its series carry `GPU_I_ID` (the instance on the GPU) and `GPU_I_PROFILE` (e.g. 1g.10gb), its
framebuffer is the instance's, and the pod label names the pod holding that slice. NVML reports no
`DCGM_FI_DEV_GPU_UTIL` for a MIG instance; its use is the profiling field
`DCGM_FI_PROF_GR_ENGINE_ACTIVE` (ratio of time the instance's graphics engine is busy), which the
operator's collectors file enables (dcp-metrics-included.csv).
- `FACTS`: the dcgm-exporter rows of the metrics facts table.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ...kit.dashboards import Dashboard, Panel, Query, Variable
from ...kit.metrics import SERVICE_MONITOR_LABELS, UNVERIFIED, Exporter, Metric
from ...kit.rules import Alert, Record, RuleArea, any_of
from ..node_pools import gpu_placements
from .objects import values

if TYPE_CHECKING:
    from ...config.models import Env

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
DCGM_GR_ACTIVE = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"  # 0..1; the one utilization a MIG instance reports
# The labels dcgm-exporter adds to the series of a MIG instance (empty on a whole GPU).
MIG_INSTANCE, MIG_PROFILE = "GPU_I_ID", "GPU_I_PROFILE"
# The chart's dcgmExporter.serviceMonitor.honorLabels default (gpu-operator v26.7.0 values.yaml).
# With it false, Prometheus keeps the scrape target's namespace/pod (the exporter's own) and renames
# the exporter's workload labels to exported_namespace/exported_pod.
DCGM_HONOR_LABELS_DEFAULT = False
# XIDs that mean the GPU or its node needs attention, not the program that ran on it (NVIDIA's XID
# catalogue: 48 double-bit ECC, 63/64 row remapping, 74 NVLink, 79 fallen off the bus, 92 high
# single-bit ECC rate, 94/95 contained/uncontained ECC, 119/120 GSP RPC timeout/error).
HARDWARE_XIDS = (48, 63, 64, 74, 79, 92, 94, 95, 119, 120)
# kube-state-metrics v2 (chart 8.4.0 in kube-prometheus-stack 88.5.3), kubernetes/kube-state-metrics
# docs/metrics/workload/pod-metrics.md and internal/store/pod_test.go: extended resources are
# sanitized (nvidia.com/gpu -> nvidia_com_gpu).
KSM_GPU = 'resource="nvidia_com_gpu"'

# ------------------------------------------------------------------------------ metrics facts rows
_DCGM = (f"NVIDIA/dcgm-exporter etc/dcp-metrics-included.csv (counters), internal/pkg/transformation/const.go "
         f"(pod labels) ({UNVERIFIED})")
_DCGM_L = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", "exported_namespace",
           "exported_pod", "exported_container", MIG_INSTANCE, MIG_PROFILE)

FACTS = (
    # dcgm-exporter as the gpu-operator chart deploys it; honorLabels false renames the exporter's
    # own namespace/pod/container (the GPU's workload) to exported_* (dcgm_workload_labels).
    Exporter("dcgm-exporter", "chart", "gpu-operator", "v26.7.0", SERVICE_MONITOR_LABELS),
    *(Metric(n, "dcgm-exporter", _DCGM_L, _DCGM, False) for n in (
        "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_XID_ERRORS", DCGM_GR_ACTIVE)),
)


# ------------------------------------------------------------------------------ rules
def dcgm_workload_labels(env: Env) -> tuple[str, str]:
    """The labels DCGM series carry the namespace and pod of the pod holding the GPU under, as
    the gpu-operator's ServiceMonitor scrapes them (honorLabels decides)."""
    sm = values(env)["dcgmExporter"]["serviceMonitor"]
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
    # Imported here: vllm places its pods with this unit's GPU toleration, so it imports this unit.
    from .. import vllm

    ns_label, pod_label = dcgm_workload_labels(env)
    by_ns: dict[str, list[str]] = {}
    for m in vllm.models(env):
        by_ns.setdefault(vllm.namespace(env, m), []).append(m.name)
    if not by_ns:
        return None
    return " or ".join(f'{metric}{{{ns_label}="{ns}",{pod_label}=~"({any_of(names)})-[a-z0-9]+-[a-z0-9]+"}}'
                       for ns, names in sorted(by_ns.items()))


def _held(env: Env, metric: str) -> str:
    _, pod_label = dcgm_workload_labels(env)
    return f'{metric}{{{pod_label}!=""}}'


def has_mig(env: Env) -> bool:
    """Whether a GPU pool of the env partitions its GPUs with MIG (series per MIG instance exist)."""
    return any(p.mode == "mig" for p in gpu_placements(env).values())


def _mig_rules(env: Env) -> tuple[list[Record], list[Alert]]:
    """Use per MIG instance, and the idle-slice alert (GPUAllocatedButIdle reads DCGM_FI_DEV_GPU_UTIL,
    which a MIG instance never reports)."""
    t = env.monitoring.alerts
    ns_label, pod_label = dcgm_workload_labels(env)
    held = f'{DCGM_GR_ACTIVE}{{{pod_label}!="",{MIG_PROFILE}!=""}}'
    records = [Record("namespace_pod_mig:dcgm_gr_engine_active:avg",
                      f"avg by (namespace, pod, {MIG_PROFILE}) ({_as_workload(env, held)})")]
    idle = f"100 * avg_over_time({held}[10m]) < {t.gpu_idle_utilization_percent}"
    serving = _serving_gpus(env, DCGM_GR_ACTIVE)
    if serving:
        idle = f"({idle})\nunless on ({ns_label}, {pod_label}) ({serving})"
    alert = Alert(
        "MIGSliceAllocatedButIdle", _as_workload(env, idle), "warning",
        "A pod holds a MIG slice it does not use",
        f"MIG slice {{{{ $labels.{MIG_PROFILE} }}}} (instance {{{{ $labels.{MIG_INSTANCE} }}}} of GPU "
        f"{{{{ $labels.gpu }}}}) on {{{{ $labels.Hostname }}}} is held by {{{{ $labels.namespace }}}}/"
        f"{{{{ $labels.pod }}}} and its engine was busy {{{{ $value | printf \"%.1f\" }}}}% of the time "
        f"(below {t.gpu_idle_utilization_percent}%) for {t.gpu_idle_for}.",
        "the slice is reserved (nobody else can schedule on it) but the pod computes nothing on it; a MIG "
        "pool's slices are few, so one idle slice is a user waiting for a notebook. vLLM replicas are left out.",
        "which pod it is: a notebook left open (jupyterhub namespace, jupyter-<user>), a job waiting on data; "
        "its logs and its owner.",
        "ask the owner to stop it (notebooks: stop the server from the hub; the culler and the profile's "
        "walltime stop it eventually); for jobs, fix the input pipeline.",
        for_=t.gpu_idle_for)
    return records, [alert]


def rules(env: Env) -> list[RuleArea]:
    """Area `gpu`: GPU use per node and pod, GPUs requested vs allocatable; alerts on idle held GPUs,
    full framebuffers, XID errors and heat (vLLM replicas left out where their use is by design)."""
    g = env.compute.gpu
    if not (g.enabled and g.dcgm_exporter and g.service_monitor):
        return []
    t = env.monitoring.alerts
    ns_label, pod_label = dcgm_workload_labels(env)
    recording = [
        Record("node:dcgm_gpu_utilization:avg",
               f'avg by (node) (label_replace({DCGM_UTIL}, "node", "$1", "Hostname", "(.+)"))'),
        Record("namespace_pod:dcgm_gpu_utilization:avg",
               f"avg by (namespace, pod) ({_as_workload(env, _held(env, DCGM_UTIL))})"),
        Record("gpu:dcgm_framebuffer_used:ratio", f"{DCGM_FB_USED} / ({DCGM_FB_USED} + {DCGM_FB_FREE})"),
        # GPUs requested by running pods (what the device plugin handed out), per namespace.
        Record("namespace:kube_pod_gpu_requests:sum",
               f"sum by (namespace) (kube_pod_container_resource_requests{{{KSM_GPU}}}\n"
               f'  and on (namespace, pod) (kube_pod_status_phase{{phase="Running"}} == 1))'),
        Record("cluster:kube_pod_gpu_requests:sum", "sum(namespace:kube_pod_gpu_requests:sum)"),
        Record("cluster:kube_node_gpu_allocatable:sum", f"sum(kube_node_status_allocatable{{{KSM_GPU}}})"),
    ]
    serving_util, serving_fb = _serving_gpus(env, DCGM_UTIL), _serving_gpus(env, "gpu:dcgm_framebuffer_used:ratio")
    idle = f"avg_over_time({_held(env, DCGM_UTIL)}[10m]) < {t.gpu_idle_utilization_percent}"
    if serving_util:
        idle = f"({idle})\nunless on ({ns_label}, {pod_label}) ({serving_util})"
    fb = f'100 * gpu:dcgm_framebuffer_used:ratio{{{pod_label}!=""}} > {t.gpu_memory_used_percent}'
    if serving_fb:
        fb = f"({fb})\nunless on ({ns_label}, {pod_label}) ({serving_fb})"
    hardware = " or ".join(f"{DCGM_XID} == {x}" for x in HARDWARE_XIDS)
    mig_records, mig_alerts = _mig_rules(env) if has_mig(env) else ([], [])
    recording += mig_records
    alerts = mig_alerts + [
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
    return [RuleArea("gpu", recording, alerts)]


# ------------------------------------------------------------------------------ dashboard
# GPUs: dcgm-exporter's default counters (NVIDIA/dcgm-exporter etc/default-counters.csv; labels
# gpu, UUID, modelName, Hostname), scraped through the GPU operator's ServiceMonitor; GPU
# capacity and requests from kube-state-metrics (resource="nvidia_com_gpu").
_N = 'Hostname=~"$node"'
GPUS = Dashboard(
    "gpus", "GPUs (DCGM)",
    "Per node and GPU: utilization, framebuffer, temperature, power, XID errors; cluster GPU requests vs capacity.",
    variables=(Variable("node", "Node", "DCGM_FI_DEV_GPU_UTIL", "Hostname"),),
    panels=(
        Panel("GPU utilization", (Query(f"avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL{{{_N}}})", "{{Hostname}} gpu{{gpu}}"),),
              unit="percent", description=(
                  "Per physical GPU. A time-sliced GPU is shown once, whichever of the pods sharing it runs; "
                  "MIG-partitioned GPUs report no utilization here (see MIG slice utilization).")),
        Panel("Framebuffer used", (Query(
            f"max by (Hostname, gpu) (DCGM_FI_DEV_FB_USED{{{_N}}}) / (max by (Hostname, gpu) (DCGM_FI_DEV_FB_USED{{{_N}}}) "
            f"+ max by (Hostname, gpu) (DCGM_FI_DEV_FB_FREE{{{_N}}}))", "{{Hostname}} gpu{{gpu}}"),),
              unit="percentunit", description="vLLM preallocates the framebuffer by design (all of it unless gpu_memory_utilization caps it)."),
        Panel("GPU temperature", (Query(f"max by (Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP{{{_N}}})", "{{Hostname}} gpu{{gpu}}"),),
              unit="celsius"),
        Panel("Power draw", (Query(f"max by (Hostname, gpu) (DCGM_FI_DEV_POWER_USAGE{{{_N}}})", "{{Hostname}} gpu{{gpu}}"),),
              unit="watt"),
        Panel("Last XID error", (Query(f"max by (Hostname, gpu) (DCGM_FI_DEV_XID_ERRORS{{{_N}}})", "{{Hostname}} gpu{{gpu}}"),),
              description="The code of the last XID error a GPU reported (0 = none since the exporter started)."),
        Panel("GPUs requested vs allocatable", (
            Query('sum(kube_pod_container_resource_requests{resource="nvidia_com_gpu"} * on (namespace, pod) group_left() '
                  '(max by (namespace, pod) (kube_pod_status_phase{phase="Running"}) == 1))', "requested by running pods"),
            Query('sum(kube_node_status_allocatable{resource="nvidia_com_gpu"})', "allocatable"),
        )),
    ),
)


MIG_PANEL = Panel(
    "MIG slice utilization", (Query(
        f'100 * avg by (Hostname, gpu, {MIG_INSTANCE}, {MIG_PROFILE}) '
        f'({DCGM_GR_ACTIVE}{{{_N},{MIG_PROFILE}!=""}})',
        "{{Hostname}} gpu{{gpu}} " + f"{{{{{MIG_PROFILE}}}}} #{{{{{MIG_INSTANCE}}}}}"),),
    unit="percent", width=24, description=(
        "Per MIG instance (GPU_I_ID on the GPU, GPU_I_PROFILE its slice): the share of time its graphics engine "
        "was busy (DCGM_FI_PROF_GR_ENGINE_ACTIVE). The framebuffer panel shows MIG instances' own memory."))


def dashboards(env: Env) -> list[Dashboard]:
    """The GPU dashboard; with a MIG pool, one more panel per MIG instance."""
    if has_mig(env):
        return [dataclasses.replace(GPUS, panels=(*GPUS.panels, MIG_PANEL))]
    return [GPUS]
