"""The `mlflow` section: the MLflow tracking server's size and where its artifacts go."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ...config.base import Model, Quantity


class MlflowConfig(Model):
    """The MLflow tracking server: RDS backend, S3 artifacts (proxied), Keycloak login at the ALB."""

    enabled: bool = Field(default=True,
        description="install the MLflow tracking server (needs infrastructure.databases.mlflow)")
    replicas: Annotated[int, Field(ge=1, le=10)] = Field(default=1, description="tracking server pods")
    workers: Annotated[int, Field(ge=1, le=16)] = Field(default=2, description="uvicorn workers per pod")
    cpu_request: Quantity = Field(default="250m", description="CPU request of each tracking server pod")
    cpu_limit: Quantity = Field(default="1", description="CPU limit of each tracking server pod")
    memory_request: Quantity = Field(default="512Mi", description="memory request of each tracking server pod")
    memory_limit: Quantity = Field(default="1Gi", description="memory limit of each tracking server pod")
    artifact_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9/_-]*[a-z0-9]$")] = Field(
        default="mlflow", description="key prefix of artifacts in the workloads bucket")
