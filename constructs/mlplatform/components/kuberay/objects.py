"""Component `kuberay`: the KubeRay operator, a persistent Ray cluster per team, RayServices,
Ray dashboards behind Keycloak, and a RayJob template per team.

* The chart (`helm`): the operator in `kuberay-system` on the system nodes, gang-scheduled Ray
  pods through Volcano (`batchScheduler.name`, when the env runs Volcano), metrics and a
  ServiceMonitor. It watches exactly the team namespaces. Its RBAC there is ours, not the chart's
  (`singleNamespaceInstall` + `crNamespacedRbacEnable: false`, the chart's own advice under
  GitOps): one Role + RoleBinding per team namespace in this folder, so who may do what in a
  tenant namespace is reviewed in `dist/`. Head Services are regular ClusterIP Services
  (operator env `ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE`): the ALB's ip targets and in-cluster
  clients go through them.
* Per team in `ray.clusters` (keyed by team name), in the team namespace: a RayCluster named
  after the team (head Service `<team>-head-svc`) with a head that runs no tasks, a CPU worker
  group and optionally a GPU worker group (GPU limit, GPU-taint toleration, `gpu` NodePool
  selector, `/dev/shm` in memory), the in-tree autoscaler (idle timeout per env), the team's
  Volcano queue `team-<team>`, `MLFLOW_TRACKING_URI` in every Ray container, and the
  `restricted` Pod Security profile (uid 1000, no privilege escalation, no capabilities,
  RuntimeDefault seccomp) that team namespaces enforce. With `gcs_fault_tolerance` the GCS keeps
  its state in Redis (`ray.redis`: the env's ElastiCache over TLS, or a small Redis Deployment in
  the team namespace) with the password from an ExternalSecret (`components/secrets.py`).
* `ray.services`: RayServices (Ray Serve on their own cluster, same pod shape) with their serve
  config; replicas and autoscaling per env.
* Dashboards: one Ingress per team cluster at `https://<hosts.ray>-<team>.<domain>/`, behind
  the ALB's OIDC login (`kit/routes.py`, `for_env`); read-only by default (the ALB answers 403 to
  writes, so nobody submits code to a team's cluster from the internet).
* Head PodDisruptionBudget (`head_disruption_budget`, prod): `maxUnavailable: 1`. A head is a
  single pod, so a budget can either block every drain and Karpenter consolidation forever
  (`minAvailable: 1`) or let them through; we let them through and make the head survivable
  instead (GCS fault tolerance: workers and Serve replicas stay up while a new head reloads the
  GCS from Redis).
* One-shot RayJobs are NOT emitted: Argo CD would re-create a RayJob that finished and deleted
  itself (and so re-run it), and a finished RayJob can't be run again under the same name. Each
  team gets a documented RayJob template instead (ConfigMap `<team namespace>-rayjob-template`), which
  people copy and `kubectl create` (a fresh `generateName` per run). The team's people (group
  `<trainer.member_group_prefix><team>`) may create RayJobs, read Ray objects, pods and logs, and
  port-forward to a head in their namespace (Role `<team namespace>-ray-users`).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING



from ...config.base import ControllerResources
from ...kit import k8s, monitoring, routes, versions, yamltext
from ...kit.component import HelmRelease
from ...kit.ingress import ALB, ingress
from ...kit.meta import LABEL_TEAM, SYNC_WAVE, Obj, metadata
from .. import mlflow, node_pools
from .access import RAY_REDIS, RAY_REDIS_CONF
from .config import RayClusterConfig, RayServiceConfig, RayWorkerGroup

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



def _restricted() -> dict:
    """The `restricted` Pod Security profile of one container (a fresh copy each time)."""
    return k8s.restricted_container()


def ray_version() -> str:
    """The Ray version of the pinned image (`rayVersion` of every cluster; images must match it)."""
    return versions.IMAGES["ray"].tag.split("-")[0]


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


# --------------------------------------------------------------------------- the operator
def values(env: Env) -> dict:
    r, infra = env.ray, env.infrastructure
    img = versions.IMAGES["kuberay-operator"]
    v: dict = {
        "replicas": r.operator_replicas,
        "image": {"repository": img.repository, "tag": img.tag},
        "nodeSelector": dict(infra.system_node_labels),
        "resources": r.operator.render(),
        # The chart renders no pod securityContext; its image runs as the distroless nonroot
        # user (65532), a high uid, which this makes explicit (the container one is restricted).
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "leaderElectionEnabled": True,
        # Namespaced RBAC, written by us per team namespace (build); the chart makes no ClusterRole.
        "rbacEnable": True,
        "singleNamespaceInstall": True,
        "crNamespacedRbacEnable": False,
        "watchNamespace": sorted(env.team_namespace(t) for t in env.teams),
        "env": [{"name": "ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE", "value": "true"}],
        "metrics": {"enabled": True, "serviceMonitor": {
            "enabled": r.service_monitor, "additionalLabels": monitoring.monitor_labels()}},
    }
    if volcano_enabled(env):
        v["batchScheduler"] = {"name": "volcano"}  # `enabled` is the deprecated spelling
    return v


def helm(env: Env) -> HelmRelease | None:
    if not env.ray.enabled:
        return None
    crds = ((SERVICE_MONITOR_CRD,) if env.ray.service_monitor else ()) + ((PODGROUP_CRD,) if volcano_enabled(env) else ())
    return HelmRelease(chart="kuberay-operator", release=RELEASE, namespace=NAMESPACE, values=values(env),
                       requires_crds=crds)


def operator_rules(volcano: bool) -> list[dict]:
    """What the operator does in a team namespace: Ray pods and Services, the autoscaler's
    ServiceAccount and Role, RayJob submitter and Redis-cleanup Jobs, Ingresses it is asked for,
    Volcano PodGroups, and the Ray custom resources themselves."""
    crud = ["create", "delete", "get", "list", "patch", "update", "watch"]
    rules = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": crud + ["deletecollection"]},
        {"apiGroups": [""], "resources": ["events", "services"], "verbs": crud},
        {"apiGroups": [""], "resources": ["pods/status", "services/status", "pods/proxy"], "verbs": ["get", "patch", "update"]},
        {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["create", "get", "patch", "update"]},
        {"apiGroups": [""], "resources": ["pods/resize"], "verbs": ["patch"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["create", "delete", "get", "list", "watch"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": crud},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": crud},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
         "verbs": ["create", "delete", "get", "list", "update", "watch"]},
        {"apiGroups": ["ray.io"], "resources": ["rayclusters", "rayjobs", "rayservices", "raycronjobs"], "verbs": crud},
        {"apiGroups": ["ray.io"], "resources": ["rayclusters/status", "rayjobs/status", "rayservices/status",
                                                "raycronjobs/status"], "verbs": ["get", "patch", "update"]},
        {"apiGroups": ["ray.io"], "resources": ["rayclusters/finalizers", "rayjobs/finalizers",
                                                "rayservices/finalizers", "raycronjobs/finalizers"], "verbs": ["update"]},
    ]
    if volcano:
        rules.append({"apiGroups": ["scheduling.volcano.sh"], "resources": ["podgroups"],
                      "verbs": ["create", "delete", "get", "list", "update", "watch"]})
    return rules


def member_group(env: Env, team: str) -> str:
    """The Kubernetes group of a team's people (the same group the training RBAC binds)."""
    prefix = getattr(getattr(env, "trainer", None), "member_group_prefix", DEFAULT_MEMBER_GROUP_PREFIX)
    return f"{prefix}{team}"


def user_rules() -> list[dict]:
    """What a team's people need for Ray in their namespace: run RayJobs from the template, follow
    them, read their clusters and services, and reach a head with `kubectl port-forward`."""
    read = ["get", "list", "watch"]
    return [
        {"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["create", "delete", *read]},
        {"apiGroups": ["ray.io"], "resources": ["rayclusters", "rayservices"], "verbs": read},
        {"apiGroups": [""], "resources": ["pods", "pods/log", "services", "events", "configmaps"], "verbs": read},
        {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": read},
    ]


def _operator_rbac(env: Env) -> list[Obj]:
    objs: list[Obj] = []
    for t in env.teams:
        ns = env.team_namespace(t)
        name = f"{ns}-{OPERATOR_ROLE}"
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                     "metadata": metadata(name, component=NAME, env=env.name, namespace=ns,
                                          extra_labels={LABEL_TEAM: t.name}),
                     "rules": operator_rules(volcano_enabled(env))})
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                     "metadata": metadata(name, component=NAME, env=env.name, namespace=ns,
                                          extra_labels={LABEL_TEAM: t.name}),
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                     "subjects": [{"kind": "ServiceAccount", "name": OPERATOR_SA, "namespace": NAMESPACE}]})
        users = f"{ns}-{USERS_ROLE}"
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                     "metadata": metadata(users, component=NAME, env=env.name, namespace=ns,
                                          extra_labels={LABEL_TEAM: t.name}),
                     "rules": user_rules()})
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                     "metadata": metadata(users, component=NAME, env=env.name, namespace=ns,
                                          extra_labels={LABEL_TEAM: t.name}),
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": users},
                     "subjects": [{"kind": "Group", "name": member_group(env, t.name),
                                   "apiGroup": "rbac.authorization.k8s.io"}]})
    return objs


# --------------------------------------------------------------------------- Ray pods
def _resources(r: ControllerResources, gpus: dict[str, str] | None = None) -> dict:
    """Requests and limits of a Ray container, plus its GPU resources (whole GPUs or MIG slices)."""
    out = r.render()
    for name, n in (gpus or {}).items():
        out["requests"][name] = n
        out["limits"][name] = n
    return out


def _pod_security() -> dict:
    return {"runAsNonRoot": True, "runAsUser": RAY_UID, "runAsGroup": RAY_GID, "fsGroup": RAY_GID,
            "seccompProfile": {"type": "RuntimeDefault"}}


def _ray_env(env: Env, extra: list[dict] | None = None) -> list[dict]:
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
        "securityContext": _restricted(),
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
    container = _ray_container("ray-head", versions.IMAGES[c.image].ref, _resources(c.head), _ray_env(env, extra),
                               ports=ports)
    return {
        # No tasks on the head: it runs the GCS, the dashboard and the autoscaler.
        "rayStartParams": {"dashboard-host": "0.0.0.0", "num-cpus": "0"},
        "template": {
            "metadata": {"labels": {LABEL_TEAM: team}},
            "spec": {"securityContext": _pod_security(), "containers": [container], "volumes": _volumes(None)},
        },
    }


def _group(env: Env, team: str, name: str, g: RayWorkerGroup, image: str) -> dict:
    gpus, tolerations, selector = (node_pools.gpu_pod_parts(env, g.gpu_pool, g.mig_profile, g.gpus) if g.gpus
                                   else ({}, [], {}))
    spec: dict = {
        "securityContext": _pod_security(),
        "containers": [_ray_container("ray-worker", versions.IMAGES[image].ref, _resources(g.resources, gpus),
                                      _ray_env(env), shm=True)],
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
            "securityContext": _restricted(),
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


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def serve_config(s: RayServiceConfig) -> str:
    """`serveConfigV2`: Ray Serve's multi-application config, as YAML text."""
    apps = []
    for a in s.applications:
        runtime: dict = {"working_dir": a.working_dir}
        if a.pip:
            runtime["pip"] = list(a.pip)
        deployments = []
        for d in a.deployments:
            dep: dict = {"name": d.name, "ray_actor_options": {"num_cpus": d.num_cpus}}
            if d.num_gpus:
                dep["ray_actor_options"]["num_gpus"] = d.num_gpus
            if d.autoscaling is not None:
                dep["autoscaling_config"] = {"min_replicas": d.autoscaling.min_replicas,
                                             "max_replicas": d.autoscaling.max_replicas,
                                             "target_ongoing_requests": _number(d.autoscaling.target_ongoing_requests)}
            else:
                dep["num_replicas"] = d.num_replicas
            if d.user_config:
                dep["user_config"] = dict(d.user_config)
            deployments.append(dep)
        apps.append({"name": a.name, "import_path": a.import_path, "route_prefix": a.route_prefix,
                     "runtime_env": runtime, "deployments": deployments})
    return yamltext.dump({"applications": apps}, sort_keys=True, default_flow_style=False, width=10_000)


def rayservice(env: Env, s: RayServiceConfig) -> Obj:
    ns = team_namespace(env, s.team)
    return {
        "apiVersion": versions.crd("RayService").api_version, "kind": "RayService",
        # Labels are copied onto the RayCluster KubeRay makes for the service (Volcano queue).
        "metadata": metadata(s.name, component=NAME, env=env.name, namespace=ns,
                             extra_labels={LABEL_TEAM: s.team, **scheduling_labels(env, s.team)}),
        "spec": {"serveConfigV2": serve_config(s), "rayClusterConfig": cluster_spec(env, s.team, s.cluster, serve=True)},
    }


def _head_pdb(env: Env, team: str) -> Obj:
    name = cluster_name(team)
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": metadata(f"{name}-head", component=NAME, env=env.name, namespace=team_namespace(env, team),
                                 extra_labels={LABEL_TEAM: team}),
            # maxUnavailable 1 on a single pod: drains and consolidation go through (see module doc).
            "spec": {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow",
                     "selector": {"matchLabels": head_selector(name)}}}


def _redis(env: Env, team: str) -> list[Obj]:
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
                        "securityContext": {**_restricted(), "readOnlyRootFilesystem": True},
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


def _dashboard(env: Env, r: routes.Route) -> Obj:
    obj = ingress(env, r, component=NAME)
    obj["metadata"]["labels"][LABEL_TEAM] = r.name.removeprefix("ray-")
    if env.ray.dashboard_read_only:
        # Anything but reading (job submission, Serve deploys) is refused at the ALB.
        ann = obj["metadata"]["annotations"]
        ann[ALB + f"actions.{WRITE_BLOCKED}"] = json.dumps(
            {"type": "fixed-response", "fixedResponseConfig": {
                "contentType": "text/plain", "statusCode": "403",
                "messageBody": "The Ray dashboard is read-only here: submit a RayJob or use kubectl port-forward."}},
            separators=(",", ":"), sort_keys=True)
        ann[ALB + f"conditions.{WRITE_BLOCKED}"] = json.dumps(
            [{"field": "http-request-method", "httpRequestMethodConfig": {"Values": list(WRITE_METHODS)}}],
            separators=(",", ":"), sort_keys=True)
        paths = obj["spec"]["rules"][0]["http"]["paths"]
        paths.insert(0, {"path": r.path, "pathType": "Prefix",
                         "backend": {"service": {"name": WRITE_BLOCKED, "port": {"name": "use-annotation"}}}})
    return obj


# --------------------------------------------------------------------------- RayJob template
def rayjob_template(env: Env, team: str, c: RayClusterConfig) -> Obj:
    """The RayJob people copy: its own autoscaling cluster shaped like the team's, torn down
    `job_ttl_seconds_after_finished` after the job ends, in the team's Volcano queue."""
    ns = team_namespace(env, team)
    submitter = {
        "spec": {
            "restartPolicy": "Never",
            "securityContext": _pod_security(),
            "containers": [{
                "name": "ray-job-submitter",
                "image": versions.IMAGES[c.image].ref,
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                              "limits": {"cpu": "500m", "memory": "512Mi"}},
                "securityContext": _restricted(),
                "env": _ray_env(env),
            }],
        },
    }
    return {
        "apiVersion": versions.crd("RayJob").api_version, "kind": "RayJob",
        "metadata": {"generateName": f"{team}-job-", "namespace": ns,
                     "labels": {LABEL_TEAM: team, **scheduling_labels(env, team)}},
        "spec": {
            "entrypoint": "python -c \"import ray; ray.init(); print(ray.cluster_resources())\"",
            "runtimeEnvYAML": yamltext.dump({"env_vars": {"JOB_OWNER": team}}, sort_keys=True),
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": env.ray.job_ttl_seconds_after_finished,
            "submissionMode": "K8sJobMode",
            "submitterPodTemplate": submitter,
            "rayClusterSpec": cluster_spec(env, team, c.model_copy(update={"gcs_fault_tolerance": False})),
        },
    }


def template_name(env: Env, team: str) -> str:
    return f"{team_namespace(env, team)}-rayjob-template"


def _template_text(env: Env, team: str, c: RayClusterConfig) -> str:
    ns = team_namespace(env, team)
    head = [
        f"# RayJob template for team {team} ({env.name}). Copy it, edit, and create a run:",
        f"#   kubectl -n {ns} get configmap {template_name(env, team)} -o jsonpath='{{.data.{JOB_TEMPLATE_KEY.replace('.', chr(92) + '.')}}}' > job.yaml",
        "#   # edit spec.entrypoint and spec.runtimeEnvYAML (working_dir: a pinned zip; pip: name==version)",
        f"#   kubectl -n {ns} create -f job.yaml      # create, not apply: every run gets a fresh name",
        f"#   kubectl -n {ns} get rayjobs; kubectl -n {ns} logs -f job/<rayjob name>",
        "# The job gets its own Ray cluster (same shape and queue as the team's, GPU group included),",
        f"# deleted {env.ray.job_ttl_seconds_after_finished}s after the job finishes. Runs are not GitOps-managed:",
        "# Argo CD would re-create a finished RayJob and run it again. Never add one to dist/.",
        "",
    ]
    return "\n".join(head) + yamltext.dump(rayjob_template(env, team, c), sort_keys=True,
                                            default_flow_style=False, width=10_000)


def _template_configmap(env: Env, team: str, c: RayClusterConfig) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": metadata(template_name(env, team), component=NAME, env=env.name,
                                 namespace=team_namespace(env, team), extra_labels={LABEL_TEAM: team}),
            "data": {JOB_TEMPLATE_KEY: _template_text(env, team, c)}}


# --------------------------------------------------------------------------- metrics
RAY_POD_MONITOR = "ray-nodes"  # `ray-nodes-<team>`: one per team namespace, unique in dist/kuberay/


def ray_pod_monitor(env: Env, team: str) -> Obj:
    """Every Ray node of a team namespace (clusters, RayService and RayJob clusters): KubeRay labels
    each Ray pod `ray.io/is-ray-node: "yes"` and adds the `metrics` port (8080, Ray's metrics
    agent) to its Ray container; the cluster and node type become labels of every series."""
    ns = team_namespace(env, team)
    return {
        "apiVersion": versions.crd("PodMonitor").api_version, "kind": "PodMonitor",
        "metadata": metadata(f"{RAY_POD_MONITOR}-{team}", component=NAME, env=env.name, namespace=ns,
                             extra_labels=monitoring.monitor_labels({LABEL_TEAM: team})),
        "spec": {
            "selector": {"matchLabels": {"ray.io/is-ray-node": "yes"}},
            "namespaceSelector": {"matchNames": [ns]},
            "podTargetLabels": ["ray.io/cluster", "ray.io/node-type"],
            "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
        },
    }


# --------------------------------------------------------------------------- build
def build(env: Env) -> list[Obj]:
    if not env.ray.enabled:
        return []
    r = env.ray
    objs: list[Obj] = _operator_rbac(env)
    if r.redis == "in_cluster":
        for team in sorted(r.fault_tolerant_teams()):
            objs += _redis(env, team)
    for team, c in sorted(r.clusters.items()):
        objs.append(raycluster(env, team, c))
        if c.head_disruption_budget:
            objs.append(_head_pdb(env, team))
        objs.append(_template_configmap(env, team, c))
    for s in r.services:
        objs.append(rayservice(env, s))
    objs += [_dashboard(env, route) for route in dashboard_routes(env)]
    if r.service_monitor:
        teams = sorted(set(r.clusters) | {s.team for s in r.services})
        objs += [ray_pod_monitor(env, team) for team in teams]
    return objs
