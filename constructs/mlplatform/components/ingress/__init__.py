"""Component `ingress`: the env's one shared internet-facing ALB, as an IngressClass.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from . import access
from .objects import NAME, build

UNIT = Component(
    NAME,
    "The env's IngressClass: one shared internet-facing ALB, TLS with ACM, HTTPS redirect",
    build,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
)

__all__ = ["UNIT", "NAME"]
