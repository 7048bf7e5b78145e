"""Component `gpu-operator`: the NVIDIA GPU operator (pinned chart) on Karpenter's GPU nodes.

The nodes run the EKS-optimized AL2023 AMI (`versions.NODE_AMIS`); on NVIDIA instance types
Karpenter launches its NVIDIA variant, which already ships the kernel driver and the NVIDIA
container toolkit (containerd's default runtime is the nvidia runtime). So the operator runs
with `driver` and `toolkit` **disabled** -- a second driver or toolkit would fight the AMI's --
and provides what the AMI does not: the device plugin (advertises `nvidia.com/gpu`), GPU feature
discovery + NFD (node labels such as `nvidia.com/gpu.product`), DCGM metrics and, where the env
asks for it, the MIG manager.

Where operands run: every operand DaemonSet of the ClusterPolicy selects nodes labelled
`nvidia.com/gpu.deploy.<operand>=true`, which the operator sets only on nodes where NFD found an
NVIDIA PCI device (vendor 10de) -- i.e. only on GPU nodes; the ClusterPolicy has no extra
node-selector knob. Their tolerations (`daemonsets.tolerations`) and the NFD worker's tolerate
the GPU pool's `nvidia.com/gpu:NoSchedule` taint. The operator Deployment runs on the managed
system node group.

`operator.upgradeCRD` is **false**: Helm would run a pre-upgrade hook Job that `kubectl apply`s the
CRDs; under Argo CD that hook becomes a PreSync Job run on *every* sync (Argo CD doesn't tell
install from upgrade), while Argo CD already renders the chart with its `crds/` and applies them
on each sync. The Job would add a privileged-RBAC hook and a failure mode for nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import monitoring
from ...kit.component import HelmRelease
from ..node_pools import GPU_RESOURCE
from .sharing import device_plugin_values, mig_manager_values

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "gpu-operator"
RELEASE = "gpu-operator"
NAMESPACE = "gpu-operator"  # created by the `namespaces` component (privileged PSA, with a reason)
SERVICE_MONITOR_CRD = monitoring.SERVICE_MONITOR_CRD

TOLERATE_GPU_TAINT = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}


def _res(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict:
    """Requests and limits on every container the chart lets us size (platform rule)."""
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


_NFD_POD_SC = {"seccompProfile": {"type": "RuntimeDefault"}}


def values(env: Env) -> dict:
    g = env.compute.gpu
    device_plugin: dict = {"enabled": True, "resources": _res("50m", "64Mi", "200m", "256Mi")}
    if (dp := device_plugin_values(env)) is not None:
        device_plugin["config"] = dp
    mig_manager: dict = {"enabled": g.mig_manager, "resources": _res("50m", "128Mi", "200m", "512Mi")}
    if (mm := mig_manager_values(env)) is not None:
        mig_manager["config"] = mm
    return {
        "operator": {
            "upgradeCRD": False,  # see the module docstring: Argo CD applies the chart's CRDs itself
            # Merged with the chart's `kubernetes.io/os: linux`.
            "nodeSelector": dict(sorted(env.infrastructure.system_node_labels.items())),
            "resources": _res("200m", "128Mi", "500m", "512Mi"),
        },
        # The AL2023 NVIDIA AMI ships the driver and the container toolkit.
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "devicePlugin": device_plugin,
        "gfd": {"enabled": True, "resources": _res("50m", "64Mi", "200m", "256Mi")},
        # NFD's master/worker/gc come from the vendored subchart, whose defaults carry requests,
        # memory limits and a restricted container securityContext; we add CPU limits (requests
        # and memory limits as the subchart's defaults) and the RuntimeDefault seccomp profile the
        # pods lack (their pod securityContext is empty).
        "nfd": {"enabled": True},
        "node-feature-discovery": {
            "master": {"podSecurityContext": dict(_NFD_POD_SC), "resources": _res("100m", "128Mi", "1", "4Gi")},
            "worker": {"tolerations": [dict(TOLERATE_GPU_TAINT)], "podSecurityContext": dict(_NFD_POD_SC),
                       "resources": _res("5m", "64Mi", "500m", "512Mi")},
            "gc": {"podSecurityContext": dict(_NFD_POD_SC), "resources": _res("10m", "128Mi", "500m", "1Gi")},
        },
        "cdi": {"enabled": g.cdi},
        "mig": {"strategy": g.mig_strategy},
        "migManager": mig_manager,
        "validator": {"resources": _res("50m", "64Mi", "200m", "256Mi")},
        "dcgmExporter": {
            "enabled": g.dcgm_exporter,
            "resources": _res("100m", "512Mi", "500m", "1Gi"),
            # Labelled for the platform Prometheus's selector (kit/monitoring.py).
            "serviceMonitor": {"enabled": g.service_monitor, "interval": g.dcgm_interval,
                               "additionalLabels": monitoring.monitor_labels()},
        },
        "daemonsets": {"tolerations": [dict(TOLERATE_GPU_TAINT)]},
    }


def helm(env: Env) -> HelmRelease | None:
    g = env.compute.gpu
    if not g.enabled:
        return None
    return HelmRelease(chart="gpu-operator", release=RELEASE, namespace=NAMESPACE, values=values(env),
                       requires_crds=(SERVICE_MONITOR_CRD,) if g.service_monitor else ())
