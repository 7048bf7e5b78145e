"""Karpenter's monitoring contributions: its metric families, rules, the Karpenter dashboard.

- `rules(env)`: area `karpenter`: NodePool usage against its limits (recorded); alerts on a pool
  near a limit, nodes failing to launch or register, node claims timing out, the controller's
  metrics not scraped. Thresholds from `monitoring.alerts`.
- `dashboards(env)`: "Karpenter".
- `FACTS`: the controller's rows of the metrics facts table.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.dashboards import Dashboard, Panel, Query
from ...kit.metrics import SERVICE_MONITOR_LABELS, UNVERIFIED, Exporter, Metric
from ...kit.rules import Alert, Record, RuleArea

if TYPE_CHECKING:
    from ...config.models import Env

# Karpenter 1.14 (kubernetes-sigs/karpenter pkg/controllers/metrics/nodepool/controller.go:
# karpenter_nodepools_usage / _limit, labels nodepool + resource_type = the resource name lower-cased
# with - as _, so "nvidia.com/gpu" stays as it is; pkg/controllers/nodeclaim/lifecycle/liveness.go:
# karpenter_nodeclaims_disrupted_total{reason=launch_timeout|registration_timeout} and the NodePool
# condition NodeRegistrationHealthy; operator_nodepool_status_condition_count{name,type,status} from
# aws/karpenter-provider-aws website/content/en/preview/reference/metrics.md).
KARPENTER_REGISTRATION = "NodeRegistrationHealthy"

# ------------------------------------------------------------------------------ metrics facts rows
_KARP = f"kubernetes-sigs/karpenter pkg/controllers/metrics, karpenter.sh docs reference/metrics ({UNVERIFIED})"

FACTS = (
    Exporter("karpenter", "chart", "karpenter", "1.14.1", SERVICE_MONITOR_LABELS),
    Metric("karpenter_build_info", "karpenter", ("version", "goversion", "commit"), _KARP, False),
    Metric("karpenter_nodeclaims_created_total", "karpenter", ("nodepool", "reason", "capacity_type"), _KARP,
           False, "counter"),
    Metric("karpenter_nodeclaims_terminated_total", "karpenter", ("nodepool", "capacity_type"), _KARP, False,
           "counter"),
    Metric("karpenter_nodeclaims_disrupted_total", "karpenter", ("nodepool", "reason", "capacity_type"), _KARP,
           False, "counter"),
    Metric("karpenter_nodepools_usage", "karpenter", ("nodepool", "resource_type"), _KARP, False),
    Metric("karpenter_nodepools_limit", "karpenter", ("nodepool", "resource_type"), _KARP, False),
    Metric("karpenter_scheduler_queue_depth", "karpenter", ("controller",), _KARP, False),
    Metric("operator_nodepool_status_condition_count", "karpenter", ("name", "type", "status", "reason"),
           f"aws/karpenter-provider-aws website/content/en/preview/reference/metrics.md ({UNVERIFIED})", False),
)


# ------------------------------------------------------------------------------ rules
def rules(env: Env) -> list[RuleArea]:
    """Area `karpenter`: NodePool usage against its limits; pools near a limit, nodes failing to
    launch or register, claims timing out, the controller's metrics not scraped."""
    t = env.monitoring.alerts
    recording = [
        Record("nodepool_resource:karpenter_nodepools_usage:ratio",
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
    return [RuleArea("karpenter", recording, alerts)]


# ------------------------------------------------------------------------------ dashboard
# Karpenter 1.14: its controller metrics (karpenter.sh docs reference/metrics: nodeclaims and
# nodepools families), scraped through the chart's ServiceMonitor; pending pods from
# kube-state-metrics.
KARPENTER = Dashboard(
    "karpenter", "Karpenter",
    "Node claims launched and terminated per pool, pool usage against its limits, pods waiting for capacity.",
    panels=(
        Panel("Node claims created per hour", (Query(
            "sum by (nodepool) (increase(karpenter_nodeclaims_created_total[1h]))", "{{nodepool}}"),)),
        Panel("Node claims terminated per hour", (Query(
            "sum by (nodepool) (increase(karpenter_nodeclaims_terminated_total[1h]))", "{{nodepool}}"),)),
        Panel("Pool usage / limit", (Query(
            "sum by (nodepool, resource_type) (karpenter_nodepools_usage) / on (nodepool, resource_type) "
            "sum by (nodepool, resource_type) (karpenter_nodepools_limit)", "{{nodepool}} {{resource_type}}"),),
              unit="percentunit", description="1 = the NodePool's limits are reached: Karpenter launches nothing more."),
        Panel("Node claims disrupted per hour", (Query(
            "sum by (nodepool, reason) (increase(karpenter_nodeclaims_disrupted_total[1h]))", "{{nodepool}} {{reason}}"),)),
        Panel("Pending pods", (
            Query('sum by (namespace) (kube_pod_status_phase{phase="Pending"})', "{{namespace}}"),
            Query("sum(karpenter_scheduler_queue_depth)", "Karpenter scheduling queue"),
        ), width=24),
    ),
)


def dashboards(env: Env) -> list[Dashboard]:
    return [KARPENTER]
