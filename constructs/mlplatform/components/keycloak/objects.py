"""Component `keycloak`: the identity provider and the platform realm, declared in code.

* `Keycloak` (operator CR): replicas per env, hostname `auth.<domain>`, the RDS database with
  credentials from an ExternalSecret, HTTP behind the shared ALB (TLS ends at the ALB; the
  forwarded headers are trusted), bootstrap admin from an ExternalSecret.
* The realm (never `master`): roles and groups for RBAC, one confidential OIDC client per app
  that logs users in itself and one (`platform-ui`) for the ALB login in front of UIs without
  their own. Redirect URIs come from the routes (`kit/routes.py`), the same list the Ingresses
  come from.
  Client secrets are never in git: the realm file holds `$(file:UTF-8:...)` placeholders that
  keycloak-config-cli fills from Secret `keycloak-oidc-clients` (an ExternalSecret) mounted as
  files; its admin login comes from files too (Spring Boot configtree), never env vars.
* With `keycloak.directory`, the realm federates the organisation's LDAP / AD (federation.py):
  the user-storage component and its mappers, the mapped directory groups with their roles, and
  the POSIX claims on the identity clients; the bind password is a placeholder filled from Secret
  `keycloak-directory`, and a private CA joins the Keycloak CR's truststores.

Why not KeycloakRealmImport: it imports a realm once and ignores later changes. The realm is
applied by a keycloak-config-cli Job instead, which is idempotent (creates, updates, removes).
The Job's pod template carries the realm's sha256, and Argo CD replaces the Job
(`Replace=true,Force=true`) exactly when that changes: a realm edit in git re-runs the sync,
anything else leaves the finished Job alone.
"""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from ...kit import k8s, routes, versions
from ...kit.ingress import block_path, ingress
from ...kit.meta import Obj, metadata
from .. import kuberay
from . import federation
from .access import (BIND_PASSWORD_KEY, KEYCLOAK_ADMIN, KEYCLOAK_CLIENTS, KEYCLOAK_DB, KEYCLOAK_DIRECTORY,
                     KEYCLOAK_DIRECTORY_CA, ROUTE, client_secret_key)

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "keycloak"
NAMESPACE = "keycloak"
INSTANCE = "keycloak"  # the Keycloak CR; the operator names its Service `<name>-service`
SERVICE = f"{INSTANCE}-service"
HTTP_PORT = 8080
MANAGEMENT_PORT = 9000
REALM_CONFIGMAP = "keycloak-realm"
REALM_JOB = "keycloak-realm-sync"
REALM_FILE = "realm.json"
LABEL_REALM_HASH = "platform.mlops.io/realm-sha256"

# Realm roles, each granted through a group of the same purpose.
ROLES: dict[str, str] = {
    "admin": "Platform administrators: full access to every platform UI",
    "ml-engineer": "Build and operate pipelines, training and serving",
    "data-scientist": "Notebooks, experiments and their tracking",
    "viewer": "Read-only access to dashboards and UIs",
}
GROUPS: dict[str, str] = {"admins": "admin", "ml-engineers": "ml-engineer",
                          "data-scientists": "data-scientist", "viewers": "viewer"}


ADMIN_DIR = "/run/secrets/keycloak-admin"    # Spring configtree: file name = property name
CLIENTS_DIR = "/run/secrets/oidc-clients"    # one file per client secret


def _secret_file(client: str) -> str:
    """The realm placeholder keycloak-config-cli fills from the mounted client secret file."""
    return f"$(file:UTF-8:{CLIENTS_DIR}/{client_secret_key(client)})"


def _mappers(client: str) -> list[dict]:
    """Claims every platform app reads: group names, realm roles, and this client as audience."""
    return [
        {"name": "groups", "protocol": "openid-connect", "protocolMapper": "oidc-group-membership-mapper",
         "config": {"claim.name": "groups", "full.path": "false", "id.token.claim": "true",
                    "access.token.claim": "true", "userinfo.token.claim": "true"}},
        {"name": "realm-roles", "protocol": "openid-connect", "protocolMapper": "oidc-usermodel-realm-role-mapper",
         "config": {"claim.name": "roles", "multivalued": "true", "jsonType.label": "String",
                    "id.token.claim": "true", "access.token.claim": "true", "userinfo.token.claim": "true"}},
        {"name": "audience", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
         "config": {"included.client.audience": client, "id.token.claim": "false", "access.token.claim": "true"}},
    ]


def _client(client_id: str, description: str, *, root: str, redirects: list[str], post_logout: list[str],
            secret_of: str | None = None, extra_mappers: list[dict] | None = None) -> dict:
    return {
        "clientId": client_id,
        "name": client_id,
        "description": description,
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "secret": _secret_file(secret_of or client_id),
        "standardFlowEnabled": True,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": False,
        "frontchannelLogout": True,
        "rootUrl": root,
        "baseUrl": root,
        "redirectUris": sorted(redirects),
        "webOrigins": sorted({u.split("/", 3)[0] + "//" + u.split("/", 3)[2] for u in redirects}),
        "attributes": {"post.logout.redirect.uris": "##".join(sorted(post_logout)),
                       "backchannel.logout.session.required": "true"},
        "defaultClientScopes": ["acr", "basic", "email", "profile", "roles", "web-origins"],
        "optionalClientScopes": ["offline_access"],
        "protocolMappers": _mappers(client_id) + (extra_mappers or []),
    }


def clients(env: Env) -> list[dict]:
    out = []
    for r in routes.app_clients(env):
        out.append(_client(r.name, f"{r.description}: its own OIDC login", root=routes.url(env, r),
                           redirects=routes.redirect_uris(env, r),
                           post_logout=[routes.url(env, r, r.post_logout)] if r.post_logout else [],
                           extra_mappers=federation.identity_mappers(env, r.name)))
    by_client: dict[str, list[routes.Route]] = {}
    for r in routes.alb_routes(env):
        by_client.setdefault(routes.alb_client(env, r.namespace), []).append(r)
    for client_id, alb in sorted(by_client.items()):
        shared = client_id == routes.ALB_CLIENT
        c = _client(client_id, ("The shared ALB's login in front of UIs without their own: " if shared else
                                "The ALB's login in front of one team's UIs (members and admins only): ")
                    + ", ".join(r.description for r in alb),
                    root=routes.url(env, alb[0]),
                    redirects=[routes.url(env, r, routes.ALB_CALLBACK) for r in alb],
                    post_logout=[routes.url(env, r) for r in alb], secret_of=routes.ALB_CLIENT)
        if not shared:
            c["authenticationFlowBindingOverrides"] = {"browser": _flow_alias(client_id)}
        out.append(c)
    return sorted(out, key=lambda c: c["clientId"])


# --------------------------------------------------------------------------- team UIs
# Who may log in to a team's ALB-login UIs (Ray dashboards): the client `<team namespace>-ui` has a
# client role `access`, granted to the team's group `ml-team-<team>` (the Kubernetes group its
# RBAC binds and its EKS access entry maps) and to `admins`. The client's browser flow logs the
# user in as usual, then a conditional step denies access to anyone without that role. The ALB
# only forwards after a successful login, so another team's member never reaches the dashboard.
ACCESS_ROLE = "access"


def team_clients(env: Env) -> dict[str, str]:
    """Team name -> its UI client id, for the teams that have ALB-login routes."""
    alb_ns = {r.namespace for r in routes.alb_routes(env)}
    return {t.name: routes.alb_client(env, env.team_namespace(t)) for t in env.teams
            if env.team_namespace(t) in alb_ns}


def team_group(env: Env, team: str) -> str:
    return kuberay.member_group(env, team)


def _flow_alias(client_id: str) -> str:
    return f"{client_id} browser"


def _execution(priority: int, requirement: str, *, authenticator: str | None = None, flow: str | None = None,
               config: str | None = None) -> dict:
    e: dict = {"requirement": requirement, "priority": priority, "userSetupAllowed": False,
               "authenticatorFlow": flow is not None}
    if flow is not None:
        e["flowAlias"] = flow
    else:
        e["authenticator"] = authenticator
    if config:
        e["authenticatorConfig"] = config
    return e


def _flow(alias: str, description: str, executions: list[dict], *, top: bool) -> dict:
    return {"alias": alias, "description": description, "providerId": "basic-flow", "topLevel": top,
            "builtIn": False, "authenticationExecutions": executions}


def team_flows(env: Env) -> tuple[list[dict], list[dict]]:
    """(authenticationFlows, authenticatorConfig) of every team UI client."""
    flows, configs = [], []
    for team, client in sorted(team_clients(env).items()):
        top, login, forms, member = (_flow_alias(client), f"{client} login", f"{client} forms", f"{client} membership")
        cond = f"{client} without {ACCESS_ROLE}"
        flows += [
            _flow(top, f"Browser login for team {team}'s UIs: log in, then deny anyone without {client}.{ACCESS_ROLE}",
                  [_execution(10, "REQUIRED", flow=login), _execution(20, "CONDITIONAL", flow=member)], top=True),
            _flow(login, "Cookie, identity provider or username/password", [
                _execution(10, "ALTERNATIVE", authenticator="auth-cookie"),
                _execution(20, "ALTERNATIVE", authenticator="identity-provider-redirector"),
                _execution(30, "ALTERNATIVE", flow=forms)], top=False),
            _flow(forms, "Username and password", [
                _execution(10, "REQUIRED", authenticator="auth-username-password-form")], top=False),
            _flow(member, f"Not in team {team} (nor an admin): access denied", [
                _execution(10, "REQUIRED", authenticator="conditional-user-role", config=cond),
                _execution(20, "REQUIRED", authenticator="deny-access-authenticator")], top=False),
        ]
        configs.append({"alias": cond, "config": {"condUserRole": f"{client}.{ACCESS_ROLE}", "negate": "true"}})
    return flows, configs


def groups(env: Env) -> list[dict]:
    tc = team_clients(env)
    out = []
    for g, role in GROUPS.items():
        grp: dict = {"name": g, "path": f"/{g}", "realmRoles": [role]}
        if role == "admin" and tc:
            grp["clientRoles"] = {c: [ACCESS_ROLE] for c in sorted(tc.values())}
        out.append(grp)
    for t in env.teams:
        name = team_group(env, t.name)
        grp = {"name": name, "path": f"/{name}", "realmRoles": []}
        if t.name in tc:
            grp["clientRoles"] = {tc[t.name]: [ACCESS_ROLE]}
        out.append(grp)
    return out + federation.directory_groups(env)


def realm(env: Env) -> dict:
    k = env.keycloak
    flows, configs = team_flows(env)
    extra = {"components": federation.components(env)} if k.directory is not None else {}
    return {
        "realm": k.realm,
        "enabled": True,
        "displayName": f"ML platform ({env.name})",
        "sslRequired": "external",
        "registrationAllowed": False,
        "loginWithEmailAllowed": True,
        "duplicateEmailsAllowed": False,
        "resetPasswordAllowed": True,
        "bruteForceProtected": True,
        "accessTokenLifespan": k.access_token_lifespan_seconds,
        "ssoSessionIdleTimeout": k.sso_session_idle_seconds,
        "ssoSessionMaxLifespan": k.sso_session_max_seconds,
        "roles": {"realm": [{"name": n, "description": d} for n, d in ROLES.items()],
                  "client": {c: [{"name": ACCESS_ROLE, "description": f"May log in to team {t}'s UIs"}]
                             for t, c in sorted(team_clients(env).items())}},
        "groups": groups(env),
        "clients": clients(env),
        "authenticationFlows": flows,
        "authenticatorConfig": configs,
        **extra,
    }


def realm_json(env: Env) -> str:
    return json.dumps(realm(env), indent=2, sort_keys=True) + "\n"


def realm_sha256(env: Env) -> str:
    return hashlib.sha256(realm_json(env).encode()).hexdigest()


def _keycloak(env: Env) -> Obj:
    k, infra = env.keycloak, env.infrastructure
    if NAME not in infra.databases:
        raise ValueError("infrastructure.databases has no 'keycloak' database (Terraform output `databases`)")
    db = infra.databases[NAME]
    spec: Obj = {
        "instances": k.instances,
        "image": versions.IMAGES["keycloak"].ref,
        "db": {"vendor": "postgres", "host": db.host, "port": db.port, "database": db.database,
               "usernameSecret": {"name": KEYCLOAK_DB, "key": "username"},
               "passwordSecret": {"name": KEYCLOAK_DB, "key": "password"}},
        "bootstrapAdmin": {"user": {"secret": KEYCLOAK_ADMIN}},
        # TLS ends at the ALB (ACM certificate); the ALB reaches pods over the VPC.
        "http": {"httpEnabled": True, "httpPort": HTTP_PORT},
        "httpManagement": {"port": MANAGEMENT_PORT},
        "hostname": {"hostname": f"https://{env.host('auth')}", "strict": True},
        "proxy": {"headers": "xforwarded"},
        "ingress": {"enabled": False},  # ours: generated from kit/routes.py, on the shared ALB
        "additionalOptions": [{"name": "metrics-enabled", "value": "true"}],
        "resources": {"requests": {"cpu": k.cpu_request, "memory": k.memory_request},
                      "limits": {"cpu": k.cpu_limit, "memory": k.memory_limit}},
    }
    if k.directory is not None and k.directory.ca_certificate:
        # the directory's private CA (PEM) joins Keycloak's truststore (LDAPS / StartTLS verification)
        spec["truststores"] = {"directory-ca": {"secret": {"name": KEYCLOAK_DIRECTORY_CA}}}
    return {"apiVersion": versions.crd("Keycloak").api_version, "kind": "Keycloak",
            "metadata": metadata(INSTANCE, component=NAME, env=env.name, namespace=NAMESPACE), "spec": spec}


def _ingress(env: Env) -> Obj:
    obj = ingress(env, ROUTE, component=NAME)
    if not env.keycloak.public_admin_console:
        # The admin console is not served on the internet: the ALB answers 403 for /admin
        # (administrators use `kubectl port-forward svc/keycloak-service 8080`).
        block_path(obj, "/admin", "admin-console-blocked", "The admin console is not exposed publicly.")
    return obj


def _realm_sync(env: Env) -> list[Obj]:
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": metadata(REALM_CONFIGMAP, component=NAME, env=env.name, namespace=NAMESPACE),
          "data": {REALM_FILE: realm_json(env)}}
    # one secret file per client secret (team UI clients share the platform-ui one)
    client_ids = sorted({r.name for r in routes.app_clients(env)} | {routes.ALB_CLIENT})
    plain = {
        "KEYCLOAK_URL": f"http://{SERVICE}.{NAMESPACE}.svc:{HTTP_PORT}",
        "KEYCLOAK_AVAILABILITYCHECK_ENABLED": "true",
        "KEYCLOAK_AVAILABILITYCHECK_TIMEOUT": "300s",
        "IMPORT_FILES_LOCATIONS": f"/config/{REALM_FILE}",
        "IMPORT_VARSUBSTITUTION_ENABLED": "true",
        "IMPORT_CACHE_ENABLED": "false",
        "JAVA_OPTS": "-XX:MaxRAMPercentage=75 -Djava.io.tmpdir=/tmp",
        # keycloak.user / keycloak.password from files (Spring Boot configtree), not env vars
        "SPRING_CONFIG_IMPORT": f"configtree:{ADMIN_DIR}/",
    }
    env_list = [{"name": k, "value": v} for k, v in plain.items()]
    directory = env.keycloak.directory is not None
    dir_mounts = [{"name": "directory", "mountPath": federation.DIRECTORY_DIR, "readOnly": True}] if directory else []
    dir_volumes = [{"name": "directory", "secret": {"secretName": KEYCLOAK_DIRECTORY, "items": [
        {"key": BIND_PASSWORD_KEY, "path": BIND_PASSWORD_KEY}]}}] if directory else []
    job = k8s.sync_job(
        REALM_JOB, namespace=NAMESPACE, component=NAME, env=env.name, deadline_seconds=1800,
        hash_annotation=(LABEL_REALM_HASH, realm_sha256(env)),
        pod_spec={
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "keycloak-config-cli",
                        "image": versions.IMAGES["keycloak-config-cli"].ref,
                        "env": env_list,
                        "resources": {"requests": {"cpu": "100m", "memory": "384Mi"},
                                      "limits": {"cpu": "1", "memory": "768Mi"}},
                        "securityContext": k8s.restricted_container(readOnlyRootFilesystem=True),
                        "volumeMounts": [{"name": "realm", "mountPath": "/config", "readOnly": True},
                                         {"name": "admin", "mountPath": ADMIN_DIR, "readOnly": True},
                                         {"name": "oidc-clients", "mountPath": CLIENTS_DIR, "readOnly": True},
                                         *dir_mounts,
                                         {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "realm", "configMap": {"name": REALM_CONFIGMAP}},
                                {"name": "admin", "secret": {"secretName": KEYCLOAK_ADMIN, "items": [
                                    {"key": "username", "path": "keycloak.user"},
                                    {"key": "password", "path": "keycloak.password"}]}},
                                {"name": "oidc-clients", "secret": {"secretName": KEYCLOAK_CLIENTS, "items": [
                                    {"key": client_secret_key(c), "path": client_secret_key(c)}
                                    for c in client_ids]}},
                                *dir_volumes,
                                {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
        })
    return [cm, job]


def _pdb(env: Env) -> list[Obj]:
    if env.keycloak.instances < 2:
        return []
    return [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
             "metadata": metadata(INSTANCE, component=NAME, env=env.name, namespace=NAMESPACE),
             # maxUnavailable (not minAvailable = replicas) so node drains never block.
             "spec": {"maxUnavailable": 1,
                      "selector": {"matchLabels": {"app": "keycloak", "app.kubernetes.io/instance": INSTANCE}}}}]


def build(env: Env) -> list[Obj]:
    return [_keycloak(env), _ingress(env), *_realm_sync(env), *_pdb(env)]
