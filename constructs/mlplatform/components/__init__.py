"""The registry: every component unit of the platform, in the order Argo CD Applications are listed.

Adding a component = its package under `components/` (config model, objects, contributions) + one
line below. Nothing else enumerates the units: collectors (routes, credentials, alerts, dashboards,
checks, versions) ask each unit in this order. Argo CD is installed by the bootstrap, not a unit,
but it serves a route and reads a credential: it is registered as a bootstrap contributor, asked
after the units by the route, credential and Secret collectors.
"""
from __future__ import annotations

from ..kit import argocd
from ..kit.component import Component, register
from . import (airflow, aws_load_balancer_controller, external_dns, external_secrets, gpu_operator, ingress,
               jupyterhub, karpenter, keycloak, keycloak_operator, kubeflow_trainer, kuberay, mlflow, monitoring,
               namespaces, node_pools, priority_classes, prometheus_adapter, prometheus_crds, prometheus_rules,
               registry, secrets, spark_operator, storage, vllm, volcano)

COMPONENTS: tuple[Component, ...] = (
    namespaces.UNIT,
    priority_classes.UNIT,
    prometheus_crds.UNIT,
    storage.UNIT,
    aws_load_balancer_controller.UNIT,
    ingress.UNIT,
    external_dns.UNIT,
    external_secrets.UNIT,
    secrets.UNIT,
    keycloak_operator.UNIT,
    keycloak.UNIT,
    karpenter.UNIT,
    node_pools.UNIT,
    gpu_operator.UNIT,
    jupyterhub.UNIT,
    airflow.UNIT,
    spark_operator.UNIT,
    volcano.UNIT,
    kubeflow_trainer.UNIT,
    kuberay.UNIT,
    mlflow.UNIT,
    monitoring.UNIT,
    prometheus_rules.UNIT,
    prometheus_adapter.UNIT,
    vllm.UNIT,
    registry.UNIT,
)

register(COMPONENTS, bootstrap=(argocd.SERVER,))

# The folder (and Argo CD Application) holding the env's component Applications (app-of-apps).
APPS_FOLDER = "argocd-apps"
