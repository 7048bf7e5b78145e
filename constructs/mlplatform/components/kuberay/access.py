"""What the team Ray clusters read: the Redis password of GCS fault tolerance, and the Secret it
lands in per team namespace. (Their dashboard routes are built with the
unit's names: names.py `dashboard_routes`.)"""
from __future__ import annotations

from ...kit.secrets import Credential, SecretWant

RAY_REDIS = "ray-redis"  # team namespaces with GCS fault tolerance: key `password` (+ `redis.conf`)
RAY_REDIS_CONF = "redis.conf"
REDIS = "ray/redis"  # the catalog key

CREDENTIALS = (
    Credential(REDIS, ("password",),
               "Redis password of Ray GCS fault tolerance: the ElastiCache AUTH token, or the in-cluster Redis's",
               optional=True),
)

# The in-cluster Redis of Ray GCS fault tolerance: password, no disk snapshots (the pod's
# emptyDir is not durable anyway), an append-only file for restarts.
_REDIS_CONF = "\n".join([
    "port 6379", "protected-mode no", "dir /data", "appendonly yes", 'save ""',
    "requirepass {{ .password }}", ""])


def secrets(env) -> list[SecretWant]:
    """The Redis password per team with fault-tolerant clusters (ElastiCache AUTH token, or the
    in-cluster Redis's requirepass, rendered into its config file here so it never is on a
    command line)."""
    ft, teams = env.ray.fault_tolerant_teams(), {t.name: t for t in env.teams}
    return [SecretWant(RAY_REDIS, env.team_namespace(teams[name]), {"password": (REDIS, "password")},
                       template_data={RAY_REDIS_CONF: _REDIS_CONF} if env.ray.redis == "in_cluster" else None,
                       per_namespace=True)
            for name in sorted(ft & set(teams))]
