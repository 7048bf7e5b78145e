"""The `ingress` section: the env's one shared ALB, the host label of every app, its controller."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from ...config.base import Cidr, DnsLabel, Model, refuse, twice


class Hosts(Model):
    """Host labels under the env domain: the one place every ingress host and OIDC URL comes from."""

    auth: DnsLabel = Field(default="auth", description="Keycloak")
    platform: DnsLabel = Field(default="platform", description="JupyterHub (/jupyter) and Airflow (/airflow)")
    argocd: DnsLabel = Field(default="argocd", description="Argo CD")
    grafana: DnsLabel = Field(default="grafana", description="Grafana")
    mlflow: DnsLabel = Field(default="mlflow", description="MLflow tracking server")
    prometheus: DnsLabel = Field(default="prometheus", description="Prometheus UI (Keycloak login at the ALB)")
    alertmanager: DnsLabel = Field(default="alertmanager", description="Alertmanager UI (Keycloak login at the ALB)")
    ray: DnsLabel = Field(default="ray", description="Ray dashboards")

    @model_validator(mode="after")
    def _distinct(self) -> "Hosts":
        labels = [v for v in self.model_dump().values()]
        refuse("host labels used twice", twice(labels))
        return self


class IngressConfig(Model):
    """The env's one shared internet-facing ALB (an IngressGroup) and its controller."""

    hosts: Hosts = Field(default=Hosts(), description="host label of each app under domain: <label>.<domain>")
    class_name: DnsLabel = Field(default="platform-alb", description="IngressClass every platform Ingress uses")
    ssl_policy: str = Field(
        description="ELB security policy of the HTTPS listener (TLS versions and ciphers); also the controller's default", default="ELBSecurityPolicy-TLS13-1-2-2021-06", pattern=r"^ELBSecurityPolicy-[A-Za-z0-9-]+$")
    inbound_cidrs: list[Cidr] = Field(default_factory=lambda: ["0.0.0.0/0"], min_length=1,
                                      description="who may reach the ALB at all")
    idle_timeout_seconds: Annotated[int, Field(ge=1, le=4000)] = Field(default=60,
        description="ALB idle connection timeout in seconds (long-running requests and websockets are cut after it)")
    deletion_protection: bool = Field(default=False,
        description="ALB deletion protection: AWS refuses to delete the load balancer while on")
    access_logs_bucket: str | None = Field(default=None, description="S3 bucket for ALB access logs (off when unset)")
    controller_replicas: Annotated[int, Field(ge=1, le=5)] = Field(default=2,
        description="AWS Load Balancer Controller pods")
