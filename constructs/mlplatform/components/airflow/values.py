"""The `airflow` chart release: its values (KubernetesExecutor, RDS, DAGs, logs, StatsD mappings).

Argo CD: no Helm hooks. The create-user Job is off (no admin/admin: users come from Keycloak);
the migration Job is an Argo CD Sync hook (re-run, idempotent, on every sync, replaced before
each run) instead of a Helm post-install hook, which Argo CD would run only after the Deployments
that wait for it became healthy.

Secrets: the metadata DB (RDS) connection, the fernet key and the API/JWT/webserver signing keys
come from ExternalSecrets (`components/secrets.py`); no chart value generates one, so renders are
byte-stable and nothing rotates on sync. No in-chart PostgreSQL, no Redis (no Celery).

DAGs: git-sync (sidecar in scheduler/dag processor, init container in task pods; credentials
from an ExternalSecret for private repos) or the shared EFS volume. Logs: S3 (remote logging with
the workloads IRSA role) or the shared EFS volume. Metrics: the chart's StatsD exporter, scraped
through our ServiceMonitor (the chart renders none).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ...kit import k8s, routes, versions
from ...kit.component import HelmRelease
from .. import keycloak, storage
from .access import AIRFLOW_DB, AIRFLOW_GIT_SYNC, AIRFLOW_KEYS, AIRFLOW_OIDC, ROUTE
from .priority import with_priorities
from .login import CLIENT_SECRET_ENV, FAB_AUTH_MANAGER, login_config
from .names import (AIRFLOW_UID, API_SERVER_PORT, API_SERVER_SA, API_SERVER_SERVICE, DAG_PROCESSOR_SA, IRSA,
                    LOGS_CONN_ID, NAMESPACE, RELEASE, RESTRICTED_POD, SCHEDULER_SA, TRIGGERER_SA,
                    WORKER_SA, base_url, callback_url, execution_api_url)

if TYPE_CHECKING:
    from ...config.models import Env

# statsd-exporter mappings on top of the chart's (files/statsd-mappings.yml): Airflow emits
# `pool.<gauge>.<pool name>`; without a mapping each pool would be its own metric name.
STATSD_POOL_MAPPINGS = [
    {"match": f"airflow.pool.{gauge}.*", "name": f"airflow_pool_{gauge}", "labels": {"pool": "$1"}}
    for gauge in ("running_slots", "queued_slots")
]
# Airflow 3.2 sends every pool gauge twice (airflow/_shared/observability/metrics/
# dual_stats_manager.py `DualStatsManager.gauge`, called by jobs/scheduler_job_runner.py
# `_emit_pool_metrics` and the starving-tasks loop): the legacy `pool.<gauge>.<pool>` and the
# unsuffixed `pool.<gauge>` whose pool is only a tag -- which a plain StatsD client does not send.
# Unmapped, the unsuffixed name would become `airflow_pool_<gauge>` without a pool label: a
# `pool=""` series next to the real ones. statsd-exporter drops them (an exact glob, no `*`).
AIRFLOW_POOL_GAUGES = ("open_slots", "queued_slots", "running_slots", "deferred_slots", "scheduled_slots",
                       "starving_tasks")
STATSD_DROP_MAPPINGS = [{"match": f"airflow.pool.{gauge}", "name": "dropped", "action": "drop"}
                        for gauge in AIRFLOW_POOL_GAUGES]


# --------------------------------------------------------------------------- values
def _check(env: Env) -> None:
    """What the env file can't express on its own: wiring with other components."""
    r = ROUTE
    if routes.redirect_uris(env, r) != [callback_url(env)]:
        raise ValueError(f"route {ROUTE.name!r} (access.py): callbacks {list(r.callbacks)} are not FAB's OAuth "
                         f"callback {callback_url(env)} (the Keycloak client would refuse the login)")
    if r.namespace != NAMESPACE or r.service != API_SERVER_SERVICE or r.port != API_SERVER_PORT:
        raise ValueError(f"route {ROUTE.name!r} (access.py) does not point at the chart's API server "
                         f"{NAMESPACE}/{API_SERVER_SERVICE}:{API_SERVER_PORT}")
    a = env.airflow
    on_efs = a.dags.source == "efs" or a.logs.target == "efs"
    if on_efs and NAMESPACE not in {m.namespace for m in env.storage.efs_mounts}:
        raise ValueError("airflow.dags/logs use EFS but storage.efs_mounts has no `airflow` namespace")
    _unknown = set(a.role_mapping) - set(keycloak.ROLES)
    if _unknown:
        raise ValueError(f"airflow.role_mapping: {', '.join(sorted(_unknown))} are not realm roles")


def _render(res) -> dict:
    return res.render()


def _irsa(role: str | None) -> dict:
    return {"annotations": {IRSA: role}} if role else {}


def _sa(name: str, role: str | None) -> dict:
    return {"create": True, "name": name, **_irsa(role)}


def _spread(component: str) -> list[dict]:
    return [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": {"matchLabels": {"tier": "airflow", "component": component, "release": RELEASE}}}]


def _groomer(env: Env) -> dict:
    return {"resources": _render(env.airflow.resources.log_groomer)}


def values(env: Env) -> dict:
    _check(env)
    a, infra = env.airflow, env.infrastructure
    image = versions.IMAGES["airflow"]
    s3_logs = a.logs.target == "s3"
    logs_role = infra.roles.workloads_s3 if s3_logs else None
    config: dict[str, dict[str, str]] = {
        "core": {"auth_manager": FAB_AUTH_MANAGER, "parallelism": str(a.parallelism), "load_examples": "False",
                 "execution_api_server_url": execution_api_url()},
        "api": {"base_url": base_url(env)},
        # The ALB terminates TLS: trust X-Forwarded-Proto/Host so FAB builds https redirect URIs.
        "fab": {"enable_proxy_fix": "True"},
        "kubernetes_executor": {"delete_worker_pods": "True", "delete_worker_pods_on_failure": "True"},
        "metrics": {"statsd_on": "True"},
    }
    env_vars: list[dict] = []
    if s3_logs:
        config["logging"] = {
            "remote_logging": "True",
            "remote_base_log_folder": f"s3://{a.logs.s3_bucket}/{a.logs.s3_prefix}",
            "remote_log_conn_id": LOGS_CONN_ID,
            "delete_local_logs": "True",
        }
        # A connection without keys: boto3 uses the pod's IRSA web identity.
        env_vars.append({"name": f"AIRFLOW_CONN_{LOGS_CONN_ID.upper()}",
                         "value": json.dumps({"conn_type": "aws", "extra": {"region_name": infra.region}},
                                             sort_keys=True)})
    res = a.resources
    v: dict = {
        "airflowVersion": versions.CHARTS["airflow"].app_version,
        "defaultAirflowRepository": image.repository,
        "defaultAirflowTag": image.tag,
        "executor": a.executor,
        "allowPodLaunching": True,
        "uid": AIRFLOW_UID,
        "gid": 0,
        # Restricted Pod Security (the namespace enforces it) for every Airflow pod and task pod.
        "securityContexts": {
            "pod": {**RESTRICTED_POD, "runAsUser": AIRFLOW_UID, "runAsGroup": 0, "fsGroup": 0},
            "containers": k8s.restricted_container(),
        },
        # Everything secret comes from ExternalSecrets; nothing is generated by the chart.
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
        "data": {"metadataSecretName": AIRFLOW_DB},
        "fernetKeySecretName": AIRFLOW_KEYS,
        "apiSecretKeySecretName": AIRFLOW_KEYS,
        "jwtSecretName": AIRFLOW_KEYS,
        "webserverSecretKeySecretName": AIRFLOW_KEYS,
        "config": config,
        "createUserJob": {"enabled": False, "useHelmHooks": False, "applyCustomEnv": False},
        "webserver": {"defaultUser": {"enabled": False}},
        "migrateDatabaseJob": {
            "enabled": True, "useHelmHooks": False, "applyCustomEnv": False,
            "jobAnnotations": {"argocd.argoproj.io/hook": "Sync",
                               "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation"},
            "resources": _render(res.migrate_job),
            # `airflow db migrate` talks to the metadata database only, never to the Kubernetes API.
            "serviceAccount": {"automountServiceAccountToken": False},
        },
        "apiServer": {
            "replicas": a.api_server_replicas,
            # uvicorn honours X-Forwarded-* only from the ALB (ip targets inside the VPC).
            "args": ["bash", "-c", "exec airflow api-server --proxy-headers"],
            "env": [{"name": "FORWARDED_ALLOW_IPS", "value": infra.vpc_cidr},
                    {"name": CLIENT_SECRET_ENV,
                     "valueFrom": {"secretKeyRef": {"name": AIRFLOW_OIDC, "key": "client-secret"}}}],
            "apiServerConfig": login_config(env),
            "serviceAccount": _sa(API_SERVER_SA, logs_role),
            "resources": _render(res.api_server),
            "podDisruptionBudget": {"enabled": a.api_server_replicas > 1, "config": {"maxUnavailable": 1}},
        },
        "scheduler": {
            "replicas": a.scheduler_replicas,
            "serviceAccount": _sa(SCHEDULER_SA, logs_role),
            "resources": _render(res.scheduler),
            "logGroomerSidecar": _groomer(env),
            "podDisruptionBudget": {"enabled": a.scheduler_replicas > 1, "config": {"maxUnavailable": 1}},
        },
        "dagProcessor": {
            "enabled": True,
            "replicas": a.dag_processor_replicas,
            "serviceAccount": _sa(DAG_PROCESSOR_SA, logs_role),
            "resources": _render(res.dag_processor),
            "logGroomerSidecar": _groomer(env),
        },
        "triggerer": {
            "replicas": a.triggerer_replicas,
            "serviceAccount": _sa(TRIGGERER_SA, logs_role),
            "resources": _render(res.triggerer),
            "logGroomerSidecar": _groomer(env),
            # Logs go to S3 or the shared EFS volume: no per-replica EBS volume.
            "persistence": {"enabled": False},
        },
        # Task pods (KubernetesExecutor pod template). The worker SA may use the workloads bucket
        # (Terraform trusts airflow:airflow-worker) and is the one the Spark Role binds.
        "workers": {
            "serviceAccount": _sa(WORKER_SA, infra.roles.workloads_s3),
            "kubernetes": {"resources": _render(res.worker)},
        },
        "statsd": {
            "enabled": True,
            "resources": _render(res.statsd),
            # The chart's mapping labels pools only for open_slots/starving_tasks; these give
            # running and queued slots a `pool` label too (the Airflow dashboard reads them), and
            # drop the unsuffixed duplicates that would read as a `pool=""` pool.
            "extraMappings": [dict(m, labels=dict(m["labels"])) for m in STATSD_POOL_MAPPINGS]
                             + [dict(m) for m in STATSD_DROP_MAPPINGS],
            # statsd-exporter only reads its mapping file (a ConfigMap) and serves from memory:
            # read-only root filesystem, and no API token (it never calls the Kubernetes API).
            "securityContexts": {"pod": {**RESTRICTED_POD, "runAsUser": 65534},
                                 "container": k8s.restricted_container(readOnlyRootFilesystem=True)},
            "serviceAccount": {"automountServiceAccountToken": False},
        },
        "flower": {"enabled": False},
        "pgbouncer": {"enabled": False},
    }
    if a.api_server_replicas > 1:
        v["apiServer"]["topologySpreadConstraints"] = _spread("api-server")
    if a.scheduler_replicas > 1:
        v["scheduler"]["topologySpreadConstraints"] = _spread("scheduler")
    if env_vars:
        v["env"] = env_vars
    v["dags"] = _dags(env)
    v["logs"] = _logs(env)
    return with_priorities(v)


def _dags(env: Env) -> dict:
    d = env.airflow.dags
    if d.source == "efs":
        return {"persistence": {"enabled": True, "existingClaim": storage.claim_name(NAMESPACE),
                                "subPath": d.efs_sub_path},
                "gitSync": {"enabled": False}}
    g = d.git_sync
    assert g is not None  # AirflowDags guarantees it
    git: dict = {
        "enabled": True, "repo": g.repo, "branch": g.branch, "ref": g.branch, "rev": "HEAD", "depth": 1,
        "subPath": g.sub_path, "period": f"{g.interval_seconds}s",
        "resources": _render(env.airflow.resources.git_sync),
        "securityContexts": {"container": k8s.restricted_container(runAsUser=65533)},
    }
    if g.credentials:
        git["credentialsSecret"] = AIRFLOW_GIT_SYNC
    return {"persistence": {"enabled": False}, "gitSync": git}


def _logs(env: Env) -> dict:
    lg = env.airflow.logs
    if lg.target == "efs":
        return {"persistence": {"enabled": True, "existingClaim": storage.claim_name(NAMESPACE),
                                "subPath": lg.efs_sub_path}}
    return {"persistence": {"enabled": False}}


def helm(env: Env) -> HelmRelease | None:
    if not env.airflow.enabled:
        return None
    return HelmRelease(chart="airflow", release=RELEASE, namespace=NAMESPACE, values=values(env))

