"""The registry of components. Adding one = a config model + a module here + one line below."""
from __future__ import annotations

from ..kit.component import Component
from . import (aws_load_balancer_controller, external_dns, external_secrets, ingress, keycloak,
               keycloak_operator, namespaces, prometheus_crds, secrets, storage)
from . import gpu_operator, karpenter, node_pools
from . import jupyterhub, mlflow
from . import airflow, spark_operator
from . import kuberay
from . import kubeflow_trainer, volcano
from . import monitoring, prometheus_adapter, prometheus_rules, vllm


def _nothing(env) -> list:
    """`build` of a component that is only a chart or upstream manifests."""
    return []


COMPONENTS: tuple[Component, ...] = (
    Component(namespaces.NAME, "Platform and team namespaces: PSA, quotas, limits, network policies",
              namespaces.build),
    Component(prometheus_crds.NAME, "Prometheus Operator CRDs (ServiceMonitor, PrometheusRule, ...)",
              _nothing, upstream=prometheus_crds.upstream),
    Component(storage.NAME, "StorageClasses gp3 (default) and efs-sc; shared EFS volumes per namespace",
              storage.build, prune=False),
    Component(aws_load_balancer_controller.NAME, "AWS Load Balancer Controller (IRSA): the shared ALB",
              _nothing, helm=aws_load_balancer_controller.helm),
    Component(ingress.NAME, "The env's IngressClass: one shared internet-facing ALB, TLS with ACM, HTTPS redirect",
              ingress.build),
    Component(external_dns.NAME, "external-dns (IRSA): Route 53 records for every Ingress host",
              _nothing, helm=external_dns.helm),
    Component(external_secrets.NAME, "External Secrets Operator (IRSA to Secrets Manager)",
              _nothing, helm=external_secrets.helm),
    Component(secrets.NAME, "ClusterSecretStore and every ExternalSecret: credentials by reference only",
              secrets.build),
    Component(keycloak_operator.NAME, "Keycloak operator from its pinned release manifests",
              _nothing, upstream=keycloak_operator.upstream),
    Component(keycloak.NAME, "Keycloak (RDS, ALB), the platform realm and its sync Job",
              keycloak.build),
    Component(karpenter.NAME, "Karpenter controller (self-managed, IRSA, interruption queue)",
              _nothing, helm=karpenter.helm),
    Component(node_pools.NAME, "Karpenter EC2NodeClass and NodePools: default (CPU) and gpu (tainted)",
              node_pools.build),
    Component(gpu_operator.NAME, "NVIDIA GPU operator: device plugin, GFD/NFD, DCGM exporter (AMI ships the driver)",
              _nothing, helm=gpu_operator.helm),
    Component(jupyterhub.NAME, "JupyterHub at platform.<domain>/jupyter: Keycloak login, role-gated CPU/GPU profiles",
              jupyterhub.build, helm=jupyterhub.helm),
    Component(airflow.NAME, "Airflow 3 at platform.<domain>/airflow: KubernetesExecutor, Keycloak login, RDS, pools",
              airflow.build, helm=airflow.helm),
    Component(spark_operator.NAME, "Kubeflow Spark operator; Airflow may submit SparkApplications in the job namespaces",
              spark_operator.build, helm=spark_operator.helm),
    Component(volcano.NAME, "Volcano batch scheduler: gang scheduling, one queue (GPU budget) per team",
              volcano.build, helm=volcano.helm),
    Component(kubeflow_trainer.NAME, "Kubeflow Trainer v2 (TrainJob, JobSet): torchrun runtimes gang-scheduled "
              "by Volcano, team RBAC, example jobs", kubeflow_trainer.build, helm=kubeflow_trainer.helm),
    Component(kuberay.NAME, "KubeRay operator; a Ray cluster per team (Volcano queue, GPU group), RayServices, "
              "dashboards behind Keycloak", kuberay.build, helm=kuberay.helm),
    Component(mlflow.NAME, "MLflow tracking server: RDS backend, S3 artifacts (IRSA), Keycloak login at the ALB",
              mlflow.build),
    Component(monitoring.NAME, "kube-prometheus-stack: Prometheus, Alertmanager, Grafana (Keycloak login), dashboards",
              monitoring.build, helm=getattr(monitoring, "helm", None)),
    Component(prometheus_rules.NAME, "Recording rules and alerts (GPU, vLLM, JupyterHub, Airflow, Ray, Karpenter, "
              "platform) with per-env thresholds", prometheus_rules.build),
    Component(prometheus_adapter.NAME, "prometheus-adapter: each served model's queue as a custom metric for its HPA",
              prometheus_adapter.build, helm=getattr(prometheus_adapter, "helm", None)),
    Component(vllm.NAME, "vLLM: one OpenAI-compatible server per model, scaled on its own queue, API key at llm-<model>.<domain>",
              vllm.build),
)

# The folder (and Argo CD Application) holding the env's component Applications (app-of-apps).
APPS_FOLDER = "argocd-apps"
