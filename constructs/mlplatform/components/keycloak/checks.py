"""Checks about the platform realm over a rendered env: it is not `master`, and every OIDC
redirect URI of its clients is https, without wildcards, on a route's host and under its path
(`kit/routes.py`, where the Ingresses come from too); the realm file is a valid RealmRepresentation
(the `spec.realm` schema of the pinned KeycloakRealmImport CRD, strict: a misspelt field fails
instead of being silently ignored); a directory federation binds over TLS with a placeholder
credential, never a value, and its POSIX claims go to clients the realm has.

The realm is read back from the ConfigMap the sync Job applies, so a check sees what Keycloak gets.
Problems read `env/crosscheck: keycloak ...`.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache

import jsonschema

from ...kit import routes, upstream
from ...kit.checks import RenderedEnv, objects
from ...kit.crdschema import strict_schema
from . import federation
from .objects import NAMESPACE, REALM_CONFIGMAP, REALM_FILE


def realm_of(r: RenderedEnv) -> dict | None:
    """The realm the env's sync Job applies (None when the env renders no realm)."""
    for _, o in objects(r):
        md = o.get("metadata", {})
        if o.get("kind") == "ConfigMap" and (md.get("namespace"), md.get("name")) == (NAMESPACE, REALM_CONFIGMAP):
            return json.loads(o["data"][REALM_FILE])
    return None


def check_redirects(r: RenderedEnv) -> list[str]:
    env, out = r.env, []
    realm = realm_of(r)
    if realm is None:
        return out
    if realm.get("realm") == "master":
        out.append("keycloak realm: apps must not use the master realm")
    served = [(routes.hostname(env, rt), rt.path) for rt in routes.for_env(env)]
    for c in realm.get("clients", []):
        uris = list(c.get("redirectUris", [])) + [u for u in c.get("attributes", {}).get(
            "post.logout.redirect.uris", "").split("##") if u]
        for uri in uris:
            if not uri.startswith("https://"):
                out.append(f"keycloak client {c['clientId']}: redirect {uri} is not https")
                continue
            if "*" in uri:
                out.append(f"keycloak client {c['clientId']}: wildcard redirect {uri}")
            host, _, path = uri[len("https://"):].partition("/")
            path = "/" + path
            if not any(h == host and (p == "/" or path == p or path.startswith(p + "/")) for h, p in served):
                out.append(f"keycloak client {c['clientId']}: redirect {uri} matches no ingress host and path")
    return [f"{env.name}/crosscheck: {m}" for m in out]


@lru_cache(maxsize=1)
def realm_validator() -> jsonschema.Draft202012Validator:
    """RealmRepresentation as the pinned Keycloak operator's KeycloakRealmImport CRD declares it."""
    crd = upstream.crd_document("KeycloakRealmImport", "k8s.keycloak.org")
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    schema = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["realm"]
    return jsonschema.Draft202012Validator(strict_schema(schema))


def realm_schema_problems(realm: dict) -> list[str]:
    """Where the realm file is not a RealmRepresentation (unknown field, wrong type)."""
    return [f"keycloak realm: {'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in sorted(realm_validator().iter_errors(realm), key=lambda e: list(map(str, e.absolute_path)))]


_PLACEHOLDER = re.compile(r"^\$\(file:UTF-8:/run/secrets/[A-Za-z0-9/._-]+\)$")


def federation_problems(realm: dict) -> list[str]:
    """Every LDAP federation binds over TLS, with a substituted credential (never a value in git)."""
    out = []
    for c in (realm.get("components") or {}).get(federation.PROVIDER_TYPE, []):
        if c.get("providerId") != "ldap":
            continue
        cfg = {k: (v[0] if v else "") for k, v in (c.get("config") or {}).items()}
        name = c.get("name")
        if not _PLACEHOLDER.match(cfg.get("bindCredential", "")):
            out.append(f"keycloak federation {name}: bindCredential is not a $(file:...) placeholder "
                       "(a secret value would be in git)")
        start_tls = cfg.get("startTls") == "true"
        for url in cfg.get("connectionUrl", "").split():
            if not (url.startswith("ldaps://") or (url.startswith("ldap://") and start_tls)):
                out.append(f"keycloak federation {name}: {url} is neither ldaps:// nor StartTLS")
        if cfg.get("editMode") != "READ_ONLY":
            out.append(f"keycloak federation {name}: editMode {cfg.get('editMode')} (the directory is read-only to the platform)")
    return out


def check_realm(r: RenderedEnv) -> list[str]:
    realm = realm_of(r)
    if realm is None:
        return []
    out = realm_schema_problems(realm) + federation_problems(realm)
    out += federation.problems(r.env, {c["clientId"] for c in realm.get("clients", [])})
    return [f"{r.env.name}/crosscheck: {m}" for m in out]


def checks(r: RenderedEnv) -> list[str]:
    """Every problem about the realm in one rendered env."""
    return check_redirects(r) + check_realm(r)
