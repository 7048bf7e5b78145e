"""Component `jupyterhub`: notebooks at platform.<domain>/jupyter, logins through the realm.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from . import access
from . import monitoring
from .versions import VERSIONS
from .objects import NAME, NAMESPACE, build, helm

UNIT = Component(
    NAME,
    "JupyterHub at platform.<domain>/jupyter: Keycloak login, role-gated CPU/GPU profiles",
    build,
    helm=helm,
    routes=access.routes,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    rules=monitoring.rules,
    dashboards=monitoring.dashboards,
    metrics=monitoring.FACTS,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME", "NAMESPACE"]
