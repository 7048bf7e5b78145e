"""Component `keycloak`: the identity provider and the platform realm, declared in code.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .config import KeycloakRole
from .federation import PosixClaims, posix_claims
from . import access
from . import checks
from .versions import VERSIONS
from .objects import NAME, ROLES, build

UNIT = Component(
    NAME,
    "Keycloak (RDS, ALB), the platform realm and its sync Job",
    build,
    routes=access.routes,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    checks=checks.checks,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME", "ROLES"]
__all__ += ["KeycloakRole", "PosixClaims", "posix_claims"]
