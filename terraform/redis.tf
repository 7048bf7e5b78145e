# ElastiCache Redis for Ray GCS fault tolerance (components/kuberay.py, `ray.redis: external`):
# one replication group per env when var.ray_redis is set (prod), shared by the team clusters
# (each RayCluster keeps its GCS under its own key namespace, its UID). KubeRay supports a
# standalone Redis only (no cluster mode), so this is one shard: a primary plus at least one
# replica, with automatic failover across AZs. TLS in transit (Ray connects with rediss://), KMS at rest.
#
# AUTH: the token is the `<prefix>ray/redis` secret (secrets.tf), set outside git like every
# other value. Terraform never holds it: after the first apply an operator sets it with
#   aws elasticache modify-replication-group --replication-group-id <cluster>-ray-gcs \
#     --auth-token "$(aws secretsmanager get-secret-value ... )" --auth-token-update-strategy ROTATE \
#     --apply-immediately
# (README.md, "Set outside git"), and Terraform ignores the attribute from then on.

resource "aws_elasticache_subnet_group" "ray" {
  count       = var.ray_redis == null ? 0 : 1
  name        = "${local.name}-ray-gcs"
  description = "Private subnets of ${local.name} (Ray GCS Redis)"
  subnet_ids  = [for s in aws_subnet.private : s.id]
}

resource "aws_security_group" "ray_redis" {
  count       = var.ray_redis == null ? 0 : 1
  name        = "${local.name}-ray-redis"
  description = "Ray GCS Redis of ${local.name}: from inside the VPC only"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${local.name}-ray-redis" }
}

resource "aws_vpc_security_group_ingress_rule" "ray_redis" {
  count             = var.ray_redis == null ? 0 : 1
  security_group_id = aws_security_group.ray_redis[0].id
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "tcp"
  from_port         = 6379
  to_port           = 6379
  description       = "Redis (TLS) from the VPC: Ray head pods in the team namespaces"
}

resource "aws_elasticache_replication_group" "ray" {
  #checkov:skip=CKV_AWS_31:The AUTH token is set out of band from the Secrets Manager secret ray/redis (see the header of this file) so that no token value is ever in Terraform code, variables or state; transit encryption is on.
  count                = var.ray_redis == null ? 0 : 1
  replication_group_id = "${local.name}-ray-gcs"
  description          = "Ray GCS fault tolerance of ${local.name}"
  engine               = "redis"
  engine_version       = var.ray_redis.engine_version
  node_type            = var.ray_redis.node_type
  port                 = 6379
  num_cache_clusters   = 1 + var.ray_redis.replicas

  automatic_failover_enabled = true # replicas >= 1 (variables.tf): a replica in another AZ takes over
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.ray[0].name
  security_group_ids         = [aws_security_group.ray_redis[0].id]

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.data.arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"

  snapshot_retention_limit   = var.ray_redis.snapshot_retention_days
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:05:30-sun:06:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  lifecycle {
    ignore_changes = [auth_token, auth_token_update_strategy]
  }
}
