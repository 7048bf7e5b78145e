"""Cross-checks between components of one env: the wiring a schema can't see.

* every Ingress host is under the env domain and covered by the ACM certificate, and every
  Ingress serves a route of `kit/routes.py` from a namespace that admits ALB traffic;
* every OIDC redirect URI of the realm is on a route's host and under its path;
* every ExternalSecret names a store the env has;
* every Secret an object or a chart value names is created by an ExternalSecret (same namespace).
"""
from __future__ import annotations

import json

from ..kit import refs, routes
from ..kit.meta import Obj, ref
from ..kit.secrets import STORE_KIND

REALM_CONFIGMAP = ("keycloak", "keycloak-realm")  # (namespace, name) of the realm the sync Job applies


def covered(host: str, cert_domains: list[str]) -> bool:
    """ACM semantics: `*.example.com` covers exactly one more label."""
    for d in cert_domains:
        if d == host:
            return True
        if d.startswith("*.") and host.count(".") == d.count(".") and host.split(".", 1)[1] == d[2:]:
            return True
    return False


def _all(r) -> list[tuple[str, Obj]]:
    return [(c, o) for c, objs in sorted(r.components.items()) for o in objs]


def check_hosts(r) -> list[str]:
    env, out = r.env, []
    certs = env.infrastructure.certificate_domains
    vpc_ok = {p.name for p in env.namespaces.platform if p.allow_from_vpc} | {env.team_namespace(t) for t in env.teams} \
        | set(env.namespaces.external)
    hosts = {rt.name: env.host(rt.host) for rt in routes.ROUTES}
    for name, host in sorted(hosts.items()):
        if not host.endswith("." + env.domain):
            out.append(f"route {name}: host {host} is not under the env domain {env.domain}")
        if not covered(host, certs):
            out.append(f"route {name}: host {host} is not covered by the certificate ({', '.join(certs)})")
    for comp, o in _all(r):
        if o.get("kind") != "Ingress":
            continue
        ns = o["metadata"].get("namespace")
        if o["spec"].get("ingressClassName") != env.ingress.class_name:
            out.append(f"{comp}/{ref(o)}: ingressClassName is not the env's shared ALB class {env.ingress.class_name!r}")
        if ns not in vpc_ok:
            out.append(f"{comp}/{ref(o)}: namespace {ns} does not admit traffic from the VPC (the ALB's ip targets)")
        tls_hosts = {h for t in o["spec"].get("tls", []) for h in t.get("hosts", [])}
        for rule in o["spec"].get("rules", []):
            host = rule.get("host", "")
            if not host.endswith("." + env.domain):
                out.append(f"{comp}/{ref(o)}: host {host!r} is not under the env domain {env.domain}")
            if not covered(host, certs):
                out.append(f"{comp}/{ref(o)}: host {host!r} is not covered by the certificate")
            if host not in tls_hosts:
                out.append(f"{comp}/{ref(o)}: host {host!r} has no TLS entry")
            for p in rule.get("http", {}).get("paths", []):
                svc = p["backend"].get("service", {})
                if svc.get("port", {}).get("name") == "use-annotation":
                    continue  # an ALB action (fixed response, redirect), not a backend
                match = [rt for rt in routes.ROUTES if env.host(rt.host) == host and rt.path == p["path"]
                         and rt.namespace == ns and rt.service == svc.get("name")]
                if not match:
                    out.append(f"{comp}/{ref(o)}: {host}{p['path']} -> {ns}/{svc.get('name')} is not a route "
                               f"of kit/routes.py (hosts and paths come from there)")
    return out


def realm_of(r) -> dict | None:
    for _, o in _all(r):
        md = o.get("metadata", {})
        if o.get("kind") == "ConfigMap" and (md.get("namespace"), md.get("name")) == REALM_CONFIGMAP:
            return json.loads(o["data"]["realm.json"])
    return None


def check_redirects(r) -> list[str]:
    env, out = r.env, []
    realm = realm_of(r)
    if realm is None:
        return out
    if realm.get("realm") == "master":
        out.append("keycloak realm: apps must not use the master realm")
    served = [(env.host(rt.host), rt.path) for rt in routes.ROUTES]
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
    return out


def check_secrets(r) -> list[str]:
    out = []
    stores = {(o["kind"], o["metadata"]["name"]) for _, o in _all(r) if o.get("kind") in ("ClusterSecretStore", "SecretStore")}
    created = refs.created_secrets(r.components)
    for comp, o in _all(r):
        ns = o.get("metadata", {}).get("namespace")
        if o.get("kind") == "ExternalSecret":
            st = o["spec"]["secretStoreRef"]
            if (st.get("kind", "SecretStore"), st["name"]) not in stores:
                out.append(f"{comp}/{ref(o)}: store {st.get('kind')}/{st['name']} does not exist in this env")
            elif st.get("kind") == STORE_KIND:
                cond = [c for s_ in (x for _, x in _all(r) if x.get("kind") == STORE_KIND
                                      and x["metadata"]["name"] == st["name"])
                        for c in s_["spec"].get("conditions", [])]
                if cond and not any(ns in c.get("namespaces", []) for c in cond):
                    out.append(f"{comp}/{ref(o)}: store {st['name']} does not serve namespace {ns}")
        for name in sorted(refs.secret_refs(o)):
            if (ns, name) not in created:
                out.append(f"{comp}/{ref(o)}: refers to Secret {ns}/{name}, which no ExternalSecret creates")
    for comp, rel in sorted(r.helm.items()):
        for name in sorted(refs.value_secret_refs(rel.values)):
            if (rel.namespace, name) not in created:
                out.append(f"{comp}/HelmRelease/{rel.release}: values name Secret {rel.namespace}/{name}, "
                           f"which no ExternalSecret creates")
    return out


def check(r) -> list[str]:
    return [f"{r.env.name}/crosscheck: {m}" for m in check_hosts(r) + check_redirects(r) + check_secrets(r)]
