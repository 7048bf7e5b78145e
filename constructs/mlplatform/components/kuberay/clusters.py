"""The Ray pods and the team clusters: the RayCluster spec (shared by RayServices and the RayJob
template), the head PodDisruptionBudget and the in-cluster Redis of GCS fault tolerance."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...config.base import ControllerResources
from ...kit import k8s, versions
from ...kit.meta import LABEL_TEAM, SYNC_WAVE, Obj, metadata
from .. import mlflow, node_pools
from .access import RAY_REDIS, RAY_REDIS_CONF
from .config import RayClusterConfig, RayWorkerGroup
from .names import (CA_BUNDLE, HEAD_PORTS, NAME, RAY_GID, RAY_UID, REDIS_GID, REDIS_PORT, REDIS_UID, SERVE_PORT,
                    cluster_name, head_selector, queue_name, redis_address, redis_name, team_namespace, volcano_enabled)

if TYPE_CHECKING:
    from ...config.models import Env



def restricted() -> dict:
    """The `restricted` Pod Security profile of one container (a fresh copy each time)."""
    return k8s.restricted_container()


def ray_version() -> str:
    """The Ray version of the pinned image (`rayVersion` of every cluster; images must match it)."""
    return versions.IMAGES["ray"].tag.split("-")[0]



# --------------------------------------------------------------------------- Ray pods
def _resources(r: ControllerResources, gpus: dict[str, str] | None = None) -> dict:
    """Requests and limits of a Ray container, plus its GPU resources (whole GPUs or MIG slices)."""
    out = r.render()
    for name, n in (gpus or {}).items():
        out["requests"][name] = n
        out["limits"][name] = n
    return out


def pod_security() -> dict:
    return {"runAsNonRoot": True, "runAsUser": RAY_UID, "runAsGroup": RAY_GID, "fsGroup": RAY_GID,
            "seccompProfile": {"type": "RuntimeDefault"}}


def ray_env(env: Env, extra: list[dict] | None = None) -> list[dict]:
    out = list(extra or [])
    if getattr(getattr(env, "mlflow", None), "enabled", True):
        out += mlflow.tracking_env()
    return out


def _ray_container(name: str, image: str, resources: dict, env_vars: list[dict], *,
                   ports: dict[str, int] | None = None, shm: bool = False) -> dict:
    mounts = [{"name": "ray-logs", "mountPath": "/tmp/ray"}]
    if shm:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    c: dict = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "resources": resources,
        "securityContext": restricted(),
        "volumeMounts": mounts,
        # Leave the cluster cleanly on scale-down or eviction.
        "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", "ray stop"]}}},
    }
    if env_vars:
        c["env"] = env_vars
    if ports:
        c["ports"] = [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports.items()]
    return c


def _volumes(shm_size: str | None) -> list[dict]:
    vols: list[dict] = [{"name": "ray-logs", "emptyDir": {}}]
    if shm_size:
        vols.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": shm_size}})
    return vols


def _head(env: Env, team: str, c: RayClusterConfig, *, serve: bool) -> dict:
    ports = dict(HEAD_PORTS)
    if serve:
        ports["serve"] = SERVE_PORT
    extra = []
    if c.gcs_fault_tolerance and env.ray.redis == "external":
        extra.append({"name": "RAY_REDIS_CA_CERT", "value": CA_BUNDLE})  # verify ElastiCache's certificate
    container = _ray_container("ray-head", versions.IMAGES[c.image].ref, _resources(c.head), ray_env(env, extra),
                               ports=ports)
    return {
        # No tasks on the head: it runs the GCS, the dashboard and the autoscaler.
        "rayStartParams": {"dashboard-host": "0.0.0.0", "num-cpus": "0"},
        "template": {
            "metadata": {"labels": {LABEL_TEAM: team}},
            "spec": {"securityContext": pod_security(), "containers": [container], "volumes": _volumes(None)},
        },
    }


def _group(env: Env, team: str, name: str, g: RayWorkerGroup, image: str) -> dict:
    gpus, tolerations, selector = (node_pools.gpu_pod_parts(env, g.gpu_pool, g.mig_profile, g.gpus) if g.gpus
                                   else ({}, [], {}))
    spec: dict = {
        "securityContext": pod_security(),
        "containers": [_ray_container("ray-worker", versions.IMAGES[image].ref, _resources(g.resources, gpus),
                                      ray_env(env), shm=True)],
        "volumes": _volumes(g.shared_memory),
    }
    if g.gpus:
        spec["tolerations"] = tolerations
        spec["nodeSelector"] = selector
    return {
        "groupName": name,
        "replicas": g.replicas,
        "minReplicas": g.min_replicas,
        "maxReplicas": g.max_replicas,
        "rayStartParams": {},
        "template": {"metadata": {"labels": {LABEL_TEAM: team}}, "spec": spec},
    }


def cluster_spec(env: Env, team: str, c: RayClusterConfig, *, serve: bool = False) -> dict:
    """A RayCluster spec (also the `rayClusterConfig` of a RayService and the template's RayJob)."""
    groups = [_group(env, team, "cpu", c.cpu_workers, c.image)]
    if c.gpu_workers is not None:
        groups.append(_group(env, team, "gpu", c.gpu_workers, c.gpu_image))
    spec: dict = {
        "rayVersion": ray_version(),
        "enableInTreeAutoscaling": True,
        "autoscalerOptions": {
            "upscalingMode": c.upscaling_mode,
            "idleTimeoutSeconds": c.idle_timeout_seconds,
            "imagePullPolicy": "IfNotPresent",
            "resources": c.autoscaler.render(),
            "securityContext": restricted(),
        },
        "headGroupSpec": _head(env, team, c, serve=serve),
        "workerGroupSpecs": groups,
    }
    if c.gcs_fault_tolerance:
        spec["gcsFaultToleranceOptions"] = {
            "redisAddress": redis_address(env, team),
            "redisPassword": {"valueFrom": {"secretKeyRef": {"name": RAY_REDIS, "key": "password"}}},
        }
    return spec


def scheduling_labels(env: Env, team: str, *, volcano: bool | None = None) -> dict[str, str]:
    """Labels that hand a Ray cluster to Volcano, in the team's queue (KubeRay makes the PodGroup)."""
    if not (volcano_enabled(env) if volcano is None else volcano):
        return {}
    return {"ray.io/scheduler-name": "volcano", "volcano.sh/queue-name": queue_name(team)}


def raycluster(env: Env, team: str, c: RayClusterConfig, *, volcano: bool | None = None) -> Obj:
    ns = team_namespace(env, team)
    return {
        "apiVersion": versions.crd("RayCluster").api_version, "kind": "RayCluster",
        "metadata": metadata(cluster_name(team), component=NAME, env=env.name, namespace=ns,
                             extra_labels={LABEL_TEAM: team, **scheduling_labels(env, team, volcano=volcano)}),
        "spec": cluster_spec(env, team, c),
    }



def head_pdb(env: Env, team: str) -> Obj:
    name = cluster_name(team)
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": metadata(f"{name}-head", component=NAME, env=env.name, namespace=team_namespace(env, team),
                                 extra_labels={LABEL_TEAM: team}),
            # maxUnavailable 1 on a single pod: drains and consolidation go through (see objects.py's doc).
            "spec": {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow",
                     "selector": {"matchLabels": head_selector(name)}}}


def redis_objects(env: Env, team: str) -> list[Obj]:
    """A small Redis for the GCS of a team's fault-tolerant clusters (`ray.redis: in_cluster`).
    Its password is the team's ExternalSecret (`requirepass` rendered into `redis.conf` there,
    so it is never on a command line); synced before the clusters and pruned after them (the
    GCS cleanup Job on deletion still reaches it)."""
    name, ns = redis_name(team), team_namespace(env, team)
    selector = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": name}
    ann = {SYNC_WAVE: "-1"}
    deploy = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": metadata(name, component=NAME, env=env.name, namespace=ns, annotations=ann,
                             extra_labels={LABEL_TEAM: team}),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**selector, LABEL_TEAM: team}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": REDIS_UID, "runAsGroup": REDIS_GID,
                                        "fsGroup": REDIS_GID, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "redis",
                        "image": versions.IMAGES["redis"].ref,
                        "command": ["redis-server", "/etc/redis/redis.conf"],
                        "ports": [{"name": "redis", "containerPort": REDIS_PORT, "protocol": "TCP"}],
                        "resources": env.ray.redis_resources.render(),
                        "securityContext": {**restricted(), "readOnlyRootFilesystem": True},
                        "readinessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 5},
                        "livenessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 10, "failureThreshold": 6},
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/redis", "readOnly": True},
                                         {"name": "data", "mountPath": "/data"}],
                    }],
                    "volumes": [
                        {"name": "config", "secret": {"secretName": RAY_REDIS,
                                                      "items": [{"key": RAY_REDIS_CONF, "path": "redis.conf"}]}},
                        {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}},
                    ],
                },
            },
        },
    }
    svc = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": metadata(name, component=NAME, env=env.name, namespace=ns, annotations=ann,
                             extra_labels={LABEL_TEAM: team}),
        "spec": {"type": "ClusterIP", "selector": selector,
                 "ports": [{"name": "redis", "port": REDIS_PORT, "targetPort": "redis", "protocol": "TCP"}]},
    }
    return [deploy, svc]
