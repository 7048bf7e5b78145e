"""Component `keycloak`: the identity provider and the platform realm, declared in code.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .objects import NAME, ROLES, build

UNIT = Component(NAME,
                 "Keycloak (RDS, ALB), the platform realm and its sync Job",
                 build)

__all__ = ["UNIT", "NAME", "ROLES"]
