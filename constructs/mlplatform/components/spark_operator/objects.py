"""Component `spark-operator`: the Kubeflow Spark operator, and who may submit SparkApplications.

* The chart (`helm`): controller + admission webhook in namespace `spark-operator` on the system
  nodes; it watches exactly `spark.job_namespaces` of the env file (the chart's default is only
  `default`, which the book never changed, so its jobs in `airflow` were never picked up). In
  each job namespace the chart creates the driver/executor ServiceAccount (`spark.service_account`,
  IRSA role `infrastructure.roles.spark` for S3) and its Role. Metrics go to a PodMonitor.
* Ours (`build`): in every job namespace a Role + RoleBinding that let Airflow's task pods
  (ServiceAccount `airflow/airflow-worker`, i.e. SparkKubernetesOperator) create, watch and
  delete SparkApplications and read their driver's pods and logs. The book `kubectl patch`ed the
  chart's `airflow-pod-launcher-role` instead, which Argo CD reverts on the next sync.

The webhook generates its serving certificate at runtime and patches the CA bundle into its
webhook configurations: Argo CD keeps those live values instead of resetting them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import monitoring
from ...kit.component import HelmRelease
from ...kit.meta import Obj, metadata
from .. import airflow
from ..priority_classes import PRIORITY

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "spark-operator"
NAMESPACE = "spark-operator"
RELEASE = "spark-operator"  # chart `spark-operator` + release `spark-operator`: names `spark-operator-<part>`
WEBHOOK = f"{RELEASE}-webhook"
POD_MONITOR_CRD = monitoring.POD_MONITOR_CRD
SUBMIT_ROLE = "spark-submit"  # object names are `<namespace>-spark-submit` (one file per Kind.name)
IRSA = "eks.amazonaws.com/role-arn"
GROUP = "sparkoperator.k8s.io"


def values(env: Env) -> dict:
    s, infra = env.spark, env.infrastructure
    system = dict(infra.system_node_labels)
    known = {p.name for p in env.namespaces.platform} | {env.team_namespace(t) for t in env.teams}
    missing = [n for n in s.job_namespaces if n not in known]
    if missing:
        raise ValueError(f"spark.job_namespaces {missing}: not namespaces of this env (platform or team)")
    return {
        "controller": {
            "replicas": s.controller_replicas,
            "leaderElection": {"enable": True},
            "resources": s.controller.render(),
            "nodeSelector": system,
            "podDisruptionBudget": {"enable": s.controller_replicas > 1, "minAvailable": 1},
            "uiService": {"enable": True},
            "uiIngress": {"enable": False},
            "priorityClassName": PRIORITY.controllers,
        },
        "webhook": {
            "enable": True,
            "replicas": s.webhook_replicas,
            "failurePolicy": "Fail",
            "resources": s.webhook.render(),
            "nodeSelector": system,
            "podDisruptionBudget": {"enable": s.webhook_replicas > 1, "minAvailable": 1},
            "priorityClassName": PRIORITY.controllers,
        },
        "spark": {
            "jobNamespaces": list(s.job_namespaces),
            "serviceAccount": {"create": True, "name": s.service_account,
                               "annotations": {IRSA: infra.roles.spark}},
            "rbac": {"create": True},
        },
        # No Helm hook: Argo CD applies the chart's CRDs (server-side) on every sync.
        "hook": {"upgradeCrd": False},
        "prometheus": {
            "metrics": {"enable": True},
            # Labelled for the platform Prometheus's selector (kit/monitoring.py).
            "podMonitor": {"create": s.pod_monitor, "labels": monitoring.monitor_labels(),
                           "podMetricsEndpoint": {"scheme": "http", "interval": "30s"}},
        },
    }


def helm(env: Env) -> HelmRelease | None:
    if not env.spark.enabled:
        return None
    ca = ".webhooks[]?.clientConfig.caBundle"
    return HelmRelease(
        chart="spark-operator", release=RELEASE, namespace=NAMESPACE, values=values(env),
        requires_crds=(POD_MONITOR_CRD,) if env.spark.pod_monitor else (),
        ignore_differences=(
            ("", "Secret", f"{WEBHOOK}-certs", "/data"),
            ("admissionregistration.k8s.io", "MutatingWebhookConfiguration", WEBHOOK, ca),
            ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", WEBHOOK, ca),
        ))


def submit_rules() -> list[dict]:
    """What submitting and following a SparkApplication needs, nothing more."""
    return [
        {"apiGroups": [GROUP], "resources": ["sparkapplications"],
         "verbs": ["create", "get", "list", "watch", "patch", "delete"]},
        {"apiGroups": [GROUP], "resources": ["sparkapplications/status"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
    ]


def submitters(env: Env) -> list[dict]:
    """RoleBinding subjects: Airflow's task pods (when Airflow runs in this env)."""
    if not env.airflow.enabled:
        return []
    return [{"kind": "ServiceAccount", "name": airflow.WORKER_SA, "namespace": airflow.NAMESPACE}]


def build(env: Env) -> list[Obj]:
    if not env.spark.enabled:
        return []
    subjects = submitters(env)
    if not subjects:
        return []
    objs: list[Obj] = []
    for ns in env.spark.job_namespaces:
        name = f"{ns}-{SUBMIT_ROLE}"
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                     "metadata": metadata(name, component=NAME, env=env.name, namespace=ns),
                     "rules": submit_rules()})
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                     "metadata": metadata(name, component=NAME, env=env.name, namespace=ns),
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                     "subjects": subjects})
    return objs
