"""The `compute.karpenter` section: the Karpenter controller, the EC2NodeClass's root volume and tags,
and the two NodePools (their models are the `node_pools` unit's)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ...config.base import ControllerResources, Model, refuse
from ..node_pools import GpuNodePoolConfig, NodePoolConfig

# EC2 tag keys Karpenter refuses on an EC2NodeClass (it sets them itself).
_RESERVED_NODE_TAGS = ("eks:eks-cluster-name", "karpenter.sh/nodepool", "karpenter.sh/nodeclaim",
                       "karpenter.k8s.aws/ec2nodeclass")


class KarpenterConfig(Model):
    """Self-managed Karpenter (Helm, IRSA) and what it launches: one EC2NodeClass, two NodePools."""

    replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=2,
        description="Karpenter controller pods (leader-elected)")
    log_level: Literal["debug", "info", "error"] = Field(default="info", description="controller log level")
    resources: Annotated[ControllerResources, Field(
        description="requests and limits of the controller container")] = ControllerResources(
        cpu_request="500m", memory_request="1Gi", cpu_limit="1", memory_limit="1Gi")
    root_volume_gib: Annotated[int, Field(ge=20, le=16384)] = Field(
        default=100, description="encrypted gp3 root volume of every node (GPU images are large)")
    node_tags: dict[Annotated[str, Field(min_length=1, max_length=128)], Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=dict, description="extra EC2 tags on launched instances and volumes")
    default_pool: NodePoolConfig = Field(default=NodePoolConfig(),
        description="the general-purpose NodePool (CPU instances, no taint)")
    gpu_pool: GpuNodePoolConfig | None = Field(default_factory=GpuNodePoolConfig,
                                               description="null: no GPU nodes in this env")
    gpu_pools: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")], GpuNodePoolConfig] = Field(
        default_factory=dict,
        description="further GPU NodePools by name (e.g. a MIG or time-sliced pool for notebooks next to the "
                    "whole-GPU pool `gpu` that serves models); workloads pick one with gpu_pool")

    @model_validator(mode="after")
    def _tags(self) -> "KarpenterConfig":
        refuse("node_tags Karpenter sets itself",
                {k for k in self.node_tags if k in _RESERVED_NODE_TAGS or k.startswith("kubernetes.io/cluster")})
        refuse("gpu_pools names taken by the default and gpu NodePools", set(self.gpu_pools) & {"default", "gpu"})
        if self.gpu_pools and self.gpu_pool is None:
            raise ValueError("gpu_pools need gpu_pool: the `gpu` pool is where whole-GPU work lands by default")
        return self
