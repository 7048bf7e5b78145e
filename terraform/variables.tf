# Per-env values live in envs/<env>.tfvars; defaults here are the production-grade choice, an
# env relaxes them explicitly (dev: one NAT gateway, single-AZ database, fewer log types).

variable "env" {
  description = "Environment name, as in environments/<env>.yaml (dev, staging, prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.env)) && length(var.env) <= 20
    error_message = "env must be a DNS label of at most 20 characters."
  }
}

variable "account_id" {
  description = "AWS account of this env; the provider refuses to run against any other."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits."
  }
}

variable "region" {
  description = "AWS region of the cluster and everything around it."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster name; also the prefix of every named resource and of the Secrets Manager names (<cluster_name>/...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.cluster_name)) && length(var.cluster_name) <= 30
    error_message = "cluster_name must be a DNS label of at most 30 characters (IAM role names add suffixes)."
  }
}

variable "domain" {
  description = "The env's domain (environments/<env>.yaml `domain`): a Route 53 zone and a certificate for it and *.<domain>."
  type        = string
}

variable "availability_zone_ids" {
  description = "The three AZ ids (e.g. usw2-az1) of the subnets. Ids, not names: names map to different zones in each account, ids do not; an explicit list never moves subnets when AWS adds or impairs a zone."
  type        = list(string)

  validation {
    condition     = length(var.availability_zone_ids) == 3 && length(distinct(var.availability_zone_ids)) == 3
    error_message = "availability_zone_ids must list three distinct AZ ids."
  }
}

variable "vpc_cidr" {
  description = "VPC CIDR (/16 expected: private /20 and public /24 subnets are carved from it)."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper, but an AZ outage cuts egress for the others)."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "EKS control-plane minor; keep equal to environments/<env>.yaml `kubernetes_version` (the generator validates against it)."
  type        = string
}

variable "api_public_cidrs" {
  description = "CIDRs allowed to reach the public EKS API endpoint. Empty (default): the endpoint is private only (VPN / bastion)."
  type        = list(string)
  default     = []
}

variable "cluster_admin_principal_arns" {
  description = "IAM principals (roles of the platform team, CI) granted cluster-admin through EKS access entries."
  type        = list(string)
  default     = []
}

variable "teams" {
  description = "Tenant teams of the env (environments/<env>.yaml `teams`): team name -> its namespace (team-<name>) and the IAM principals of its members, who may assume the team role mapped to Kubernetes group ml-team-<name>."
  type = map(object({
    namespace             = string
    member_principal_arns = list(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for t in values(var.teams) : length(t.member_principal_arns) > 0])
    error_message = "every team needs at least one member principal ARN."
  }
}

variable "cluster_log_types" {
  description = "EKS control-plane log types sent to CloudWatch."
  type        = list(string)
  default     = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups (EKS control plane, VPC flow logs)."
  type        = number
  default     = 365
}

variable "system_node_group" {
  description = "The managed node group that runs the controllers (Karpenter, CoreDNS, Argo CD, ...). Workloads run on Karpenter nodes."
  type = object({
    instance_types = optional(list(string), ["m7i.large"])
    ami_type       = optional(string, "AL2023_x86_64_STANDARD")
    min_size       = optional(number, 2)
    max_size       = optional(number, 4)
    desired_size   = optional(number, 2)
    disk_size_gib  = optional(number, 50)
  })
  default = {}
}

variable "system_node_labels" {
  description = "Kubernetes labels of the system node group (output system_node_labels; the generator schedules controllers with them)."
  type        = map(string)
  default = {
    "platform.mlops.io/node-group" = "system"
  }
}

variable "enable_pod_identity_agent" {
  description = "Install the eks-pod-identity-agent add-on. Not needed today: every AWS identity here is IRSA."
  type        = bool
  default     = false
}

variable "controller_service_accounts" {
  description = "namespace:serviceaccount of each controller that assumes an IRSA role; must match what the generator deploys."
  type = object({
    karpenter                = optional(string, "kube-system:karpenter")
    load_balancer_controller = optional(string, "kube-system:aws-load-balancer-controller")
    external_dns             = optional(string, "external-dns:external-dns")
    external_secrets         = optional(string, "external-secrets:external-secrets")
  })
  default = {}
}

variable "workloads_s3_service_accounts" {
  description = "namespace:serviceaccount patterns (IAM StringLike, `*` allowed) that may assume the workloads-s3 role."
  type        = list(string)
  default = [
    "mlflow:mlflow",
    "airflow:airflow-worker",
    # Airflow components that write or read task logs in S3 (environments/<env>.yaml airflow.logs.target: s3)
    "airflow:airflow-scheduler",
    "airflow:airflow-api-server",
    "airflow:airflow-triggerer",
    "airflow:airflow-dag-processor",
    "jupyterhub:jupyter-user",
    "team-*:ml-workloads",
  ]
}

variable "spark_service_accounts" {
  description = "namespace:serviceaccount of Spark drivers/executors (environments/<env>.yaml spark.job_namespaces x spark.service_account) that may assume the spark role."
  type        = list(string)
  default     = ["airflow:spark"]
}

# The shared PostgreSQL instance (keycloak, airflow and mlflow databases).
variable "database_engine_version" {
  description = "PostgreSQL major (or major.minor) version; minor upgrades are automatic."
  type        = string
  default     = "17"
}

variable "database_instance_class" {
  description = "RDS instance class of the platform database."
  type        = string
  default     = "db.r7g.large"
}

variable "database_allocated_storage_gib" {
  description = "Initial gp3 storage of the platform database."
  type        = number
  default     = 50
}

variable "database_max_allocated_storage_gib" {
  description = "Storage autoscaling ceiling of the platform database."
  type        = number
  default     = 500
}

variable "database_multi_az" {
  description = "Synchronous standby in a second AZ (failover in about a minute)."
  type        = bool
  default     = true
}

variable "database_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 14

  validation {
    condition     = var.database_backup_retention_days >= 1 && var.database_backup_retention_days <= 35
    error_message = "database_backup_retention_days must be between 1 and 35."
  }
}

variable "ray_redis" {
  description = "ElastiCache Redis for Ray GCS fault tolerance (redis.tf): null for none (the env's Ray clusters then run without fault tolerance or with an in-cluster Redis). KubeRay needs a standalone Redis: one shard, `replicas` read replicas for failover."
  type = object({
    node_type               = string
    engine_version          = string
    replicas                = number
    snapshot_retention_days = number
  })
  default = {
    node_type               = "cache.r7g.large"
    engine_version          = "7.1"
    replicas                = 1
    snapshot_retention_days = 7
  }

  validation {
    condition     = var.ray_redis == null ? true : (var.ray_redis.replicas >= 1 && var.ray_redis.replicas <= 5 && var.ray_redis.snapshot_retention_days >= 1)
    error_message = "ray_redis.replicas must be 1-5 (automatic failover needs a replica) and snapshot_retention_days at least 1."
  }
}

variable "efs_shared_posix_user" {
  description = "POSIX user the shared EFS access point enforces on every client (null: none, clients keep their own ids -- for envs whose notebooks run as directory identities, keycloak.directory.posix)."
  type = object({
    uid = number
    gid = number
  })
  default = { uid = 1000, gid = 100 }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted Secrets Manager secret can still be restored."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Extra tags on every resource (cost centre, owner)."
  type        = map(string)
  default     = {}
}
