"""Component `mlflow`: the experiment tracking server, as our own Deployment.

Not the community chart: with authentication off (logins happen at the ALB) the chart still
generates a random Flask secret in a Helm hook and its values schema can't take the backend URI
from a Secret, while a Deployment of ours is small, fully validated against the env's Kubernetes
schema, byte-stable and reviewable. The server runs the pinned MLflow image with:

* the backend store on RDS: `MLFLOW_BACKEND_STORE_URI` comes from Secret `mlflow-db` (an
  ExternalSecret renders the URI from the RDS credentials); an init container runs
  `mlflow db upgrade` before every start, so version bumps migrate the schema first;
* artifacts proxied to S3 (`--serve-artifacts`, destination in the workloads bucket): clients need
  no AWS credentials, the server uses the workloads-s3 IRSA role;
* MLflow 3's Host-header and CORS protection configured for the public host, the in-cluster
  Service names and the VPC (ALB and kubelet health checks come from pod IPs);
* Keycloak login in front, at the ALB (route `mlflow`, access.py).

Every pod that logs experiments (notebooks, Ray, training jobs) gets `MLFLOW_TRACKING_URI` from
`tracking_env()`, so the URL is spelled in one place; a cross-check verifies it names this Service.
"""
from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from ...kit import k8s, routes, versions
from ...kit.ingress import ingress
from ...kit.meta import Obj, metadata
from .access import MLFLOW_DB, ROUTE
from ..priority_classes import PRIORITY

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "mlflow"
NAMESPACE = "mlflow"
SERVICE = "mlflow"
SERVICE_ACCOUNT = "mlflow"
PORT = 80
CONTAINER_PORT = 5000
TRACKING_URI = f"http://{SERVICE}.{NAMESPACE}.svc.cluster.local:{PORT}"
URI_KEY = "backend-store-uri"  # key of Secret mlflow-db holding the SQLAlchemy URI
SELECTOR = {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": "mlflow"}


def tracking_env() -> list[dict]:
    """The container env entry that points a workload at the tracking server."""
    return [{"name": "MLFLOW_TRACKING_URI", "value": TRACKING_URI}]


def _vpc_host_pattern(cidr: str) -> str:
    """`10.10.*` for 10.10.0.0/16: pod IPs (health checks send them as Host) match it."""
    net = ipaddress.ip_network(cidr)
    octets = max(1, min(3, net.prefixlen // 8))
    return ".".join(str(net.network_address).split(".")[:octets]) + ".*"


def allowed_hosts(env: Env) -> list[str]:
    public = routes.hostname(env, ROUTE)
    local = [SERVICE, f"{SERVICE}.{NAMESPACE}", f"{SERVICE}.{NAMESPACE}.svc", f"{SERVICE}.{NAMESPACE}.svc.cluster.local"]
    return [public, *local, *(f"{h}:{PORT}" for h in local[1:]), _vpc_host_pattern(env.infrastructure.vpc_cidr),
            "localhost", "127.0.0.1"]


def _env(env: Env) -> list[dict]:
    uri = {"name": "MLFLOW_BACKEND_STORE_URI",
           "valueFrom": {"secretKeyRef": {"name": MLFLOW_DB, "key": URI_KEY}}}
    public = "https://" + allowed_hosts(env)[0]
    return [uri,
            {"name": "MLFLOW_SERVER_ALLOWED_HOSTS", "value": ",".join(allowed_hosts(env))},
            {"name": "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS", "value": public},
            {"name": "AWS_REGION", "value": env.infrastructure.region},
            {"name": "HOME", "value": "/tmp"}]


def _deployment(env: Env) -> Obj:
    m = env.mlflow
    image = versions.IMAGES["mlflow"].ref
    res = {"requests": {"cpu": m.cpu_request, "memory": m.memory_request},
           "limits": {"cpu": m.cpu_limit, "memory": m.memory_limit}}
    artifacts = f"s3://{env.infrastructure.workloads_bucket}/{m.artifact_prefix}"
    probe = {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 5}
    tmp = [{"name": "tmp", "mountPath": "/tmp"}]
    spec: Obj = {
        "replicas": m.replicas,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": dict(SELECTOR)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {
            "metadata": {"labels": dict(SELECTOR)},
            "spec": {
                "serviceAccountName": SERVICE_ACCOUNT,
                "priorityClassName": PRIORITY.controllers,
                "automountServiceAccountToken": False,  # IRSA brings its own projected token
                "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "nodeSelector": {},
                "initContainers": [{
                    "name": "db-upgrade", "image": image,
                    "command": ["mlflow", "db", "upgrade", "$(MLFLOW_BACKEND_STORE_URI)"],
                    "env": _env(env)[:1] + [{"name": "HOME", "value": "/tmp"}],
                    "resources": res, "securityContext": k8s.restricted_container(readOnlyRootFilesystem=True), "volumeMounts": tmp,
                }],
                "containers": [{
                    "name": "mlflow", "image": image,
                    "command": ["mlflow", "server"],
                    # the backend URI (with its password) comes from MLFLOW_BACKEND_STORE_URI, which
                    # `mlflow server` reads itself: never on the command line (process list)
                    "args": ["--host", "0.0.0.0", "--port", str(CONTAINER_PORT),
                             "--serve-artifacts", "--artifacts-destination", artifacts,
                             "--workers", str(m.workers)],
                    "env": _env(env),
                    "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
                    "readinessProbe": probe,
                    "livenessProbe": {**probe, "initialDelaySeconds": 30, "failureThreshold": 6},
                    "resources": res, "securityContext": k8s.restricted_container(readOnlyRootFilesystem=True), "volumeMounts": tmp,
                }],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                               "whenUnsatisfiable": "ScheduleAnyway",
                                               "labelSelector": {"matchLabels": dict(SELECTOR)}}],
            },
        },
    }
    spec["template"]["spec"].pop("nodeSelector")
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": metadata(NAME, component=NAME, env=env.name, namespace=NAMESPACE), "spec": spec}


def build(env: Env) -> list[Obj]:
    if not env.mlflow.enabled:
        return []
    sa = {"apiVersion": "v1", "kind": "ServiceAccount",
          "metadata": metadata(SERVICE_ACCOUNT, component=NAME, env=env.name, namespace=NAMESPACE,
                               annotations={"eks.amazonaws.com/role-arn": env.infrastructure.roles.workloads_s3}),
          "automountServiceAccountToken": False}
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": metadata(SERVICE, component=NAME, env=env.name, namespace=NAMESPACE),
           "spec": {"type": "ClusterIP", "selector": dict(SELECTOR),
                    "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}]}}
    objs = [sa, _deployment(env), svc, ingress(env, ROUTE, component=NAME)]
    if env.mlflow.replicas > 1:
        objs.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                     "metadata": metadata(NAME, component=NAME, env=env.name, namespace=NAMESPACE),
                     "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(SELECTOR)}}})
    return objs
