# staging: prod's shape at a smaller size. Must agree with environments/staging.yaml and
# environments/infra/staging.yaml (tests/test_terraform.py checks).
env                   = "staging"
account_id            = "222222222222"
region                = "us-west-2"
cluster_name          = "ml-staging"
domain                = "staging.mlplatform.example.com"
availability_zone_ids = ["usw2-az1", "usw2-az2", "usw2-az3"]
vpc_cidr              = "10.20.0.0/16"
kubernetes_version    = "1.33"

single_nat_gateway = true
log_retention_days = 180

system_node_group = {
  instance_types = ["m7i.large"]
  min_size       = 2
  max_size       = 4
  desired_size   = 2
}

database_instance_class            = "db.r7g.large"
database_allocated_storage_gib     = 50
database_max_allocated_storage_gib = 200
database_multi_az                  = true
database_backup_retention_days     = 7

secret_recovery_window_days = 7

# Ray clusters here run without GCS fault tolerance or with an in-cluster Redis (environments/staging.yaml ray.redis).
ray_redis = null

# Tenants (environments/staging.yaml teams): each team's members assume ml-staging-team-<team>, which EKS maps
# to Kubernetes group ml-team-<team> (the group the team namespace's RoleBindings name).
teams = {
  research = { namespace = "team-research", member_principal_arns = ["arn:aws:iam::222222222222:role/ml-staging-sso-team-research"] }
  nlp      = { namespace = "team-nlp", member_principal_arns = ["arn:aws:iam::222222222222:role/ml-staging-sso-team-nlp"] }
  vision   = { namespace = "team-vision", member_principal_arns = ["arn:aws:iam::222222222222:role/ml-staging-sso-team-vision"] }
}
