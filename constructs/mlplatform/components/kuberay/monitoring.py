"""KubeRay's monitoring contributions: Ray's metric families, rules, the Ray dashboard.

- `rules(env)`: area `ray` (when Ray has team clusters): `RayHeadDown` per team cluster, judged on
  kube-state-metrics (a dead head serves no metrics of its own).
- `dashboards(env)`: "Ray clusters".
- `FACTS`: the rows of Ray's metrics agent in the metrics facts table.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.dashboards import Dashboard, Panel, Query, Variable
from ...kit.metrics import POD_MONITOR_LABELS, UNVERIFIED, Exporter, Metric
from ...kit.rules import Alert, RuleArea
from .names import cluster_name, team_namespace

if TYPE_CHECKING:
    from ...config.models import Env

# ------------------------------------------------------------------------------ metrics facts rows
_RAY = f"ray-project/ray python/ray/dashboard/modules/reporter/reporter_agent.py METRICS_GAUGES ({UNVERIFIED})"
_RAY_NODE = ("ip", "SessionName")

FACTS = (
    # Ray's metrics agent; the PodMonitor's podTargetLabels add ray_io_cluster / ray_io_node_type.
    Exporter("ray", "image", "ray", "2.52.0", POD_MONITOR_LABELS + ("ray_io_cluster", "ray_io_node_type")),
    *(Metric(n, "ray", _RAY_NODE, _RAY, False)
      for n in ("ray_node_cpu_utilization", "ray_node_mem_used", "ray_node_mem_total")),
    Metric("ray_node_gpus_utilization", "ray", _RAY_NODE + ("GpuIndex", "GpuDeviceName"), _RAY, False),
    Metric("ray_tasks", "ray", ("State", "Name", "IsRetry", "Source"),
           f"ray-project/ray core worker task/actor state metrics ({UNVERIFIED})", False),
    Metric("ray_actors", "ray", ("State", "Name", "Source"),
           f"ray-project/ray core worker task/actor state metrics ({UNVERIFIED})", False),
)


# ------------------------------------------------------------------------------ rules
def rules(env: Env) -> list[RuleArea]:
    """Area `ray`: the head of each team's Ray cluster down or missing."""
    r = env.ray
    if not (r.enabled and r.clusters):
        return []
    t = env.monitoring.alerts
    alerts = []
    for team in sorted(r.clusters):
        ns, cluster = team_namespace(env, team), cluster_name(team)
        # A dead or deleted head serves no metrics of its own (and drops out of any Ray scrape
        # target list): kube-state-metrics' view of the head container decides, so a missing head
        # fires too. KubeRay names the head <cluster>-head-<5 random> (ray-project/kuberay
        # ray-operator/controllers/ray/utils: PodGenerateName; <cluster>-head with
        # ENABLE_DETERMINISTIC_HEAD_POD_NAME); the container is ours (clusters.py).
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
    return [RuleArea("ray", (), alerts)]


# ------------------------------------------------------------------------------ dashboard
# Ray 2.52: the metrics agent on every Ray node (port `metrics`, which KubeRay adds to every Ray
# container; ray-project/ray python/ray/dashboard/modules/reporter/reporter_agent.py
# METRICS_GAUGES, exported with the `ray_` prefix; ray_tasks/ray_actors by State from the core
# workers), scraped by objects.py's PodMonitor, whose podTargetLabels copy KubeRay's
# pod labels ray.io/cluster and ray.io/node-type to ray_io_cluster / ray_io_node_type.
_R = 'ray_io_cluster=~"$cluster"'
RAY = Dashboard(
    "ray", "Ray clusters",
    "Per team Ray cluster: head and worker nodes up, node CPU/memory/GPU, tasks and actors.",
    variables=(Variable("cluster", "Cluster", "ray_node_cpu_utilization", "ray_io_cluster"),),
    panels=(
        Panel("Ray nodes up", (Query(
            f'sum by (namespace, ray_io_cluster, ray_io_node_type) (up{{ray_io_node_type=~"head|worker",{_R}}})',
            "{{namespace}} {{ray_io_cluster}} {{ray_io_node_type}}"),),
              description="Scrape targets answering: the head and each worker pod of a cluster."),
        Panel("Node CPU utilization", (Query(f"avg by (ray_io_cluster, pod) (ray_node_cpu_utilization{{{_R}}})",
                                             "{{ray_io_cluster}} {{pod}}"),), unit="percent"),
        Panel("Node memory used", (Query(
            f"sum by (ray_io_cluster, pod) (ray_node_mem_used{{{_R}}}) / sum by (ray_io_cluster, pod) (ray_node_mem_total{{{_R}}})",
            "{{ray_io_cluster}} {{pod}}"),), unit="percentunit"),
        Panel("Node GPU utilization", (Query(f"avg by (ray_io_cluster, pod) (ray_node_gpus_utilization{{{_R}}})",
                                             "{{ray_io_cluster}} {{pod}}"),), unit="percent"),
        Panel("Tasks by state", (Query(f"sum by (ray_io_cluster, State) (ray_tasks{{{_R}}})", "{{ray_io_cluster}} {{State}}"),)),
        Panel("Actors by state", (Query(f"sum by (ray_io_cluster, State) (ray_actors{{{_R}}})", "{{ray_io_cluster}} {{State}}"),)),
    ),
)


def dashboards(env: Env) -> list[Dashboard]:
    return [RAY]
