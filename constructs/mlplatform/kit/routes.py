"""Every URL the platform serves, in one table: hosts, paths, backends, health checks, login.

Ingresses (`kit/ingress.py`), Keycloak's OIDC clients and their redirect URIs
(`components/keycloak.py`), external-dns records and the certificate cross-check all
derive from this table and the env's `ingress.hosts`, so a host or path can't drift between
the ALB and the identity provider.

`ROUTES` are the same in every env; `for_env(env)` adds the routes that exist only where the env
config asks for them (one Ray dashboard per team cluster, host `<hosts.ray>-<team>.<domain>`: a
single label under the domain, so the env's wildcard certificate covers it). Every user of routes
goes through `for_env`, and every host is computed by `hostname`.

Login: `app` means the application runs its own OIDC login against Keycloak (its client id is
the route name); `alb` means the UI has no login of its own and the shared ALB authenticates the
user against Keycloak (client `platform-ui`) before forwarding. One mechanism, used everywhere:
no oauth2-proxy pods.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ALB_CLIENT = "platform-ui"  # the Keycloak client the ALB's OIDC action uses
ALB_CALLBACK = "/oauth2/idpresponse"  # fixed by the ALB


@dataclass(frozen=True)
class Route:
    name: str  # also the OIDC client id for login="app"
    host: str  # field of config.models.Hosts (the host label, unless `label` is set)
    path: str  # "/" or a prefix without trailing slash
    namespace: str
    service: str
    port: int
    health_path: str
    login: Literal["app", "alb", "none"]
    health_port: int | None = None  # default: the traffic port
    callbacks: tuple[str, ...] = ()  # OIDC redirect paths (login="app"), absolute on the host
    post_logout: str | None = None  # post-logout redirect path (login="app")
    component: str = ""  # the component that emits the Ingress (default: name)
    description: str = ""
    label: str | None = None  # a literal host label under the env domain (per-env routes)
    # The pods behind the Service and the container ports the ALB (ip targets) connects to: the
    # namespace's NetworkPolicy admits the ALB subnets to exactly these. Where the env emits the
    # Service itself, validate/netpol.py checks them against Ingress -> Service -> pods; for
    # chart- or operator-made Services they are that software's labels (a wrong one fails closed).
    pods: tuple[tuple[str, str], ...] = ()
    target_ports: tuple[int, ...] = ()

    @property
    def pod_labels(self) -> dict[str, str]:
        return dict(self.pods)

    @property
    def owner(self) -> str:
        return self.component or self.name


ROUTES: tuple[Route, ...] = (
    # Keycloak itself: the login pages. Health on the management port (KC 25+: 9000).
    Route("keycloak", "auth", "/", "keycloak", "keycloak-service", 8080, "/health/ready", "none",
          health_port=9000, description="Keycloak (realm login, account console)",
          pods=(("app", "keycloak"), ("app.kubernetes.io/instance", "keycloak")), target_ports=(8080, 9000)),
    Route("jupyterhub", "platform", "/jupyter", "jupyterhub", "proxy-public", 80, "/jupyter/hub/health", "app",
          callbacks=("/jupyter/hub/oauth_callback",), post_logout="/jupyter/", description="JupyterHub",
          pods=(("app", "jupyterhub"), ("component", "proxy")), target_ports=(8000,)),
    Route("airflow", "platform", "/airflow", "airflow", "airflow-api-server", 8080, "/airflow/api/v2/monitor/health",
          "app", callbacks=("/airflow/auth/oauth-authorized/keycloak",), post_logout="/airflow/", description="Airflow UI",
          pods=(("component", "api-server"), ("tier", "airflow")), target_ports=(8080,)),
    Route("argocd", "argocd", "/", "argocd", "argocd-server", 80, "/healthz", "app",
          callbacks=("/auth/callback",), post_logout="/", component="argocd", description="Argo CD"),
    Route("grafana", "grafana", "/", "monitoring", "grafana", 80, "/api/health", "app",
          callbacks=("/login/generic_oauth",), post_logout="/", component="monitoring", description="Grafana",
          pods=(("app.kubernetes.io/name", "grafana"),), target_ports=(3000,)),
    Route("mlflow", "mlflow", "/", "mlflow", "mlflow", 80, "/health", "alb", description="MLflow tracking UI",
          pods=(("app.kubernetes.io/instance", "mlflow"), ("app.kubernetes.io/name", "mlflow")), target_ports=(5000,)),
    # kube-prometheus-stack's Services (fullnameOverride `kube-prometheus-stack`, Grafana's
    # fullnameOverride `grafana`): components/monitoring.py checks these rows against its values.
    Route("prometheus", "prometheus", "/", "monitoring", "kube-prometheus-stack-prometheus", 9090, "/-/healthy", "alb",
          component="monitoring", description="Prometheus UI",
          pods=(("app.kubernetes.io/name", "prometheus"),), target_ports=(9090,)),
    Route("alertmanager", "alertmanager", "/", "monitoring", "kube-prometheus-stack-alertmanager", 9093, "/-/healthy",
          "alb", component="monitoring", description="Alertmanager UI",
          pods=(("app.kubernetes.io/name", "alertmanager"),), target_ports=(9093,)),
)

BY_NAME = {r.name: r for r in ROUTES}


def route(name: str) -> Route:
    return BY_NAME[name]


def for_env(env) -> list[Route]:
    """Every route of the env: `ROUTES`, one dashboard per team Ray cluster (`ray.clusters`) and one
    OpenAI-compatible endpoint per served model (`serving.models`)."""
    from ..components import kuberay, vllm  # their object naming decides the backends

    mon = env.monitoring
    off = set() if mon.enabled else {"grafana", "prometheus", "alertmanager"}
    if not (mon.enabled and mon.alertmanager):
        off.add("alertmanager")
    return [*(r for r in ROUTES if r.name not in off), *kuberay.dashboard_routes(env), *vllm.model_routes(env)]


def hostname(env, r: Route) -> str:
    """The one place a route's host is computed: `<label>.<domain>`, the label from `ingress.hosts`."""
    if r.label:
        return f"{r.label}.{env.domain}"
    return env.host(r.host)


def app_clients(env) -> list[Route]:
    """Routes whose application logs users in itself: one Keycloak client each."""
    return [r for r in for_env(env) if r.login == "app"]


def alb_routes(env) -> list[Route]:
    """Routes behind the ALB's OIDC login (Keycloak client `platform-ui`)."""
    return [r for r in for_env(env) if r.login == "alb"]


def alb_client(env, namespace: str) -> str:
    """The Keycloak client of the ALB login for routes in `namespace`. A team namespace has its own
    (`<namespace>-ui`: only the team's group and admins may log in, see components/keycloak.py);
    platform UIs share `platform-ui` (any realm user)."""
    if namespace in {env.team_namespace(t) for t in env.teams}:
        return f"{namespace}-ui"
    return ALB_CLIENT


def url(env, r: Route, path: str | None = None) -> str:
    """`https://<host><path>`: hosts always from the env config, always https."""
    p = r.path if path is None else path
    return f"https://{hostname(env, r)}{'' if p == '/' else p}"


def redirect_uris(env, r: Route) -> list[str]:
    return [url(env, r, c) for c in r.callbacks]


# --------------------------------------------------------------------------- OIDC (Keycloak)
def issuer(env) -> str:
    """The platform realm's issuer; every client and the ALB read discovery from here."""
    return f"https://{env.host('auth')}/realms/{env.keycloak.realm}"


def oidc_endpoint(env, which: str) -> str:
    """`auth`, `token`, `userinfo`, `certs` or `logout` of the platform realm."""
    if which not in ("auth", "token", "userinfo", "certs", "logout"):
        raise ValueError(f"unknown OIDC endpoint {which!r}")
    return f"{issuer(env)}/protocol/openid-connect/{which}"
