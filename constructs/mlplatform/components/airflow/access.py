"""How Airflow is reached and what it reads: its route (its own Keycloak login), its OIDC client
secret, fernet and signing keys, database login and (private DAG repos) git-sync login, and the
Secrets they land in."""
from __future__ import annotations

from ...kit.routes import Route
from ...kit.secrets import Credential, SecretWant, database_data, database_uri, oidc_credential, oidc_data

AIRFLOW_KEYS = "airflow-keys"
AIRFLOW_DB = "airflow-db"
AIRFLOW_OIDC = "airflow-oidc"
AIRFLOW_GIT_SYNC = "airflow-git-sync"
KEYS = "airflow/keys"  # catalog keys
GIT_SYNC = "airflow/git-sync"

ROUTE = Route("airflow", "platform", "/airflow", "airflow", "airflow-api-server", 8080, "/airflow/api/v2/monitor/health",
              "app", callbacks=("/airflow/auth/oauth-authorized/keycloak",), post_logout="/airflow/",
              description="Airflow UI", pods=(("component", "api-server"), ("tier", "airflow")), target_ports=(8080,))

CREDENTIALS = (
    oidc_credential(ROUTE.name, "Keycloak client secret of Airflow"),
    Credential(KEYS, ("fernet-key", "webserver-secret-key", "api-secret-key", "jwt-secret"),
               "Airflow fernet key and signing keys (otherwise generated at random by the chart)"),
    Credential(GIT_SYNC, ("username", "password"),
               "Airflow DAG repository login for git-sync: username and an access token (private repos only)",
               optional=True),
)


def routes(env) -> list[Route]:
    return [ROUTE]


def secrets(env) -> list[SecretWant]:
    out = [SecretWant(AIRFLOW_KEYS, "airflow", {
        "fernet-key": (KEYS, "fernet-key"),
        "webserver-secret-key": (KEYS, "webserver-secret-key"),
        "api-secret-key": (KEYS, "api-secret-key"),
        "jwt-secret": (KEYS, "jwt-secret"),
    })]
    # Env._infrastructure_inputs refused a missing database at load time (config/models.py); the
    # Secret of a disabled component's database is not wanted.
    if "airflow" in env.required_databases():
        out.append(SecretWant(AIRFLOW_DB, "airflow", database_data("airflow"),
                              template_data={"connection": database_uri(env, "airflow")}))
    out.append(SecretWant(AIRFLOW_OIDC, "airflow", oidc_data(ROUTE.name)))
    git = env.airflow.dags.git_sync
    if env.airflow.enabled and env.airflow.dags.source == "git_sync" and git is not None and git.credentials:
        # dags.gitSync.credentialsSecret: git-sync v4 reads GITSYNC_*, the chart's v3 names stay for older images.
        out.append(SecretWant(AIRFLOW_GIT_SYNC, "airflow", {
            f"{p}_{k.upper()}": (GIT_SYNC, k) for p in ("GITSYNC", "GIT_SYNC") for k in ("username", "password")}))
    return out
