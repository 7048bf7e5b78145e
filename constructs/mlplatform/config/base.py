"""Building blocks every config model shares: the strict `Model`, constrained scalars (quantities,
DNS labels, CIDRs), `ControllerResources` and the helpers that refuse duplicates.

Each unit's `config.py` and the cross-cutting models in `config/` build on these. This module
imports no unit, so any unit can import it while the registry is still being imported.
"""
from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from ..kit import quantity
from .strict import StrictModel

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class Model(StrictModel):
    """Unknown keys are errors; scalars are strict (config/strict.py)."""


def twice(names: list[str]) -> set[str]:
    """The names listed more than once."""
    return {n for n in names if names.count(n) > 1}


def refuse(what: str, names: set[str]) -> None:
    """Fail validation with `what: a, b` when `names` is not empty."""
    if names:
        raise ValueError(f"{what}: {', '.join(sorted(names))}")


def positions(items, key: str = "name") -> dict[str, int]:
    """name -> position of the first item with that name (for locs that point into lists)."""
    out: dict[str, int] = {}
    for i, x in enumerate(items):
        out.setdefault(getattr(x, key), i)
    return out


def _quantity(v: str) -> str:
    quantity.parse(v)
    return v


Quantity = Annotated[str, AfterValidator(_quantity), Field(examples=["500m", "4", "16Gi"])]
DnsLabel = Annotated[str, Field(pattern=DNS_LABEL, min_length=1, max_length=63)]


def _cidr(v: str) -> str:
    ipaddress.ip_network(v, strict=True)
    return v


Cidr = Annotated[str, AfterValidator(_cidr)]


class ControllerResources(Model):
    """Requests and limits of one controller container."""

    cpu_request: Quantity = Field(default="250m", description="CPU request (cores or millicores: 250m)")
    memory_request: Quantity = Field(default="256Mi", description="memory request (e.g. 256Mi)")
    cpu_limit: Quantity = Field(default="1", description="CPU limit, not below cpu_request")
    memory_limit: Quantity = Field(default="512Mi",
        description="memory limit, not below memory_request (the container is OOM-killed above it)")

    @model_validator(mode="after")
    def _ordered(self) -> "ControllerResources":
        if quantity.parse(self.cpu_request) > quantity.parse(self.cpu_limit):
            raise ValueError("cpu_request must not exceed cpu_limit")
        if quantity.parse(self.memory_request) > quantity.parse(self.memory_limit):
            raise ValueError("memory_request must not exceed memory_limit")
        return self

    def render(self) -> dict[str, dict[str, str]]:
        return {"requests": {"cpu": self.cpu_request, "memory": self.memory_request},
                "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit}}


def res(cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str) -> ControllerResources:
    """`ControllerResources` from four positional values, so the defaults of the models read as a table."""
    return ControllerResources(cpu_request=cpu_request, memory_request=memory_request,
                               cpu_limit=cpu_limit, memory_limit=memory_limit)
