"""How Keycloak is reached and what it reads: its route (the login pages), its bootstrap admin
credential, and the Secrets it wants: the database login, the bootstrap admin, and every OIDC
client secret of the realm (the realm sync mounts them as files); with a directory, its bind
password (the realm sync substitutes it into the federation) and, for a private CA, its certificate
(Keycloak's truststore)."""
from __future__ import annotations

from ...kit.routes import ALB_CLIENT, Route, app_clients
from ...kit.secrets import Credential, SecretWant, database_data, oidc_key

# Kubernetes Secret names (namespace `keycloak`).
KEYCLOAK_DB = "keycloak-db"
KEYCLOAK_ADMIN = "keycloak-bootstrap-admin"
KEYCLOAK_CLIENTS = "keycloak-oidc-clients"
BOOTSTRAP_ADMIN = "keycloak/bootstrap-admin"  # the catalog key
KEYCLOAK_DIRECTORY = "keycloak-directory"        # the LDAP bind password (realm sync)
KEYCLOAK_DIRECTORY_CA = "keycloak-directory-ca"  # the directory's private CA (Keycloak truststore)
DIRECTORY_BIND = "keycloak/directory-bind"       # catalog keys
DIRECTORY_CA = "keycloak/directory-ca"
BIND_PASSWORD_KEY = "bind-password"
CA_KEY = "directory-ca.pem"

# The login pages. Health on the management port (KC 25+: 9000).
ROUTE = Route("keycloak", "auth", "/", "keycloak", "keycloak-service", 8080, "/health/ready", "none",
              health_port=9000, description="Keycloak (realm login, account console)",
              pods=(("app", "keycloak"), ("app.kubernetes.io/instance", "keycloak")), target_ports=(8080, 9000))

CREDENTIALS = (
    Credential(BOOTSTRAP_ADMIN, ("username", "password"),
               "Keycloak temporary bootstrap admin (the realm is managed by keycloak-config-cli with it)"),
    Credential(DIRECTORY_BIND, ("password",),
               "Password of the LDAP/AD service account Keycloak binds as (keycloak.directory.bind_dn)", optional=True),
    Credential(DIRECTORY_CA, ("certificate",),
               "PEM certificate of the private CA that signed the directory's TLS certificate "
               "(keycloak.directory.ca_certificate)", optional=True),
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
        *directory_secrets(env),
    ]


def directory_secrets(env) -> list[SecretWant]:
    """The directory's bind password (and private CA) when the env federates one."""
    d = env.keycloak.directory
    if d is None:
        return []
    out = [SecretWant(KEYCLOAK_DIRECTORY, "keycloak", {BIND_PASSWORD_KEY: (DIRECTORY_BIND, "password")})]
    if d.ca_certificate:
        out.append(SecretWant(KEYCLOAK_DIRECTORY_CA, "keycloak", {CA_KEY: (DIRECTORY_CA, "certificate")}))
    return out
