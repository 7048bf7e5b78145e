"""The names, ports and addresses of the `kuberay` unit: the operator release, the Ray clusters'
Services and queues per team, and the dashboard routes (the unit's `routes` hook)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import monitoring, routes

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "kuberay"
NAMESPACE = "kuberay-system"
RELEASE = "kuberay-operator"  # the chart's fullnameOverride: Deployment, ServiceAccount, Service
OPERATOR_SA = "kuberay-operator"
SERVICE_MONITOR_CRD = monitoring.SERVICE_MONITOR_CRD
PODGROUP_CRD = "PodGroup.scheduling.volcano.sh"
OPERATOR_ROLE = "kuberay-operator"  # Role/RoleBinding `<team namespace>-kuberay-operator`
USERS_ROLE = "ray-users"  # Role/RoleBinding `<team namespace>-ray-users`: the team's people
DEFAULT_MEMBER_GROUP_PREFIX = "ml-team-"  # as trainer.member_group_prefix (EKS access entries)

RAY_UID, RAY_GID = 1000, 100  # user `ray`, group `users` in the rayproject images
REDIS_UID, REDIS_GID = 10001, 10001  # any uid: redis-server runs directly, writes only to /data (emptyDir)
DASHBOARD_PORT = 8265
GCS_PORT = 6379
CLIENT_PORT = 10001
METRICS_PORT = 8080
SERVE_PORT = 8000
REDIS_PORT = 6379
HEAD_PORTS = {"gcs-server": GCS_PORT, "dashboard": DASHBOARD_PORT, "client": CLIENT_PORT, "metrics": METRICS_PORT}
DASHBOARD_HEALTH = "/api/gcs_healthz"  # served by the dashboard; 200 while the GCS is up
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # Ubuntu's bundle in the Ray images (ElastiCache TLS)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
WRITE_BLOCKED = "ray-dashboard-read-only"  # the ALB action name (backend `use-annotation`)
JOB_TEMPLATE_KEY = "rayjob.yaml"



# --------------------------------------------------------------------------- names
def cluster_name(team: str) -> str:
    """A team's persistent RayCluster is named after the team."""
    return team


def head_service(cluster: str) -> str:
    """The head Service KubeRay creates for a RayCluster (dashboard, GCS, client, metrics)."""
    return f"{cluster}-head-svc"


def serve_service(service: str) -> str:
    """The Serve Service KubeRay creates for a RayService."""
    return f"{service}-serve-svc"


def redis_name(team: str) -> str:
    return f"{team}-gcs-redis"


def queue_name(team: str) -> str:
    """The team's Volcano queue (created by the `volcano` component)."""
    return f"team-{team}"


def team_namespace(env: Env, team: str) -> str:
    by_name = {t.name: t for t in env.teams}
    return env.team_namespace(by_name[team])


def volcano_enabled(env: Env) -> bool:
    """Ray pods are gang-scheduled by Volcano when the env runs it (config section `volcano`: the
    `volcano` component then installs the PodGroup CRD and the `team-<team>` queues)."""
    v = getattr(env, "volcano", None)
    return v is not None and bool(getattr(v, "enabled", True))


def dashboard_routes(env: Env) -> list[routes.Route]:
    """One ALB-login route per team Ray cluster: the unit's `routes` hook (collected by `kit/routes.py`)."""
    if not env.ray.enabled:
        return []
    return [routes.Route(
        f"ray-{team}", "ray", "/", team_namespace(env, team), head_service(cluster_name(team)), DASHBOARD_PORT,
        DASHBOARD_HEALTH, "alb", label=f"{env.ingress.hosts.ray}-{team}", component=NAME,
        description=f"Ray dashboard of team {team}",
        pods=tuple(sorted(head_selector(cluster_name(team)).items())), target_ports=(DASHBOARD_PORT,))
        for team in sorted(env.ray.clusters)]


def head_selector(cluster: str) -> dict[str, str]:
    """The head pod of a Ray cluster, by the labels KubeRay puts on it."""
    return {"ray.io/cluster": cluster, "ray.io/node-type": "head"}


def redis_address(env: Env, team: str) -> str:
    """Where the GCS of a team's fault-tolerant clusters keeps its state."""
    if env.ray.redis == "external":
        return f"rediss://{env.infrastructure.redis_endpoint}"  # ElastiCache: TLS in transit
    return f"redis://{redis_name(team)}.{team_namespace(env, team)}.svc.cluster.local:{REDIS_PORT}"

