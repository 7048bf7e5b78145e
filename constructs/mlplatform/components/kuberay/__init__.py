"""Component `kuberay`: the KubeRay operator, a persistent Ray cluster per team, RayServices,

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from . import access
from . import monitoring
from . import checks
from .versions import VERSIONS
from .names import DASHBOARD_PORT, HEAD_PORTS, METRICS_PORT, NAME, NAMESPACE, SERVE_PORT, cluster_name, dashboard_routes, head_service, serve_service, team_namespace
from .objects import build
from .operator import helm, member_group

UNIT = Component(
    NAME,
    "KubeRay operator; a Ray cluster per team (Volcano queue, GPU group), RayServices, "
              "dashboards behind Keycloak",
    build,
    helm=helm,
    routes=dashboard_routes,
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    rules=monitoring.rules,
    dashboards=monitoring.dashboards,
    metrics=monitoring.FACTS,
    checks=checks.checks,
    made_services=checks.made_services,
    versions=VERSIONS,
)

__all__ = ["UNIT", "DASHBOARD_PORT", "HEAD_PORTS", "METRICS_PORT", "NAME", "NAMESPACE", "SERVE_PORT", "cluster_name", "dashboard_routes", "head_service", "member_group", "serve_service", "team_namespace"]
