"""Component `external-secrets`: the External Secrets Operator (IRSA to Secrets Manager).

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
from .versions import VERSIONS
from .objects import NAME, helm

UNIT = Component(
    NAME,
    "External Secrets Operator (IRSA to Secrets Manager)",
    no_objects,
    helm=helm,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
