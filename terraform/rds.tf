# One PostgreSQL instance for the platform's databases (local.platform_databases: keycloak,
# airflow, mlflow), reachable from inside the VPC only. The master password is generated and
# rotated by RDS in Secrets Manager (manage_master_user_password): it never appears in Terraform
# code, variables or state. The per-database logins live in the `<prefix>rds/<db>` secrets
# (secrets.tf), whose values are set outside git (README.md, "Set outside git").

resource "aws_db_subnet_group" "platform" {
  name        = "${local.name}-platform"
  description = "Private subnets of ${local.name}"
  subnet_ids  = [for s in aws_subnet.private : s.id]
}

resource "aws_security_group" "rds" {
  name        = "${local.name}-rds"
  description = "PostgreSQL of ${local.name}: from inside the VPC only"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${local.name}-rds" }
}

resource "aws_vpc_security_group_ingress_rule" "rds_postgres" {
  security_group_id = aws_security_group.rds.id
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  description       = "PostgreSQL from the VPC (pods of keycloak, airflow, mlflow)"
}

locals {
  postgres_major = split(".", var.database_engine_version)[0]
}

resource "aws_db_parameter_group" "platform" {
  name_prefix = "${local.name}-platform-pg${local.postgres_major}-"
  family      = "postgres${local.postgres_major}"
  description = "TLS only, slow-query and DDL logging"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "rds_monitoring_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${local.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_trust.json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "platform" {
  identifier     = "${local.name}-platform"
  engine         = "postgres"
  engine_version = var.database_engine_version
  instance_class = var.database_instance_class

  allocated_storage     = var.database_allocated_storage_gib
  max_allocated_storage = var.database_max_allocated_storage_gib
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.data.arn

  username                      = "platform_admin"
  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.secrets.arn
  # Lets the apps authenticate with IAM tokens instead of passwords when they support it.
  iam_database_authentication_enabled = true

  db_subnet_group_name   = aws_db_subnet_group.platform.name
  vpc_security_group_ids = [aws_security_group.rds.id]
  publicly_accessible    = false
  multi_az               = var.database_multi_az
  parameter_group_name   = aws_db_parameter_group.platform.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  backup_retention_period   = var.database_backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.name}-platform-final"

  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade", "iam-db-auth-error"]
  monitoring_interval             = 60
  monitoring_role_arn             = aws_iam_role.rds_monitoring.arn

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.data.arn
  performance_insights_retention_period = 7

  depends_on = [aws_iam_role_policy_attachment.rds_monitoring]
}
