"""Cross-checks between components of one env: the wiring a schema can't see.

* every Ingress host is under the env domain and covered by the ACM certificate, and every
  Ingress serves a route of `kit/routes.py` from a namespace that admits ALB traffic;
* every ExternalSecret names a store the env has;
* every Secret an object or a chart value names is created by an ExternalSecret (same namespace);
* every in-cluster URL in a container env (`MLFLOW_TRACKING_URI`, `RAY_ADDRESS`, any `*.svc` value)
  names a Service the env has, on a port it serves: one we emit, or one an operator or chart
  makes for what we emit (each unit's `made_services`, e.g. KubeRay's head Services).

Checks about one unit (the realm's redirects, Ray gangs against their queues, ...) are that
unit's `checks`; `validate/__init__.py` runs them.
"""
from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urlsplit

from ..kit import refs, routes
from ..kit.checks import objects
from ..kit.component import units
from ..kit.meta import ref
from ..kit.secrets import STORE_KIND


def covered(host: str, cert_domains: list[str]) -> bool:
    """ACM semantics: `*.example.com` covers exactly one more label."""
    for d in cert_domains:
        if d == host:
            return True
        if d.startswith("*.") and host.count(".") == d.count(".") and host.split(".", 1)[1] == d[2:]:
            return True
    return False


def check_hosts(r) -> list[str]:
    env, out = r.env, []
    certs = env.infrastructure.certificate_domains
    # the ALB reaches a namespace only through the policies made from a route's pods and ports
    alb_ok = {rt.namespace for rt in routes.for_env(env) if rt.pods and rt.target_ports} | set(env.namespaces.external)
    env_routes = routes.for_env(env)
    hosts = {rt.name: routes.hostname(env, rt) for rt in env_routes}
    for name, host in sorted(hosts.items()):
        if not host.endswith("." + env.domain):
            out.append(f"route {name}: host {host} is not under the env domain {env.domain}")
        if not covered(host, certs):
            out.append(f"route {name}: host {host} is not covered by the certificate ({', '.join(certs)})")
    for comp, o in objects(r):
        if o.get("kind") != "Ingress":
            continue
        ns = o["metadata"].get("namespace")
        if o["spec"].get("ingressClassName") != env.ingress.class_name:
            out.append(f"{comp}/{ref(o)}: ingressClassName is not the env's shared ALB class {env.ingress.class_name!r}")
        if ns not in alb_ok:
            out.append(f"{comp}/{ref(o)}: namespace {ns} does not admit traffic from the ALB's subnets (no route "
                       f"there names the pods and ports behind its Service)")
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
                match = [rt for rt in env_routes if routes.hostname(env, rt) == host and rt.path == p["path"]
                         and rt.namespace == ns and rt.service == svc.get("name")]
                if not match:
                    out.append(f"{comp}/{ref(o)}: {host}{p['path']} -> {ns}/{svc.get('name')} is not a route "
                               f"of kit/routes.py (hosts and paths come from there)")
    return out


def check_secrets(r) -> list[str]:
    out = []
    objs = objects(r)
    stores = {(o["kind"], o["metadata"]["name"]) for _, o in objs if o.get("kind") in ("ClusterSecretStore", "SecretStore")}
    # store name -> the namespaces its conditions admit (indexed once: one lookup per ExternalSecret)
    conditions: dict[str, list[dict]] = {}
    for _, x in objs:
        if x.get("kind") == STORE_KIND:
            conditions.setdefault(x["metadata"]["name"], []).extend(x["spec"].get("conditions", []))
    created = refs.created_secrets(r.components)
    for comp, o in objs:
        ns = o.get("metadata", {}).get("namespace")
        if o.get("kind") == "ExternalSecret":
            st = o["spec"]["secretStoreRef"]
            if (st.get("kind", "SecretStore"), st["name"]) not in stores:
                out.append(f"{comp}/{ref(o)}: store {st.get('kind')}/{st['name']} does not exist in this env")
            elif st.get("kind") == STORE_KIND:
                cond = conditions.get(st["name"], [])
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


# --------------------------------------------------------------------------- in-cluster URLs
URL_VARS = ("MLFLOW_TRACKING_URI", "RAY_ADDRESS")
_ENV_KEYS = ("env", "extraEnv", "containerEnv", "defaultContainerEnvs")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ray": 10001, "redis": 6379, "rediss": 6379}


def known_services(r) -> dict[tuple[str, str], frozenset[int] | None]:
    """(namespace, Service) -> ports (None: exists, ports not known here), for every Service the
    env will have: the ones we emit, then what each unit says its operator or chart makes."""
    out: dict[tuple[str, str], frozenset[int] | None] = {("default", "kubernetes"): frozenset({443})}
    for _, o in objects(r):
        if o.get("kind") == "Service" and o.get("apiVersion") == "v1":
            md = o.get("metadata") or {}
            out[(md.get("namespace"), md.get("name", ""))] = frozenset(
                p.get("port") for p in (o.get("spec") or {}).get("ports") or [])
    for unit in units():
        if unit.made_services is not None:
            out.update(unit.made_services(r))
    return out


def _env_entries(node: Any) -> Iterator[tuple[str, str]]:
    """(name, value) of every env var set in pod specs or chart values, list or map form."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in _ENV_KEYS and isinstance(v, list):
                for e in v:
                    if isinstance(e, dict) and isinstance(e.get("name"), str) and isinstance(e.get("value"), str):
                        yield e["name"], e["value"]
            elif k in _ENV_KEYS and isinstance(v, dict):
                yield from ((n, x) for n, x in v.items() if isinstance(x, str))
            elif k in URL_VARS and isinstance(v, str):
                yield k, v
            if isinstance(v, (dict, list)):
                yield from _env_entries(v)
    elif isinstance(node, list):
        for x in node:
            yield from _env_entries(x)


def service_of(name: str, value: str, namespace: str | None) -> tuple[str, str, int | None] | None:
    """(namespace, Service, port) an env value points at inside the cluster; None for other URLs."""
    v = value.strip()
    try:
        u = urlsplit(v if "://" in v else "//" + v)
        host, port = u.hostname, u.port
    except ValueError:
        return None
    if not host:
        return None
    labels = host.split(".")
    if "svc" in labels[1:]:
        i = labels.index("svc", 1)
        svc, ns = labels[0], (labels[1] if i >= 2 else namespace)
    elif len(labels) == 1 and name in URL_VARS:
        svc, ns = labels[0], namespace
    elif len(labels) == 2 and name in URL_VARS:
        svc, ns = labels
    else:
        return None  # outside the cluster (a route's host, a cloud endpoint)
    if ns is None:
        return None
    return ns, svc, port if port is not None else _DEFAULT_PORTS.get(u.scheme)


def check_service_urls(r) -> list[str]:
    out: list[str] = []
    services = known_services(r)
    sources: list[tuple[str, str | None, Any]] = [
        (f"{comp}/{ref(o)}", (o.get("metadata") or {}).get("namespace"), o.get("spec"))
        for comp, o in objects(r) if o.get("kind") not in ("Application", "ApplicationSet", "AppProject")]
    sources += [(f"{comp}/HelmRelease/{rel.release}", rel.namespace, rel.values) for comp, rel in sorted(r.helm.items())]
    for where, ns, node in sources:
        for name, value in sorted(set(_env_entries(node))):
            if name not in URL_VARS and ".svc" not in value:
                continue
            target = service_of(name, value, ns)
            if target is None:
                continue  # not an in-cluster address (a route's host, a cloud endpoint, a file)
            tns, svc, port = target
            if (tns, svc) not in services:
                out.append(f"{where}: env {name}={value}: no Service {tns}/{svc} in this env (emitted Services, "
                           f"KubeRay head/serve Services of emitted RayClusters and RayServices, chart Services)")
                continue
            ports = services[(tns, svc)]
            if ports is not None and port is not None and port not in ports:
                out.append(f"{where}: env {name}={value}: Service {tns}/{svc} has no port {port} "
                           f"(it serves {', '.join(str(p) for p in sorted(ports))})")
    return out


def check(r) -> list[str]:
    return [f"{r.env.name}/crosscheck: {m}"
            for m in check_hosts(r) + check_secrets(r) + check_service_urls(r)]
