"""The `spark` section: the Spark operator and the namespaces SparkApplications may run in."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from ...config.base import ControllerResources, DnsLabel, Model, refuse, res, twice


class SparkConfig(Model):
    """The Kubeflow Spark operator and where SparkApplications may run."""

    enabled: bool = Field(default=True, description="install the Spark operator")
    job_namespaces: list[DnsLabel] = Field(
        default_factory=lambda: ["airflow"], min_length=1,
        description="namespaces the operator watches (chart default is only `default`)")
    service_account: DnsLabel = Field(default="spark", description="driver/executor ServiceAccount in every job "
                                                                   "namespace (IRSA: infrastructure.roles.spark)")
    controller_replicas: Annotated[int, Field(ge=1, le=3)] = Field(default=1, description="operator controller pods")
    webhook_replicas: Annotated[int, Field(ge=1, le=3)] = Field(default=1,
        description="operator webhook pods (the EKS control plane calls them)")
    controller: ControllerResources = Field(default=res("100m", "300Mi", "1", "1Gi"),
        description="requests and limits of the controller container")
    webhook: ControllerResources = Field(default=res("50m", "128Mi", "500m", "256Mi"),
        description="requests and limits of the webhook container")
    pod_monitor: bool = Field(default=True, description="a PodMonitor for the operator's metrics "
                                                        "(needs the Prometheus Operator CRDs)")

    @model_validator(mode="after")
    def _unique(self) -> "SparkConfig":
        refuse("job_namespaces listed twice", twice(list(self.job_namespaces)))
        return self
