"""The `secrets` section: the External Secrets Operator and how often Secrets Manager is re-read."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ...config.base import Model


class SecretsConfig(Model):
    """External Secrets Operator: Secrets Manager values become Kubernetes Secrets."""

    controller_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1,
        description="External Secrets Operator controller pods")
    refresh_interval: Annotated[str, Field(pattern=r"^\d+[smh]$")] = Field(default="1h",
        description="how often each ExternalSecret re-reads Secrets Manager (e.g. 1h): a rotated value arrives within it")
