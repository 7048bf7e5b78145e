"""How JupyterHub is reached and what it reads: its route (its own Keycloak login), its OIDC
client secret and hub keys, and the Secrets they land in."""
from __future__ import annotations

from ...kit.routes import Route
from ...kit.secrets import Credential, SecretWant, oidc_credential, oidc_data

JUPYTERHUB_HUB = "jupyterhub-hub"
JUPYTERHUB_OIDC = "jupyterhub-oidc"
HUB_KEYS = "jupyterhub/hub"  # the catalog key

ROUTE = Route("jupyterhub", "platform", "/jupyter", "jupyterhub", "proxy-public", 80, "/jupyter/hub/health", "app",
              callbacks=("/jupyter/hub/oauth_callback",), post_logout="/jupyter/", description="JupyterHub",
              pods=(("app", "jupyterhub"), ("component", "proxy")), target_ports=(8000,))

CREDENTIALS = (
    oidc_credential(ROUTE.name, "Keycloak client secret of JupyterHub"),
    Credential(HUB_KEYS, ("cookie-secret", "crypt-keeper-key"),
               "JupyterHub cookie secret and auth-state keys, 64 hex characters each (otherwise random per render)"),
)


def routes(env) -> list[Route]:
    return [ROUTE]


def secrets(env) -> list[SecretWant]:
    return [
        # hub.existingSecret: merged over the chart's Secret. The proxy token is not here: the
        # chart reads it only from its own Secret (see objects.py).
        SecretWant(JUPYTERHUB_HUB, "jupyterhub", {
            "hub.config.JupyterHub.cookie_secret": (HUB_KEYS, "cookie-secret"),
            "hub.config.CryptKeeper.keys": (HUB_KEYS, "crypt-keeper-key"),
        }),
        SecretWant(JUPYTERHUB_OIDC, "jupyterhub", oidc_data(ROUTE.name)),
    ]
