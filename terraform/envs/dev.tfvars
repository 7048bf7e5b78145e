# dev: small and cheap, first to get every change. Must agree with environments/dev.yaml
# (domain, kubernetes_version) and environments/infra/dev.yaml (tests/test_terraform.py checks).
env                   = "dev"
account_id            = "111111111111"
region                = "us-west-2"
cluster_name          = "ml-dev"
domain                = "dev.mlplatform.example.com"
availability_zone_ids = ["usw2-az1", "usw2-az2", "usw2-az3"]
vpc_cidr              = "10.10.0.0/16"
kubernetes_version    = "1.34"

single_nat_gateway = true
cluster_log_types  = ["api", "audit", "authenticator"]
log_retention_days = 90

system_node_group = {
  instance_types = ["m7i.large"]
  min_size       = 2
  max_size       = 3
  desired_size   = 2
}

database_instance_class            = "db.t4g.medium"
database_allocated_storage_gib     = 20
database_max_allocated_storage_gib = 100
database_multi_az                  = false
database_backup_retention_days     = 7

secret_recovery_window_days = 7

# Ray clusters here run without GCS fault tolerance or with an in-cluster Redis (environments/dev.yaml ray.redis).
ray_redis = null

# Tenants (environments/dev.yaml teams): each team's members assume ml-dev-team-<team>, which EKS maps
# to Kubernetes group ml-team-<team> (the group the team namespace's RoleBindings name).
teams = {
  research = { namespace = "team-research", member_principal_arns = ["arn:aws:iam::111111111111:role/ml-dev-sso-team-research"] }
  nlp      = { namespace = "team-nlp", member_principal_arns = ["arn:aws:iam::111111111111:role/ml-dev-sso-team-nlp"] }
}
