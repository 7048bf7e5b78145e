"""What the shared ALB's OIDC login reads: the `platform-ui` client secret, and the Secret the ALB
controller reads it from in every namespace that has an `alb`-login route (a team's namespace gets
its own client id with the same secret value; Keycloak restricts who may log in per client)."""
from __future__ import annotations

from ...kit.ingress import ALB_OIDC_SECRET
from ...kit.routes import ALB_CLIENT, alb_client, alb_routes
from ...kit.secrets import SecretWant, oidc_credential, oidc_key

CREDENTIALS = (
    oidc_credential(ALB_CLIENT, "Keycloak client secret the shared ALB uses to log users into UIs without their own login"),
)


def secrets(env) -> list[SecretWant]:
    return [SecretWant(ALB_OIDC_SECRET, ns, {"clientSecret": (oidc_key(ALB_CLIENT), "client-secret")},
                       template_data={"clientID": alb_client(env, ns)}, per_namespace=True)
            for ns in sorted({r.namespace for r in alb_routes(env)})]
