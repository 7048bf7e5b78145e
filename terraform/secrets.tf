# Secrets Manager secrets the platform reads (through External Secrets), created EMPTY.
#
# Terraform declares the names only: there is deliberately no aws_secretsmanager_secret_version
# and no secret value anywhere in this configuration, its variables or its state. The values are
# set outside git, once per env, with `aws secretsmanager put-secret-value` (README.md,
# "Set outside git"); External Secrets then syncs them into Kubernetes Secrets.
#
# The names must equal the generator's catalog: the credential keys the units declare
# (`catalog()` in constructs/mlplatform/kit/secrets.py), and `rds/<db>` for every database of the env
# (environments/infra/<env>.yaml `databases`). tests/test_terraform.py compares both ways.

locals {
  secrets_prefix = "${local.name}/"

  # key under the prefix => what the secret holds (JSON properties)
  platform_credentials = {
    "keycloak/bootstrap-admin" = "Keycloak bootstrap admin: username, password"
    "keycloak/directory-bind"  = "LDAP/AD service account Keycloak binds as (envs with keycloak.directory): password"
    "keycloak/directory-ca"    = "PEM of the private CA of the directory's TLS certificate (keycloak.directory.ca_certificate): certificate"
    "oidc/jupyterhub"          = "Keycloak OIDC client secret of JupyterHub: client-secret"
    "oidc/airflow"             = "Keycloak OIDC client secret of Airflow: client-secret"
    "oidc/grafana"             = "Keycloak OIDC client secret of Grafana: client-secret"
    "oidc/argocd"              = "Keycloak OIDC client secret of Argo CD: client-secret"
    "oidc/platform-ui"         = "Keycloak OIDC client secret of the shared ALB login: client-secret"
    "jupyterhub/hub"           = "JupyterHub hub: cookie-secret, crypt-keeper-key (64 hex characters each)"
    "airflow/keys"             = "Airflow: fernet-key, webserver-secret-key, api-secret-key, jwt-secret"
    "huggingface/token"        = "Hugging Face token for gated models: token"
    "serving/api-key"          = "API key of the vLLM model endpoints (Authorization: Bearer): api-key"
    "grafana/admin"            = "Grafana built-in admin (break-glass; users log in through Keycloak): admin-user, admin-password"
    "monitoring/alertmanager"  = "Alertmanager configuration with receivers (webhook URLs, tokens): alertmanager.yaml"
    "ray/redis"                = "Redis password of Ray GCS fault tolerance (the ElastiCache AUTH token, or the in-cluster Redis's): password"
    "airflow/git-sync"         = "Airflow DAG repository login for git-sync (private repos): username, password (an access token)"
    "registry/pull"            = "Registry mirror pull account (a Harbor robot account; read with registry.pull_secret): username, password"
  }

  # One PostgreSQL database (and login) per platform component on aws_db_instance.platform.
  platform_databases = ["airflow", "keycloak", "mlflow"]

  platform_secrets = merge(
    local.platform_credentials,
    { for db in local.platform_databases : "rds/${db}" => "PostgreSQL login of the ${db} database: username, password" },
  )
}

resource "aws_secretsmanager_secret" "platform" {
  #checkov:skip=CKV2_AWS_57:Values are OIDC client secrets, chart signing keys and third-party tokens whose other side cannot be changed by a rotation Lambda; they are rotated by hand (README.md "Rotation"). The RDS master secret is rotated by RDS itself.
  for_each = local.platform_secrets

  name                    = "${local.secrets_prefix}${each.key}"
  description             = each.value
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = var.secret_recovery_window_days
}
