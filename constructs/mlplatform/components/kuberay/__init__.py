"""Component `kuberay`: the KubeRay operator, a persistent Ray cluster per team, RayServices,

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .objects import DASHBOARD_PORT, HEAD_PORTS, METRICS_PORT, NAME, NAMESPACE, SERVE_PORT, build, cluster_name, dashboard_routes, head_service, helm, member_group, serve_service, team_namespace

UNIT = Component(NAME,
                 "KubeRay operator; a Ray cluster per team (Volcano queue, GPU group), RayServices, "
              "dashboards behind Keycloak",
                 build,
                 helm=helm)

__all__ = ["UNIT", "DASHBOARD_PORT", "HEAD_PORTS", "METRICS_PORT", "NAME", "NAMESPACE", "SERVE_PORT", "cluster_name", "dashboard_routes", "head_service", "member_group", "serve_service", "team_namespace"]
