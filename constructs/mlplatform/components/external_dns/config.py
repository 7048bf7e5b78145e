"""The `external_dns` section: how external-dns keeps the Route 53 records of the ingress hosts."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ...config.base import Model


class ExternalDnsConfig(Model):
    policy: Literal["sync", "upsert-only"] = Field(
        default="sync", description="sync also deletes records whose Ingress is gone; upsert-only never deletes")
    interval: Annotated[str, Field(pattern=r"^\d+[smh]$")] = Field(default="1m",
        description="how often external-dns reconciles records (Go duration: 30s, 1m, 1h)")
