"""Component `karpenter`: the self-managed Karpenter controller (pinned chart, IRSA).

This platform runs EKS *without* Auto Mode: Karpenter is installed from its Helm chart into
`kube-system`, authenticates with IRSA (the role comes from Terraform) and handles EC2
interruption events from the SQS queue Terraform created. The controller runs on the managed
node group (`infrastructure.system_node_labels`): it must never run on a node it launched
itself, which the chart's default affinity (`karpenter.sh/nodepool DoesNotExist`) also
guarantees -- we keep it (Helm merges our `nodeSelector` into the chart's and we set no
`affinity`, so the default stays whole).

What Karpenter launches (EC2NodeClass + NodePools) is the separate `node-pools` component: an
Argo CD Application whose source is a chart syncs only the chart, never `dist/` objects.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import monitoring
from ...kit.component import HelmRelease
from .. import node_pools

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "karpenter"
RELEASE = "karpenter"
NAMESPACE = "kube-system"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
SERVICE_MONITOR_CRD = monitoring.SERVICE_MONITOR_CRD


def values(env: Env) -> dict:
    k, infra = env.compute.karpenter, env.infrastructure
    settings: dict = {
        "clusterName": infra.cluster_name,  # the chart refuses to render without it
        "interruptionQueue": infra.karpenter_interruption_queue,
    }
    if node_pools.needs_node_overlay(node_pools.gpu_pools(env)):
        # ALPHA in 1.14: NodeOverlays (node-pools unit) add the MIG slices to the instance types
        # Karpenter simulates; without the gate it ignores them and never launches for a MIG pod.
        settings["featureGates"] = {"nodeOverlay": True}
    return {
        "settings": settings,
        "serviceAccount": {"annotations": {IRSA_ANNOTATION: infra.roles.karpenter}},
        "replicas": k.replicas,
        "logLevel": k.log_level,
        "controller": {"resources": k.resources.render()},
        # Merged with the chart's `kubernetes.io/os: linux`; the chart's affinity keeps it off
        # Karpenter nodes and spreads replicas over hosts and zones.
        "nodeSelector": dict(sorted(infra.system_node_labels.items())),
        # One replica may go at a time (node group upgrades); with replicas 1 a drain may evict it
        # and the Deployment reschedules it -- nodes keep running meanwhile.
        "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
        # Controller metrics (node claims, NodePool usage vs limits, scheduling queue) for the
        # platform Prometheus: the chart's ServiceMonitor, labelled for its selector.
        "serviceMonitor": {"enabled": env.monitoring.enabled, "additionalLabels": monitoring.monitor_labels()},
    }


def helm(env: Env) -> HelmRelease:
    return HelmRelease(chart="karpenter", release=RELEASE, namespace=NAMESPACE, values=values(env),
                       requires_crds=(SERVICE_MONITOR_CRD,) if env.monitoring.enabled else ())
