"""Component `mlflow`: the experiment tracking server, as our own Deployment.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from . import access
from .versions import VERSIONS
from .objects import CONTAINER_PORT, NAME, NAMESPACE, PORT, SELECTOR, SERVICE, TRACKING_URI, build, tracking_env

UNIT = Component(
    NAME,
    "MLflow tracking server: RDS backend, S3 artifacts (IRSA), Keycloak login at the ALB",
    build,
    routes=access.routes,
    secrets=access.secrets,
    versions=VERSIONS,
)

__all__ = ["UNIT", "CONTAINER_PORT", "NAME", "NAMESPACE", "PORT", "SELECTOR", "SERVICE", "TRACKING_URI", "tracking_env"]
