"""Component `keycloak`: the identity provider and the platform realm, declared in code.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
# -- imports: config
from .config import KeycloakRole
from .federation import PosixClaims, posix_claims
# -- imports: routes, credentials, secrets
from . import access
# -- imports: rules, dashboards
# -- imports: checks
from . import checks
# -- imports: versions
from .versions import VERSIONS
from .objects import NAME, ROLES, build

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "Keycloak (RDS, ALB), the platform realm and its sync Job",
    build,
    # -- routes, credentials, secrets
    routes=access.routes,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    # -- rules, dashboards
    # -- checks
    checks=checks.checks,
    # -- versions
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME", "ROLES"]
# -- published facts: config
__all__ += ["KeycloakRole", "PosixClaims", "posix_claims"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
