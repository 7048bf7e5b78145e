"""The `storage` section: the gp3 StorageClass and which namespaces mount the shared EFS volume."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from ...config.base import DnsLabel, Model, refuse, twice


class EfsMount(Model):
    """A namespace that mounts the shared EFS file system (one static PV + PVC for it)."""

    namespace: DnsLabel = Field(description="namespace that gets the shared EFS PV + PVC")
    read_only: bool = Field(default=False, description="mount the share read-only in this namespace")


class StorageConfig(Model):
    gp3_iops: Annotated[int, Field(ge=3000, le=16000)] = Field(default=3000,
        description="provisioned IOPS of every gp3 EBS volume of the default StorageClass (3000 is gp3's free baseline)")
    gp3_throughput_mibps: Annotated[int, Field(ge=125, le=1000)] = Field(default=125,
        description="provisioned throughput of every gp3 EBS volume, MiB/s (125 is gp3's free baseline)")
    efs_mounts: list[EfsMount] = Field(
        description="namespaces that mount the shared EFS file system (model_cache efs needs the serving teams' namespaces here)", default_factory=lambda: [EfsMount(namespace="jupyterhub"),
                                                                 EfsMount(namespace="airflow")])

    @model_validator(mode="after")
    def _unique(self) -> "StorageConfig":
        refuse("namespaces mounting the EFS share twice", twice([m.namespace for m in self.efs_mounts]))
        return self
