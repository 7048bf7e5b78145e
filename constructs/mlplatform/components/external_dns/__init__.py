"""Component `external-dns`: Route 53 records for every Ingress host (IRSA), replacing the

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
from .versions import VERSIONS
from .objects import NAME, helm

UNIT = Component(
    NAME,
    "external-dns (IRSA): Route 53 records for every Ingress host",
    no_objects,
    helm=helm,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
