"""kube-prometheus-stack's monitoring contributions beyond its own default rules.

- `rules(env)`: area `workloads`: alerts about Kubernetes workloads in the platform's namespaces
  (`platform_namespaces`) that the chart's default rules (KubePodCrashLooping,
  KubePersistentVolumeFillingUp, ...) miss; each rule says why next to it. They live here because
  they read what this unit's exporters emit (kubelet volume stats, kube-state-metrics) and
  complement the default rules this unit switches on and off (`objects.values`).
- `FACTS`: the rows of the exporters this unit runs (kube-state-metrics, the kubelet scrape,
  Prometheus' own `up`) in the metrics facts table.

The dashboards this unit ships come from every unit's `dashboards` (kit/dashboards.py collects).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.metrics import SERVICE_MONITOR_LABELS, UNVERIFIED, Exporter, Metric
from ...kit.rules import Alert, RuleArea, any_of

if TYPE_CHECKING:
    from ...config.models import Env

# ------------------------------------------------------------------------------ metrics facts rows
_KSM = f"kubernetes/kube-state-metrics docs/metrics/workload/*-metrics.md ({UNVERIFIED})"
_HPA = ("namespace", "horizontalpodautoscaler")

FACTS = (
    Exporter("kube-state-metrics", "chart", "kube-prometheus-stack", "88.5.3", SERVICE_MONITOR_LABELS,
             chart_version=True),
    Exporter("kubelet", "chart", "kube-prometheus-stack", "88.5.3", SERVICE_MONITOR_LABELS + ("node", "metrics_path"),
             chart_version=True),
    Exporter("prometheus", "chart", "kube-prometheus-stack", "88.5.3", (), chart_version=True),
    # kube-state-metrics (scraped with honorLabels: namespace/pod are the object's)
    Metric("kube_deployment_status_replicas_available", "kube-state-metrics", ("namespace", "deployment"), _KSM, False),
    Metric("kube_horizontalpodautoscaler_spec_max_replicas", "kube-state-metrics", _HPA, _KSM, False),
    Metric("kube_horizontalpodautoscaler_spec_min_replicas", "kube-state-metrics", _HPA, _KSM, False),
    Metric("kube_horizontalpodautoscaler_status_current_replicas", "kube-state-metrics", _HPA, _KSM, False),
    Metric("kube_horizontalpodautoscaler_status_desired_replicas", "kube-state-metrics", _HPA, _KSM, False),
    Metric("kube_horizontalpodautoscaler_status_condition", "kube-state-metrics", _HPA + ("condition", "status"),
           _KSM, False),
    Metric("kube_node_status_allocatable", "kube-state-metrics", ("node", "resource", "unit"), _KSM, False),
    Metric("kube_pod_container_resource_requests", "kube-state-metrics",
           ("namespace", "pod", "uid", "container", "node", "resource", "unit"), _KSM, False),
    Metric("kube_pod_container_status_ready", "kube-state-metrics", ("namespace", "pod", "uid", "container"),
           _KSM, False),
    Metric("kube_pod_container_status_restarts_total", "kube-state-metrics",
           ("namespace", "pod", "uid", "container"), _KSM, False, "counter"),
    Metric("kube_pod_status_phase", "kube-state-metrics", ("namespace", "pod", "uid", "phase"), _KSM, False),
    # kubelet
    *(Metric(n, "kubelet", ("namespace", "persistentvolumeclaim"),
             f"kubernetes/kubernetes pkg/kubelet/metrics/collectors/volume_stats.go ({UNVERIFIED})", False)
      for n in ("kubelet_volume_stats_used_bytes", "kubelet_volume_stats_capacity_bytes")),
    # Prometheus itself: `up` carries the target labels of every scrape target.
    Metric("up", "prometheus", (), f"prometheus/prometheus docs/concepts/jobs_instances.md ({UNVERIFIED})", False,
           every_target=True),
)


# ------------------------------------------------------------------------------ rules
def platform_namespaces(env: Env) -> list[str]:
    """Namespaces the platform owns: platform components, monitoring, every team."""
    names = {p.name for p in env.namespaces.platform} | {env.namespaces.monitoring_namespace}
    return sorted(names | {env.team_namespace(team) for team in env.teams})


def rules(env: Env) -> list[RuleArea]:
    """Area `workloads`: volumes nearly full and slow crash loops in the platform's namespaces."""
    t = env.monitoring.alerts
    ns = f'namespace=~"{any_of(platform_namespaces(env))}"'
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
    return [RuleArea("workloads", (), alerts)]
