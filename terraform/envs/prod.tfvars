# prod: one NAT gateway per AZ, Multi-AZ database, every control-plane log type for a year.
# Must agree with environments/prod.yaml and environments/infra/prod.yaml (tests/test_terraform.py).
env                   = "prod"
account_id            = "333333333333"
region                = "us-east-1"
cluster_name          = "ml-prod"
domain                = "mlplatform.example.com"
availability_zone_ids = ["use1-az1", "use1-az2", "use1-az4"]
vpc_cidr              = "10.30.0.0/16"
kubernetes_version    = "1.33"

single_nat_gateway = false
log_retention_days = 365

system_node_group = {
  instance_types = ["m7i.xlarge"]
  min_size       = 3
  max_size       = 6
  desired_size   = 3
}

database_instance_class            = "db.r7g.xlarge"
database_allocated_storage_gib     = 100
database_max_allocated_storage_gib = 1000
database_multi_az                  = true
database_backup_retention_days     = 30

secret_recovery_window_days = 30

# Ray GCS fault tolerance (environments/prod.yaml ray.redis: external): a primary and a replica in another AZ.
ray_redis = {
  node_type               = "cache.r7g.large"
  engine_version          = "7.1"
  replicas                = 1
  snapshot_retention_days = 7
}

# Tenants (environments/prod.yaml teams): each team's members assume ml-prod-team-<team>, which EKS maps
# to Kubernetes group ml-team-<team> (the group the team namespace's RoleBindings name).
teams = {
  research = { namespace = "team-research", member_principal_arns = ["arn:aws:iam::333333333333:role/ml-prod-sso-team-research"] }
  nlp      = { namespace = "team-nlp", member_principal_arns = ["arn:aws:iam::333333333333:role/ml-prod-sso-team-nlp"] }
  vision   = { namespace = "team-vision", member_principal_arns = ["arn:aws:iam::333333333333:role/ml-prod-sso-team-vision"] }
}

# Notebooks run as the AD users' own uids (environments/prod.yaml keycloak.directory.posix). The shared
# EFS access point still enforces uid 1000 / gid 100, so /home/shared is one shared identity. To let the
# directory's ids count there, set this to null, apply, copy the new access point id into
# environments/infra/prod.yaml and `chmod 1777` the existing /shared (terraform/efs.tf, README
# "Existing identities").
# efs_shared_posix_user = null
