"""Credentials by reference only: the catalog of every secret the platform reads.

A value never passes through this code base. Terraform creates each secret (the *name*) in
AWS Secrets Manager under the env's `secrets_manager_prefix`; an operator sets the value out of
band (`aws secretsmanager put-secret-value`); an ExternalSecret, emitted next to the workload
that reads it, turns it into a Kubernetes Secret; charts are pointed at that Secret by name
(`existingSecret`-style values), so no chart ever generates a random secret.

`terraform/secrets.tf` lists the same names; a test keeps the two in step.
"""
from __future__ import annotations

from dataclasses import dataclass

from .meta import Obj, metadata

STORE_KIND = "ClusterSecretStore"
STORE_NAME = "aws-secrets-manager"


@dataclass(frozen=True)
class Credential:
    """One Secrets Manager secret: a JSON object with these properties."""

    key: str  # name under the env's secrets_manager_prefix
    properties: tuple[str, ...]
    description: str
    # Read only where the env config asks for it (e.g. a private DAG repo): not every env has an
    # ExternalSecret for it, but Terraform creates the name in every env.
    optional: bool = False


CREDENTIALS: dict[str, Credential] = {c.key: c for c in (
    Credential("keycloak/bootstrap-admin", ("username", "password"),
               "Keycloak temporary bootstrap admin (the realm is managed by keycloak-config-cli with it)"),
    Credential("oidc/jupyterhub", ("client-secret",), "Keycloak client secret of JupyterHub"),
    Credential("oidc/airflow", ("client-secret",), "Keycloak client secret of Airflow"),
    Credential("oidc/grafana", ("client-secret",), "Keycloak client secret of Grafana"),
    Credential("oidc/argocd", ("client-secret",), "Keycloak client secret of Argo CD"),
    Credential("oidc/platform-ui", ("client-secret",),
               "Keycloak client secret the shared ALB uses to log users into UIs without their own login"),
    Credential("jupyterhub/hub", ("cookie-secret", "crypt-keeper-key"),
               "JupyterHub cookie secret and auth-state keys, 64 hex characters each (otherwise random per render)"),
    Credential("airflow/keys", ("fernet-key", "webserver-secret-key", "api-secret-key", "jwt-secret"),
               "Airflow fernet key and signing keys (otherwise generated at random by the chart)"),
    Credential("huggingface/token", ("token",), "Hugging Face token for gated model downloads"),
    Credential("serving/api-key", ("api-key",),
               "API key clients send as `Authorization: Bearer` to every vLLM model endpoint (/v1) of the env"),
    Credential("grafana/admin", ("admin-user", "admin-password"),
               "Grafana's built-in admin (break-glass via port-forward; people log in through Keycloak): "
               "otherwise the chart generates a random password on every render", optional=True),
    Credential("monitoring/alertmanager", ("alertmanager.yaml",),
               "Alertmanager configuration (receivers, routes: webhook URLs, chat tokens): a whole alertmanager.yaml",
               optional=True),
    Credential("ray/redis", ("password",),
               "Redis password of Ray GCS fault tolerance: the ElastiCache AUTH token, or the in-cluster Redis's",
               optional=True),
    Credential("airflow/git-sync", ("username", "password"),
               "Airflow DAG repository login for git-sync: username and an access token (private repos only)",
               optional=True),
)}

# Database credentials: one secret per RDS database, named `<prefix>rds/<database key>`, with
# these properties (Terraform creates them next to the RDS instance).
DATABASE_PROPERTIES = ("username", "password")


def database_key(db: str) -> str:
    return f"rds/{db}"


def remote_name(prefix: str, key: str) -> str:
    return f"{prefix}{key}"


def external_secret(name: str, *, namespace: str, component: str, env: str, prefix: str, refresh: str,
                    data: dict[str, tuple[str, str]], labels: dict[str, str] | None = None,
                    template_data: dict[str, str] | None = None, target: str | None = None) -> Obj:
    """An ExternalSecret `name` that creates Secret `target` (default: `name`) in `namespace`.

    `data` maps a key of the Kubernetes Secret to (credential key, property). Every credential
    key must be in CREDENTIALS or be a database key; unknown ones are a builder error.
    `template_data` renders extra keys from the fetched ones (ESO template v2, e.g. a connection
    URI); when given, the Secret holds exactly the template keys plus the fetched ones.
    """
    entries = []
    for secret_key, (cred, prop) in sorted(data.items()):
        known = CREDENTIALS.get(cred)
        props = known.properties if known else (DATABASE_PROPERTIES if cred.startswith("rds/") else None)
        if props is None:
            raise KeyError(f"ExternalSecret {namespace}/{name}: credential {cred!r} is not in the catalog (kit/secrets.py)")
        if prop not in props:
            raise KeyError(f"ExternalSecret {namespace}/{name}: credential {cred!r} has no property {prop!r}")
        entries.append({"secretKey": secret_key,
                        "remoteRef": {"key": remote_name(prefix, cred), "property": prop,
                                      "conversionStrategy": "Default", "decodingStrategy": "None",
                                      "metadataPolicy": "None"}})
    tgt: Obj = {"name": target or name, "creationPolicy": "Owner", "deletionPolicy": "Retain"}
    if labels or template_data:
        tpl: Obj = {"engineVersion": "v2", "mergePolicy": "Merge" if template_data else "Replace"}
        if template_data:
            tpl["data"] = dict(template_data)
        if labels:
            tpl["metadata"] = {"labels": dict(labels)}
        tgt["template"] = tpl
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": metadata(name, component=component, env=env, namespace=namespace),
        "spec": {
            "refreshInterval": refresh,
            "secretStoreRef": {"kind": STORE_KIND, "name": STORE_NAME},
            "target": tgt,
            "data": entries,
        },
    }
