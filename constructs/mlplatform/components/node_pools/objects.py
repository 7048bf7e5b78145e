"""Component `node-pools`: what Karpenter may launch -- one EC2NodeClass and two NodePools.

- `EC2NodeClass/default`: the pinned EKS-optimized AL2023 AMI (`versions.NODE_AMIS`; on NVIDIA
  instance types Karpenter picks the AMI's NVIDIA variant, driver and container toolkit
  included), the node IAM role and the subnets / security group Terraform tagged, an
  encrypted gp3 root volume, and IMDSv2 with a hop limit of 1 so pods cannot borrow the node's
  role (workloads use IRSA).
- `NodePool/default`: general-purpose CPU instances (c/m/r), no taint.
- `NodePool/gpu`: NVIDIA instances (g/p), tainted `nvidia.com/gpu:NoSchedule`, limited in
  CPU, memory and `nvidia.com/gpu` (the cost ceiling of the env).
- `NodePool/<name>` for each of `gpu_pools`: further GPU pools, e.g. time-sliced or MIG GPUs for
  notebooks next to whole GPUs for serving. A shared pool's nodes carry the labels that select
  their device-plugin / MIG-manager config and a `platform.mlops.io/gpu-sharing` taint
  (`sharing.py`).
- `NodeOverlay/<pool>-<n>gpu` for each MIG pool: the MIG slices its nodes will advertise,
  so Karpenter launches nodes for pods asking them (`overlays.py`).

Karpenter v1 only (`karpenter.sh/v1`, `karpenter.k8s.aws/v1`). The book's listing 3.3 put
`limits`, `disruption` and `weight` under `spec.template.spec`; they belong under `spec` (the
strict CRD validation rejects the book's shape). `expireAfter` lives in `spec.template.spec`.
Cluster-scoped: no namespace. Their CRDs come with the `karpenter` chart, so this Application
syncs after it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import versions
from ...kit.meta import Obj, metadata
from .config import DisruptionBudget, GpuNodePoolConfig, NodePoolConfig
from .overlays import node_overlays
from .sharing import node_labels, sharing_taint

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "node-pools"
NODE_CLASS = "default"
DEFAULT_POOL = "default"
GPU_POOL = "gpu"
POOL_LABEL = "platform.mlops.io/node-pool"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT = {"key": GPU_RESOURCE, "effect": "NoSchedule"}
ROOT_DEVICE = "/dev/xvda"  # AL2023 EKS AMIs
Pool = NodePoolConfig | GpuNodePoolConfig


def _api(kind: str, group: str) -> str:
    return versions.crd(kind, group).api_version


def node_class(env: Env) -> Obj:
    k, infra = env.compute.karpenter, env.infrastructure
    tags = {
        "platform.mlops.io/env": env.name,
        "platform.mlops.io/cluster": infra.cluster_name,
        "app.kubernetes.io/managed-by": "karpenter",
        **k.node_tags,
    }
    return {
        "apiVersion": _api("EC2NodeClass", "karpenter.k8s.aws"),
        "kind": "EC2NodeClass",
        "metadata": metadata(NODE_CLASS, component=NAME, env=env.name),
        "spec": {
            "role": infra.karpenter_node_role,
            "amiSelectorTerms": [{"alias": versions.NODE_AMIS["al2023"]}],
            "subnetSelectorTerms": [{"tags": dict(sorted(infra.private_subnet_tags.items()))}],
            "securityGroupSelectorTerms": [{"tags": dict(sorted(infra.node_security_group_tags.items()))}],
            "blockDeviceMappings": [{
                "deviceName": ROOT_DEVICE,
                "rootVolume": True,
                "ebs": {"volumeSize": f"{k.root_volume_gib}Gi", "volumeType": "gp3", "encrypted": True,
                        "deleteOnTermination": True},
            }],
            # IMDSv2 only, and a hop limit of 1: containers (one hop further) can't reach it.
            "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled",
                                "httpPutResponseHopLimit": 1, "httpTokens": "required"},
            "tags": dict(sorted(tags.items())),
        },
    }


def _requirements(p: Pool, *, gpu: bool) -> list[dict]:
    reqs: list[dict] = [{"key": "karpenter.k8s.aws/instance-category", "operator": "In",
                         "values": list(p.instance_categories)}]
    if p.instance_families:
        reqs.append({"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": list(p.instance_families)})
    if p.instance_sizes:
        reqs.append({"key": "karpenter.k8s.aws/instance-size", "operator": "In", "values": list(p.instance_sizes)})
    if p.min_generation is not None:
        reqs.append({"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt",
                     "values": [str(p.min_generation - 1)]})
    if gpu:
        # g4ad is a `g` instance with AMD GPUs: only NVIDIA ones get the device plugin.
        reqs.append({"key": "karpenter.k8s.aws/instance-gpu-manufacturer", "operator": "In", "values": ["nvidia"]})
        if isinstance(p, GpuNodePoolConfig) and p.max_gpus_per_node is not None:
            reqs.append({"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "Lt",
                         "values": [str(p.max_gpus_per_node + 1)]})
    reqs += [
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(p.capacity_types)},
        {"key": "kubernetes.io/arch", "operator": "In", "values": list(p.architectures)},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
    ]
    return reqs


def _budget(b: DisruptionBudget) -> dict:
    out: dict = {"nodes": b.nodes}
    if b.schedule is not None:
        out["schedule"] = b.schedule
        out["duration"] = b.duration
    if b.reasons:
        out["reasons"] = list(b.reasons)
    return out


def node_pool(env: Env, name: str, p: Pool) -> Obj:
    gpu = isinstance(p, GpuNodePoolConfig)
    template_spec: dict = {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": NODE_CLASS},
        "requirements": _requirements(p, gpu=gpu),
        "expireAfter": p.expire_after,
    }
    limits = {"cpu": p.cpu_limit, "memory": p.memory_limit}
    labels = {POOL_LABEL: name}
    if gpu:
        template_spec["taints"] = [dict(GPU_TAINT)]
        # Karpenter counts the instances' physical GPUs against the limit, whatever the sharing.
        limits[GPU_RESOURCE] = str(p.gpu_limit)
        if (t := sharing_taint(p.sharing)) is not None:
            template_spec["taints"].append(t)
        labels.update(node_labels(name, p.sharing))
    spec: dict = {
        "template": {"metadata": {"labels": dict(sorted(labels.items()))}, "spec": template_spec},
        "limits": limits,
        "disruption": {"consolidationPolicy": p.consolidation_policy, "consolidateAfter": p.consolidate_after,
                       "budgets": [_budget(b) for b in p.budgets]},
    }
    if p.weight is not None:
        spec["weight"] = p.weight
    return {
        "apiVersion": _api("NodePool", "karpenter.sh"),
        "kind": "NodePool",
        "metadata": metadata(name, component=NAME, env=env.name),
        "spec": spec,
    }


def build(env: Env) -> list[Obj]:
    k = env.compute.karpenter
    objs = [node_class(env), node_pool(env, DEFAULT_POOL, k.default_pool)]
    objs += [node_pool(env, name, p) for name, p in gpu_pools(env)]
    objs += node_overlays(env, gpu_pools(env), NAME)
    return objs


def gpu_pools(env: Env) -> list[tuple[str, GpuNodePoolConfig]]:
    """The env's GPU NodePools by name: `gpu` first, then `gpu_pools` by name."""
    k = env.compute.karpenter
    if k.gpu_pool is None:
        return []
    return [(GPU_POOL, k.gpu_pool), *sorted(k.gpu_pools.items())]

