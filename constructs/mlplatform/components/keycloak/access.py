"""How Keycloak is reached and what it reads: its route (the login pages), its bootstrap admin
credential, and the Secrets it wants: the database login, the bootstrap admin, and every OIDC
client secret of the realm (the realm sync mounts them as files)."""
from __future__ import annotations

from ...kit.routes import ALB_CLIENT, Route, app_clients
from ...kit.secrets import Credential, SecretWant, database_data, oidc_key

# Kubernetes Secret names (namespace `keycloak`).
KEYCLOAK_DB = "keycloak-db"
KEYCLOAK_ADMIN = "keycloak-bootstrap-admin"
KEYCLOAK_CLIENTS = "keycloak-oidc-clients"
BOOTSTRAP_ADMIN = "keycloak/bootstrap-admin"  # the catalog key

# The login pages. Health on the management port (KC 25+: 9000).
ROUTE = Route("keycloak", "auth", "/", "keycloak", "keycloak-service", 8080, "/health/ready", "none",
              health_port=9000, description="Keycloak (realm login, account console)",
              pods=(("app", "keycloak"), ("app.kubernetes.io/instance", "keycloak")), target_ports=(8080, 9000))

CREDENTIALS = (
    Credential(BOOTSTRAP_ADMIN, ("username", "password"),
               "Keycloak temporary bootstrap admin (the realm is managed by keycloak-config-cli with it)"),
)


def client_secret_key(client: str) -> str:
    """Key of a client's secret in Secret `keycloak-oidc-clients` (read by the realm sync)."""
    return client


def routes(env) -> list[Route]:
    return [ROUTE]


def secrets(env) -> list[SecretWant]:
    clients = [r.name for r in app_clients(env)] + [ALB_CLIENT]
    return [
        SecretWant(KEYCLOAK_DB, "keycloak", database_data("keycloak")),
        SecretWant(KEYCLOAK_ADMIN, "keycloak", {"username": (BOOTSTRAP_ADMIN, "username"),
                                                "password": (BOOTSTRAP_ADMIN, "password")}),
        SecretWant(KEYCLOAK_CLIENTS, "keycloak",
                   {client_secret_key(c): (oidc_key(c), "client-secret") for c in clients}),
    ]
