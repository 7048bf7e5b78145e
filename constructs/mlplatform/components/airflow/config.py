"""The `airflow` section: Airflow's replicas and sizes, pools, where DAGs come from and task logs go,
and which Keycloak roles map to which Airflow roles."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from ...config.base import ControllerResources, Model, refuse, res, twice
from ..keycloak import KeycloakRole

# Roles the FAB auth manager of Airflow ships (Public: logged in, no permissions).
AirflowRole = Literal["Admin", "Op", "User", "Viewer", "Public"]


def _relative_path(v: str) -> str:
    if v.startswith("/") or ".." in v.split("/") or v.endswith("/"):
        raise ValueError(f"{v!r}: a relative path inside the volume or repository (no leading or trailing /, no ..)")
    return v


RelativePath = Annotated[str, AfterValidator(_relative_path), Field(examples=["airflow_home/dags", "dags"])]
S3Bucket = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]


class AirflowResources(Model):
    """Requests and limits per Airflow container; `worker` is the default of every task pod
    (KubernetesExecutor pod template; a task may override it with `executor_config`)."""

    scheduler: ControllerResources = Field(default=res("500m", "1Gi", "2", "2Gi"), description="scheduler container")
    api_server: ControllerResources = Field(default=res("500m", "1Gi", "2", "2Gi"),
        description="API server (UI) container")
    dag_processor: ControllerResources = Field(default=res("250m", "1Gi", "1", "2Gi"),
        description="DAG processor container")
    triggerer: ControllerResources = Field(default=res("250m", "512Mi", "1", "1Gi"), description="triggerer container")
    worker: ControllerResources = Field(default=res("500m", "1Gi", "2", "4Gi"),
        description="default of every task pod (KubernetesExecutor pod template)")
    statsd: ControllerResources = Field(default=res("50m", "64Mi", "200m", "128Mi"),
        description="StatsD exporter container (the metrics Prometheus scrapes)")
    migrate_job: ControllerResources = Field(default=res("250m", "512Mi", "1", "1Gi"),
        description="database migration Job")
    pools_job: ControllerResources = Field(default=res("100m", "512Mi", "1", "1Gi"),
        description="Job that creates and updates the pools")
    git_sync: ControllerResources = Field(default=res("50m", "64Mi", "200m", "256Mi"),
        description="git-sync sidecar and init container (dags.source git_sync)")
    log_groomer: ControllerResources = Field(default=res("25m", "64Mi", "100m", "128Mi"),
        description="log groomer sidecar that deletes old local logs")


class AirflowPool(Model):
    """An Airflow pool: at most `slots` task instances in it run at once (throttles pod storms)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,256}$")] = Field(
        description="pool name tasks refer to with pool=")
    slots: Annotated[int, Field(ge=1, le=100000, description="an empty pool (0 slots) would never run a task")]
    description: str = Field(default="", description="shown in the Airflow UI")
    include_deferred: bool = Field(default=False, description="deferred tasks count against the pool")


class GitSyncDags(Model):
    """DAGs cloned from git by a git-sync sidecar (scheduler, dag processor) and init container (task pods)."""

    repo: Annotated[str, Field(pattern=r"^https://\S+$", description="https clone URL (ssh is not offered)")]
    branch: Annotated[str, Field(min_length=1)] = Field(default="main", description="branch git-sync follows")
    sub_path: RelativePath | Literal[""] = Field(default="", description="folder of the DAGs in the repo (empty: root)")
    interval_seconds: Annotated[int, Field(ge=5, le=3600)] = Field(default=60,
        description="seconds between git-sync pulls")
    credentials: bool = Field(default=False, description="private repo: username + token from Secrets Manager "
                                                         "(airflow/git-sync) through an ExternalSecret")


class AirflowDags(Model):
    """Where DAG files come from: a git repo (git-sync) or the env's shared EFS volume."""

    source: Literal["git_sync", "efs"] = Field(default="efs",
        description="git_sync: clone git_sync.repo; efs: read efs_sub_path on the shared EFS volume")
    git_sync: GitSyncDags | None = Field(default=None,
        description="the DAG repository; required with source git_sync, forbidden with efs")
    efs_sub_path: RelativePath = Field(default="airflow_home/dags", description="folder on the shared EFS volume")

    @model_validator(mode="after")
    def _source(self) -> "AirflowDags":
        if self.source == "git_sync" and self.git_sync is None:
            raise ValueError("source git_sync needs git_sync.repo (the DAG repository to clone)")
        if self.source == "efs" and self.git_sync is not None:
            raise ValueError("git_sync is set but source is efs: set source: git_sync or drop git_sync")
        return self


class AirflowLogs(Model):
    """Task logs: remote in S3 (IRSA, workloads role) or on the shared EFS volume."""

    target: Literal["s3", "efs"] = Field(default="efs",
        description="s3: remote logging to s3_bucket/s3_prefix; efs: efs_sub_path on the shared EFS volume")
    s3_bucket: S3Bucket | None = Field(default=None, description="the env's workloads bucket (Terraform output "
                                                                  "workloads_bucket)")
    s3_prefix: RelativePath = Field(default="airflow/logs",
        description="key prefix of task logs in s3_bucket (target s3)")
    efs_sub_path: RelativePath = Field(default="airflow_home/logs",
        description="folder of task logs on the shared EFS volume (target efs)")

    @model_validator(mode="after")
    def _target(self) -> "AirflowLogs":
        if self.target == "s3" and not self.s3_bucket:
            raise ValueError("target s3 needs s3_bucket")
        if self.target == "efs" and self.s3_bucket:
            raise ValueError("s3_bucket is set but target is efs: set target: s3 or drop s3_bucket")
        return self


def _default_role_mapping() -> dict[str, str]:
    return {"admin": "Admin", "ml-engineer": "Op", "data-scientist": "User", "viewer": "Viewer"}


class AirflowConfig(Model):
    """Airflow 3 (KubernetesExecutor) at platform.<domain>/airflow, logins through the platform realm."""

    enabled: bool = Field(default=True, description="install Airflow (needs infrastructure.databases.airflow)")
    executor: Literal["KubernetesExecutor"] = Field(
        default="KubernetesExecutor", description="every task is its own pod (no Celery workers, no Redis)")
    scheduler_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1, description="scheduler pods")
    api_server_replicas: Annotated[int, Field(ge=1, le=10)] = Field(default=1, description="API server (UI) pods")
    dag_processor_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1, description="DAG processor pods")
    triggerer_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=1,
        description="triggerer pods (deferred tasks)")
    parallelism: Annotated[int, Field(ge=1, le=10000)] = Field(
        default=32, description="task instances running at once across the env ([core] parallelism)")
    resources: AirflowResources = Field(default=AirflowResources(),
        description="requests and limits per Airflow container")
    pools: list[AirflowPool] = Field(description="pools created by the pools Job (names unique)", default_factory=list)
    prune_pools: bool = Field(default=True, description="delete pools that are not listed here (default_pool stays)")
    dags: AirflowDags = Field(default=AirflowDags(), description="where DAG files come from")
    logs: AirflowLogs = Field(default=AirflowLogs(), description="where task logs go")
    role_mapping: dict[KeycloakRole, AirflowRole] = Field(
        default_factory=_default_role_mapping,
        description="Keycloak realm role (token claim `roles`) -> Airflow role; users with none of them get Public")
    service_monitor: bool = Field(default=True, description="a ServiceMonitor for the StatsD exporter "
                                                            "(needs the Prometheus Operator CRDs)")
    service_monitor_labels: dict[str, str] = Field(default_factory=dict,
                                                   description="labels the Prometheus selects ServiceMonitors by")

    @model_validator(mode="after")
    def _consistent(self) -> "AirflowConfig":
        refuse("pools listed twice", twice([p.name for p in self.pools]))
        if "Admin" not in self.role_mapping.values():
            raise ValueError("role_mapping maps no Keycloak role to Admin: nobody could administer Airflow")
        return self
