"""The Terraform outputs an env is built on (`environments/infra/<env>.yaml`, `Env.infrastructure`):
cluster, network, certificate, IAM roles, databases. `python app.py infra` writes the file."""
from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import Field, model_validator

from .base import Cidr, DnsLabel, Model, refuse

Arn = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")]
AwsAccountId = Annotated[str, Field(pattern=r"^\d{12}$")]
AwsRegion = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]


class Database(Model):
    """An RDS PostgreSQL endpoint made by Terraform; credentials live in Secrets Manager."""

    host: Annotated[str, Field(min_length=1)] = Field(
        description="endpoint hostname of the RDS instance (Terraform output)")
    port: Annotated[int, Field(ge=1, le=65535)] = Field(default=5432, description="PostgreSQL port of the RDS instance")
    database: DnsLabel = Field(description="name of the database on that instance that the component connects to")
    credentials_secret: Annotated[str, Field(min_length=1, description="Secrets Manager secret name (never the value)")]


class Efs(Model):
    file_system_id: Annotated[str, Field(pattern=r"^fs-[0-9a-f]{8,17}$")] = Field(
        description="EFS file system shared by the namespaces in storage.efs_mounts (static PVs)")
    access_point_id: Annotated[str, Field(pattern=r"^fsap-[0-9a-f]{8,17}$")] = Field(
        description="EFS access point the static PVs mount (fixes the uid/gid and root directory)")


class IamRoles(Model):
    """IRSA role ARNs created by Terraform, one per controller or workload identity."""

    karpenter: Arn = Field(
        description="IRSA role of the Karpenter controller (launches and terminates EC2 nodes, reads the interruption queue)")
    efs_csi_driver: Arn = Field(description="IRSA role of the EFS CSI driver controller")
    external_dns: Arn = Field(description="IRSA role of external-dns (writes the records of route53_zone_id)")
    external_secrets: Arn = Field(
        description="IRSA role of the External Secrets Operator (reads secrets under secrets_manager_prefix)")
    load_balancer_controller: Arn = Field(
        description="IRSA role of the AWS Load Balancer Controller (creates the ALB and its target groups)")
    workloads_s3: Arn = Field(
        description="IRSA role of the pods that use workloads_bucket (the MLflow server, Airflow task pods and S3 task logs)")
    spark: Arn = Field(description="Spark drivers/executors in the job namespaces (S3, like workloads_s3)")


class Infrastructure(Model):
    """Inputs produced by the separate Terraform (`terraform output -json`); never hand-invented.

    `python app.py infra --env <name> --from <terraform-output.json>` writes this file from the
    outputs declared in `terraform/outputs.tf` (one output per field, same name).
    """

    cluster_name: DnsLabel = Field(
        description="EKS cluster name (Karpenter's discovery tags, the ALB controller, the EC2NodeClass)")
    region: AwsRegion = Field(description="AWS region of the cluster, e.g. eu-west-1")
    account_id: AwsAccountId = Field(
        description="12-digit AWS account ID of the cluster; outputs of another account's state are refused")
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")] = Field(
        description="the cluster's VPC (AWS Load Balancer Controller)")
    vpc_cidr: Cidr = Field(
        description="the VPC's CIDR: every subnet CIDR below must lie inside it; team egress never reaches it")
    alb_subnet_cidrs: list[Cidr] = Field(min_length=1, description="the public subnets of the internet-facing ALB: "
                                         "the only addresses ALB traffic to ip targets comes from")
    control_plane_subnet_cidrs: list[Cidr] = Field(min_length=1, description="the EKS control plane's ENI subnets (the "
                                                   "cluster's vpc_config): where webhook and aggregated-API calls come from")
    pod_subnet_cidrs: list[Cidr] = Field(min_length=1, description="the private subnets nodes and pods (VPC CNI) take "
                                         "addresses from: no NetworkPolicy ipBlock may cover them")
    private_subnet_tags: dict[str, str] = Field(min_length=1, description="tags that select the node subnets (Karpenter)")
    public_subnet_tags: dict[str, str] = Field(min_length=1, description="tags that select the internet-facing ALB subnets")
    node_security_group_tags: dict[str, str] = Field(min_length=1, description="tags that select the node security group (Karpenter)")
    system_node_labels: dict[str, str] = Field(min_length=1, description="labels of the managed node group that runs controllers")
    efs: Efs = Field(description="the shared EFS file system and access point")
    certificate_arn: Arn = Field(
        description="ACM certificate the ALB's HTTPS listener serves (its names: certificate_domains)")
    certificate_domains: list[str] = Field(min_length=1, description="the ACM certificate's domain and SANs (e.g. *.dev.example.com)")
    route53_zone_id: Annotated[str, Field(pattern=r"^Z[0-9A-Z]{4,32}$")] = Field(
        description="Route 53 hosted zone external-dns writes the env's records to")
    roles: IamRoles = Field(description="IRSA role ARNs, one per controller or workload identity")
    karpenter_node_role: Annotated[str, Field(pattern=r"^[\w+=,.@-]{1,64}$", description="IAM role name of Karpenter-launched nodes")]
    karpenter_interruption_queue: Annotated[str, Field(min_length=1, description="SQS queue name")]
    secrets_manager_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9/_+=.@-]+/$", description="every platform secret lives under this Secrets Manager name prefix")]
    workloads_bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="S3 bucket of the workloads-s3 role (MLflow artifacts, logs)")]
    databases: dict[DnsLabel, Database] = Field(
        description="RDS databases by name (keycloak always; airflow and mlflow when enabled): one missing for an enabled component is an error", default_factory=dict)
    redis_endpoint: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$")] | None = Field(
        default=None, description="host:port of the env's ElastiCache Redis (TLS, AUTH) for Ray GCS fault tolerance; "
                                  "null: the env has none")

    @model_validator(mode="after")
    def _subnets(self) -> "Infrastructure":
        vpc = ipaddress.ip_network(self.vpc_cidr)
        kinds = {"alb_subnet_cidrs": self.alb_subnet_cidrs, "control_plane_subnet_cidrs": self.control_plane_subnet_cidrs,
                 "pod_subnet_cidrs": self.pod_subnet_cidrs}
        for field, cidrs in kinds.items():
            outside = [c for c in cidrs if not ipaddress.ip_network(c).subnet_of(vpc)]
            refuse(f"{field} outside vpc_cidr {self.vpc_cidr}", set(outside))
        pods = [ipaddress.ip_network(c) for c in self.pod_subnet_cidrs]
        for field in ("alb_subnet_cidrs", "control_plane_subnet_cidrs"):
            clash = {c for c in kinds[field] if any(ipaddress.ip_network(c).overlaps(p) for p in pods)}
            refuse(f"{field} overlap the pod subnets (a policy admitting them would admit pods)", clash)
        return self
