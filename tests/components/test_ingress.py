"""The `ingress` unit: one shared ALB per env (IngressClass + IngressClassParams), the
annotations every Ingress gets from its route, and which namespaces may join the ALB."""
import json

from conftest import find
from mlplatform.components.ingress import objects as ingress
from mlplatform.components.jupyterhub import access as jupyterhub_access
from mlplatform.components.mlflow import access as mlflow_access
from mlplatform.kit import routes


def _objs(r, comp):
    return r.components.get(comp, [])


def _all(r):
    return [o for objs in r.components.values() for o in objs]


# --------------------------------------------------------------------------- the shared ALB
def test_one_shared_alb_per_env_with_tls_and_https_redirect(rendered):
    for name, r in rendered.items():
        infra = r.env.infrastructure
        params = find(_objs(r, "ingress"), "IngressClassParams", r.env.ingress.class_name)["spec"]
        assert params["group"] == {"name": f"{infra.cluster_name}-platform"}
        assert params["scheme"] == "internet-facing" and params["targetType"] == "ip"
        assert params["certificateArn"] == [infra.certificate_arn]
        assert params["sslRedirectPort"] == "443" and params["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
        assert len(params["loadBalancerName"]) <= 32
        cls = find(_objs(r, "ingress"), "IngressClass", r.env.ingress.class_name)
        assert cls["spec"]["controller"] == "ingress.k8s.aws/alb"
        for ing in (o for o in _all(r) if o["kind"] == "Ingress"):
            assert ing["spec"]["ingressClassName"] == r.env.ingress.class_name
            assert "alb.ingress.kubernetes.io/healthcheck-path" in ing["metadata"]["annotations"]
            assert all(rule["host"] in ing["spec"]["tls"][0]["hosts"] for rule in ing["spec"]["rules"])


def test_ingress_annotations_are_generated_not_scattered(envs):
    """ALB-login routes get the OIDC action pointing at the realm; app-login routes don't."""
    env = envs["staging"]
    from mlplatform.kit.ingress import annotations
    alb = annotations(env, mlflow_access.ROUTE)
    oidc = json.loads(alb["alb.ingress.kubernetes.io/auth-idp-oidc"])
    assert oidc["issuer"] == f"https://auth.{env.domain}/realms/{env.keycloak.realm}"
    assert oidc["tokenEndpoint"].endswith("/protocol/openid-connect/token")
    assert alb["alb.ingress.kubernetes.io/auth-on-unauthenticated-request"] == "authenticate"
    app = annotations(env, jupyterhub_access.ROUTE)
    assert "alb.ingress.kubernetes.io/auth-type" not in app


def test_only_route_namespaces_and_teams_may_join_the_alb(envs):
    env = envs["prod"]
    sel = find(ingress.build(env), "IngressClassParams", env.ingress.class_name)["spec"]["namespaceSelector"]
    (expr,) = sel["matchExpressions"]
    assert set(expr["values"]) == {r.namespace for r in routes.for_env(env)} | {env.team_namespace(t) for t in env.teams}
