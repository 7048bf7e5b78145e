"""Checks about the platform realm over a rendered env: it is not `master`, and every OIDC
redirect URI of its clients is https, without wildcards, on a route's host and under its path
(`kit/routes.py`, where the Ingresses come from too).

The realm is read back from the ConfigMap the sync Job applies, so a check sees what Keycloak gets.
Problems read `env/crosscheck: keycloak ...`.
"""
from __future__ import annotations

import json

from ...kit import routes
from ...kit.checks import RenderedEnv, objects
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


def checks(r: RenderedEnv) -> list[str]:
    """Every problem about the realm in one rendered env."""
    return check_redirects(r)
