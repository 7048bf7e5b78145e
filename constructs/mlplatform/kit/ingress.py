"""Ingresses on the env's shared ALB, generated from `kit/routes.py`: never hand-written.

Every Ingress uses the env's IngressClass (whose IngressClassParams pin the ALB group, scheme,
certificate, TLS policy and HTTP->HTTPS redirect, see `components/ingress.py`), so the per-route
annotations here are only what differs per backend: health check and, for UIs without their own
login, the ALB's OIDC authentication against the platform realm.
"""
from __future__ import annotations

import json

from .meta import Obj, metadata
from .routes import ALB_CLIENT, Route, hostname, oidc_endpoint, issuer

ALB = "alb.ingress.kubernetes.io/"
# The Secret (keys clientID, clientSecret) the ALB controller reads for the OIDC action; created
# by an ExternalSecret in every namespace that has an `alb`-login route.
ALB_OIDC_SECRET = f"{ALB_CLIENT}-oidc"
LISTEN_PORTS = json.dumps([{"HTTP": 80}, {"HTTPS": 443}], separators=(",", ":"))


def annotations(env, r: Route) -> dict[str, str]:
    ann = {
        ALB + "listen-ports": LISTEN_PORTS,
        ALB + "backend-protocol": "HTTP",
        ALB + "healthcheck-path": r.health_path,
        ALB + "healthcheck-port": str(r.health_port) if r.health_port else "traffic-port",
        ALB + "success-codes": "200-399",
    }
    if r.login == "alb":
        ann.update({
            ALB + "auth-type": "oidc",
            ALB + "auth-idp-oidc": json.dumps({
                "issuer": issuer(env),
                "authorizationEndpoint": oidc_endpoint(env, "auth"),
                "tokenEndpoint": oidc_endpoint(env, "token"),
                "userInfoEndpoint": oidc_endpoint(env, "userinfo"),
                "secretName": ALB_OIDC_SECRET,
            }, separators=(",", ":"), sort_keys=True),
            ALB + "auth-on-unauthenticated-request": "authenticate",
            ALB + "auth-scope": "openid email profile",
            ALB + "auth-session-timeout": str(env.keycloak.sso_session_max_seconds),
        })
    return ann


def ingress(env, r: Route, *, component: str) -> Obj:
    host = hostname(env, r)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(r.name, component=component, env=env.name, namespace=r.namespace,
                             annotations=annotations(env, r)),
        "spec": {
            "ingressClassName": env.ingress.class_name,
            # TLS terminates at the ALB with the env's ACM certificate (IngressClassParams).
            "tls": [{"hosts": [host]}],
            "rules": [{"host": host, "http": {"paths": [{
                "path": r.path, "pathType": "Prefix",
                "backend": {"service": {"name": r.service, "port": {"number": r.port}}},
            }]}}],
        },
    }


def block_path(obj: Obj, path: str, action: str, message: str) -> Obj:
    """Make the ALB answer 403 for `path` (a prefix) on this Ingress instead of forwarding it:
    for endpoints that must stay in-cluster (admin consoles, unauthenticated metrics)."""
    obj["metadata"]["annotations"][ALB + f"actions.{action}"] = json.dumps(
        {"type": "fixed-response",
         "fixedResponseConfig": {"contentType": "text/plain", "statusCode": "403", "messageBody": message}},
        separators=(",", ":"), sort_keys=True)
    paths = obj["spec"]["rules"][0]["http"]["paths"]
    paths.insert(0, {"path": path, "pathType": "Prefix",
                     "backend": {"service": {"name": action, "port": {"name": "use-annotation"}}}})
    return obj
