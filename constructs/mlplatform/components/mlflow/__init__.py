"""Component `mlflow`: the experiment tracking server, as our own Deployment.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
# -- imports: routes, credentials, secrets
from . import access
# -- imports: rules, dashboards
# -- imports: checks
# -- imports: versions
from .versions import VERSIONS
from .objects import CONTAINER_PORT, NAME, NAMESPACE, PORT, SELECTOR, SERVICE, TRACKING_URI, build, tracking_env

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "MLflow tracking server: RDS backend, S3 artifacts (IRSA), Keycloak login at the ALB",
    build,
    # -- routes, credentials, secrets
    routes=access.routes,
    secrets=access.secrets,
    # -- rules, dashboards
    # -- checks
    # -- versions
    versions=VERSIONS,
)

__all__ = ["UNIT", "CONTAINER_PORT", "NAME", "NAMESPACE", "PORT", "SELECTOR", "SERVICE", "TRACKING_URI", "tracking_env"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
