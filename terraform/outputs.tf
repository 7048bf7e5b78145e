# The contract with the generator: ONE output per field of `Infrastructure`
# (constructs/mlplatform/config/models.py), with the same name and shape. Import them with
#   terraform output -json > out.json && python app.py infra --env <env> --from out.json
# which validates them and writes environments/infra/<env>.yaml. None of them is sensitive: they
# are identifiers and endpoints, never credentials (the importer refuses sensitive ones).

output "cluster_name" {
  description = "EKS cluster name."
  value       = aws_eks_cluster.this.name
}

output "region" {
  description = "AWS region."
  value       = var.region
}

output "account_id" {
  description = "AWS account id."
  value       = data.aws_caller_identity.current.account_id
}

output "vpc_id" {
  description = "VPC id (AWS Load Balancer Controller `vpcId`)."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "VPC CIDR (excluded from the internet egress of team namespaces)."
  value       = aws_vpc.this.cidr_block
}

output "alb_subnet_cidrs" {
  description = "CIDRs of the public subnets the internet-facing ALB lives in (NetworkPolicy ipBlocks to the pods behind an Ingress)."
  value       = sort([for s in aws_subnet.public : s.cidr_block])
}

output "control_plane_subnet_cidrs" {
  description = "CIDRs of the EKS control plane's ENI subnets (the cluster's vpc_config subnet_ids): NetworkPolicy ipBlocks to webhook and aggregated-API pods."
  value       = sort([for s in aws_subnet.control_plane : s.cidr_block])
}

output "pod_subnet_cidrs" {
  description = "CIDRs of the private subnets nodes and pods (VPC CNI) get their addresses from: no NetworkPolicy ipBlock may cover them."
  value       = sort([for s in aws_subnet.private : s.cidr_block])
}

output "private_subnet_tags" {
  description = "Tags that select the private (node) subnets: Karpenter subnetSelectorTerms."
  value       = local.private_subnet_tags
}

output "public_subnet_tags" {
  description = "Tags that select the public subnets of internet-facing ALBs."
  value       = local.public_subnet_tags
}

output "node_security_group_tags" {
  description = "Tags that select the node security group: Karpenter securityGroupSelectorTerms."
  value       = local.node_security_group_tags
}

output "system_node_labels" {
  description = "Labels of the system managed node group (controllers' nodeSelector)."
  value       = aws_eks_node_group.system.labels
}

output "efs" {
  description = "Shared EFS file system and its access point (PV volumeHandle <fs>::<fsap>)."
  value = {
    file_system_id  = aws_efs_file_system.shared.id
    access_point_id = aws_efs_access_point.shared.id
  }
}

output "certificate_arn" {
  description = "Validated ACM certificate for <domain> and *.<domain> (ALB listeners)."
  value       = aws_acm_certificate_validation.this.certificate_arn
}

output "certificate_domains" {
  description = "Domain and SANs of certificate_arn."
  value       = local.certificate_domains
}

output "route53_zone_id" {
  description = "Hosted zone of the env domain (external-dns zone filter)."
  value       = aws_route53_zone.this.zone_id
}

output "roles" {
  description = "IRSA role ARNs the generator puts on ServiceAccounts (eks.amazonaws.com/role-arn)."
  value = {
    karpenter                = aws_iam_role.irsa["karpenter"].arn
    efs_csi_driver           = aws_iam_role.irsa["efs_csi_driver"].arn
    external_dns             = aws_iam_role.irsa["external_dns"].arn
    external_secrets         = aws_iam_role.irsa["external_secrets"].arn
    load_balancer_controller = aws_iam_role.irsa["load_balancer_controller"].arn
    workloads_s3             = aws_iam_role.irsa["workloads_s3"].arn
    spark                    = aws_iam_role.irsa["spark"].arn
  }
}

output "karpenter_node_role" {
  description = "IAM role name of Karpenter-launched nodes (EC2NodeClass spec.role)."
  value       = aws_iam_role.karpenter_node.name
}

output "karpenter_interruption_queue" {
  description = "SQS queue name for Karpenter interruption handling."
  value       = aws_sqs_queue.karpenter_interruption.name
}

output "secrets_manager_prefix" {
  description = "Every platform secret lives under this Secrets Manager name prefix."
  value       = local.secrets_prefix
}

output "databases" {
  description = "Per platform database: endpoint, database name and the Secrets Manager name of its login."
  value = {
    for db in local.platform_databases : db => {
      host               = aws_db_instance.platform.address
      port               = aws_db_instance.platform.port
      database           = db
      credentials_secret = aws_secretsmanager_secret.platform["rds/${db}"].name
    }
  }
}

output "redis_endpoint" {
  description = "host:port of the Ray GCS Redis (TLS); null (absent) when var.ray_redis is null."
  value       = var.ray_redis == null ? null : "${aws_elasticache_replication_group.ray[0].primary_endpoint_address}:${aws_elasticache_replication_group.ray[0].port}"
}

# Not (yet) part of `Infrastructure`; the importer ignores outputs it does not know.
output "workloads_bucket" {
  description = "S3 bucket that the workloads-s3 role reads and writes."
  value       = aws_s3_bucket.workloads.bucket
}
