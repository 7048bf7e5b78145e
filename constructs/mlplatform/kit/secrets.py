"""Credentials by reference only: the catalog of every secret the platform reads.

A value never passes through this code base. Terraform creates each secret (the *name*) in
AWS Secrets Manager under the env's `secrets_manager_prefix`; an operator sets the value out of
band (`aws secretsmanager put-secret-value`); an ExternalSecret turns it into a Kubernetes
Secret; charts are pointed at that Secret by name (`existingSecret`-style values), so no chart
ever generates a random secret.

Each unit declares the catalog rows it reads (its `credentials`) and the Kubernetes Secrets it
wants filled from them (its `secrets(env)`: `SecretWant`s); `catalog()` and `collect_wants()`
gather them from every registered unit, and the `secrets` unit emits one ExternalSecret per want.
`terraform/secrets.tf` lists the catalog's names; a test keeps the two in step.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .component import contributors
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


# Database credentials: one secret per RDS database, named `<prefix>rds/<database key>`, with
# these properties (Terraform creates them next to the RDS instance).
DATABASE_PROPERTIES = ("username", "password")


def database_key(db: str) -> str:
    return f"rds/{db}"


def remote_name(prefix: str, key: str) -> str:
    return f"{prefix}{key}"


def oidc_key(client: str) -> str:
    """The catalog key of a Keycloak client's secret."""
    return f"oidc/{client}"


def oidc_credential(client: str, description: str) -> Credential:
    return Credential(oidc_key(client), ("client-secret",), description)


def oidc_data(client: str) -> dict[str, tuple[str, str]]:
    """A Secret holding a Keycloak client's secret under key `client-secret`."""
    return {"client-secret": (oidc_key(client), "client-secret")}


def database_data(db: str) -> dict[str, tuple[str, str]]:
    """A Secret holding a database's login under keys `username` and `password`."""
    return {p: (database_key(db), p) for p in DATABASE_PROPERTIES}


def database_uri(env, db: str) -> str:
    """An ESO template of a database's connection URI from the fetched `username` and `password`."""
    d = env.infrastructure.databases[db]
    return (f"postgresql://{{{{ .username | urlquery }}}}:{{{{ .password | urlquery }}}}@{d.host}:{d.port}/"
            f"{d.database}?sslmode=require")


@dataclass(frozen=True)
class SecretWant:
    """A Kubernetes Secret a unit wants filled from the catalog (one ExternalSecret)."""

    secret: str  # the Kubernetes Secret that consumers name
    namespace: str
    data: dict[str, tuple[str, str]]  # Secret key -> (credential key, property)
    labels: dict[str, str] | None = None
    template_data: dict[str, str] | None = None  # extra keys rendered from the fetched ones
    per_namespace: bool = False  # the same Secret in several namespaces: `<namespace>-<secret>`
    # The Secret's type (e.g. kubernetes.io/dockerconfigjson); the Secret then holds only `template_data`.
    secret_type: str | None = None

    @property
    def name(self) -> str:
        """The ExternalSecret's own name (unique in the `secrets` component)."""
        return f"{self.namespace}-{self.secret}" if self.per_namespace else self.secret


def catalog(units=None) -> dict[str, Credential]:
    """Every credential the platform reads: the `credentials` rows of `units` (default: every
    registered contributor), in registry order. A key is one Secrets Manager name: one owner."""
    out: dict[str, Credential] = {}
    by: dict[str, str] = {}
    for unit in contributors() if units is None else units:
        for c in unit.credentials:
            if c.key in by:
                raise ValueError(f"credential {c.key!r} is declared by both {by[c.key]!r} and {unit.name!r}: "
                                 f"a Secrets Manager name has one owner")
            by[c.key] = unit.name
            out[c.key] = c
    return out


def _properties(known: Mapping[str, Credential], cred: str) -> tuple[str, ...] | None:
    c = known.get(cred)
    return c.properties if c else (DATABASE_PROPERTIES if cred.startswith("rds/") else None)


def collect_wants(env, units=None) -> list[SecretWant]:
    """Every Secret `units` (default: every registered contributor) want in `env`, in registry
    order. Each reads only catalogued credentials (or a database's), and each ExternalSecret name
    is wanted once."""
    units = contributors() if units is None else units
    known = catalog(units)
    out: list[SecretWant] = []
    by: dict[str, str] = {}
    for unit in units:
        if unit.secrets is None:
            continue
        for w in unit.secrets(env):
            where = f"unit {unit.name!r} wants Secret {w.namespace}/{w.secret}"
            if w.name in by:
                raise ValueError(f"{where}, but ExternalSecret {w.name!r} is already wanted by {by[w.name]!r}")
            for cred, prop in w.data.values():
                props = _properties(known, cred)
                if props is None:
                    raise KeyError(f"{where} from credential {cred!r}, which no unit declares "
                                   f"(`credentials` hook: the catalog of kit/secrets.py)")
                if prop not in props:
                    raise KeyError(f"{where} from property {prop!r} of credential {cred!r}, which has {list(props)}")
            by[w.name] = unit.name
            out.append(w)
    return out


def external_secret(name: str, *, namespace: str, component: str, env: str, prefix: str, refresh: str,
                    data: dict[str, tuple[str, str]], labels: dict[str, str] | None = None,
                    template_data: dict[str, str] | None = None, target: str | None = None,
                    known: Mapping[str, Credential] | None = None, secret_type: str | None = None) -> Obj:
    """An ExternalSecret `name` that creates Secret `target` (default: `name`) in `namespace`.

    `data` maps a key of the Kubernetes Secret to (credential key, property). Every credential
    key must be in the catalog (`known`, default: `catalog()`) or be a database key; unknown ones
    are a builder error.
    `template_data` renders extra keys from the fetched ones (ESO template v2, e.g. a connection
    URI); when given, the Secret holds exactly the template keys plus the fetched ones.
    `secret_type` (e.g. `kubernetes.io/dockerconfigjson`) types the Secret, which then holds only the
    template keys (a typed Secret is validated by its keys).
    """
    known = catalog() if known is None else known
    entries = []
    for secret_key, (cred, prop) in sorted(data.items()):
        props = _properties(known, cred)
        if props is None:
            raise KeyError(f"ExternalSecret {namespace}/{name}: credential {cred!r} is not in the catalog (kit/secrets.py)")
        if prop not in props:
            raise KeyError(f"ExternalSecret {namespace}/{name}: credential {cred!r} has no property {prop!r}")
        entries.append({"secretKey": secret_key,
                        "remoteRef": {"key": remote_name(prefix, cred), "property": prop,
                                      "conversionStrategy": "Default", "decodingStrategy": "None",
                                      "metadataPolicy": "None"}})
    tgt: Obj = {"name": target or name, "creationPolicy": "Owner", "deletionPolicy": "Retain"}
    if labels or template_data or secret_type:
        tpl: Obj = {"engineVersion": "v2", "mergePolicy": "Merge" if template_data and not secret_type else "Replace"}
        if secret_type:
            tpl["type"] = secret_type
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
