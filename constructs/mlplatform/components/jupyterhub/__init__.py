"""Component `jupyterhub`: notebooks at platform.<domain>/jupyter, logins through the realm.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
# -- imports: routes, credentials, secrets
from . import access
# -- imports: rules, dashboards
from . import monitoring
# -- imports: checks
# -- imports: versions
from .versions import VERSIONS
from .objects import NAME, NAMESPACE, build, helm

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "JupyterHub at platform.<domain>/jupyter: Keycloak login, role-gated CPU/GPU profiles",
    build,
    helm=helm,
    # -- routes, credentials, secrets
    routes=access.routes,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    # -- rules, dashboards
    rules=monitoring.rules,
    dashboards=monitoring.dashboards,
    metrics=monitoring.FACTS,
    # -- checks
    # -- versions
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME", "NAMESPACE"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
