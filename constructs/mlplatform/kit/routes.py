"""Every URL the platform serves: the `Route` type, the collector, and functions over the routes.

Each unit contributes the routes it serves through its `routes(env)` hook (the host field or
label, path, backend Service, health check, login); Argo CD, installed by the bootstrap, contributes
its own (`kit/argocd.py`). `for_env(env)` collects them in registry order. Ingresses
(`kit/ingress.py`), Keycloak's OIDC clients and their redirect URIs (`components/keycloak`),
external-dns records, the ALB NetworkPolicies and the certificate cross-check all derive from
that one list and the env's `ingress.hosts`, so a host or path can't drift between the ALB and
the identity provider. Every user of routes goes through `for_env`, and every host is computed by
`hostname`.

Login: `app` means the application runs its own OIDC login against Keycloak (its client id is
the route name); `alb` means the UI has no login of its own and the shared ALB authenticates the
user against Keycloak (client `platform-ui`) before forwarding. One mechanism, used everywhere:
no oauth2-proxy pods.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .component import contributors

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


def collect(env, units) -> list[Route]:
    """The routes `units` (in registry order) serve in `env`, each unit asked through its
    `routes` hook. A route name is an Ingress name and an OIDC client id, so it is unique; a unit
    contributes only the routes whose Ingress it emits (`Route.owner`)."""
    out: list[Route] = []
    by: dict[str, str] = {}
    for unit in units:
        if unit.routes is None:
            continue
        for r in unit.routes(env):
            if r.name in by:
                raise ValueError(f"route {r.name!r} is contributed by both {by[r.name]!r} and {unit.name!r}: "
                                 f"a route name is an Ingress name and an OIDC client id, it must be unique")
            if r.owner != unit.name:
                raise ValueError(f"route {r.name!r} is contributed by {unit.name!r} but names component "
                                 f"{r.owner!r}: a unit contributes the routes it serves")
            by[r.name] = unit.name
            out.append(r)
    return out


def for_env(env) -> list[Route]:
    """Every route of the env: what each registered unit (and the bootstrap's Argo CD) serves there."""
    return collect(env, contributors())


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
