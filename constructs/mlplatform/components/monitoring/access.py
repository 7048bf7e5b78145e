"""How the monitoring UIs are reached and what they read: the routes of Grafana (its own Keycloak
login), Prometheus and Alertmanager (behind the ALB's login), Grafana's OIDC client secret and
break-glass admin, Alertmanager's whole configuration, and the Secrets they land in."""
from __future__ import annotations

from ...kit.routes import Route
from ...kit.secrets import Credential, SecretWant, oidc_credential, oidc_data

GRAFANA_OIDC = "grafana-oidc"
GRAFANA_ADMIN = "grafana-admin"  # keys `admin-user`, `admin-password` (grafana.admin.existingSecret)
ALERTMANAGER_CONFIG = "alertmanager-config"  # key `alertmanager.yaml`
ADMIN = "grafana/admin"  # catalog keys
ALERTMANAGER = "monitoring/alertmanager"

# kube-prometheus-stack's Services (fullnameOverride `kube-prometheus-stack`, Grafana's
# fullnameOverride `grafana`): objects.py checks these rows against its values.
GRAFANA_ROUTE = Route("grafana", "grafana", "/", "monitoring", "grafana", 80, "/api/health", "app",
                      callbacks=("/login/generic_oauth",), post_logout="/", component="monitoring",
                      description="Grafana", pods=(("app.kubernetes.io/name", "grafana"),), target_ports=(3000,))
PROMETHEUS_ROUTE = Route("prometheus", "prometheus", "/", "monitoring", "kube-prometheus-stack-prometheus", 9090,
                         "/-/healthy", "alb", component="monitoring", description="Prometheus UI",
                         pods=(("app.kubernetes.io/name", "prometheus"),), target_ports=(9090,))
ALERTMANAGER_ROUTE = Route("alertmanager", "alertmanager", "/", "monitoring", "kube-prometheus-stack-alertmanager",
                           9093, "/-/healthy", "alb", component="monitoring", description="Alertmanager UI",
                           pods=(("app.kubernetes.io/name", "alertmanager"),), target_ports=(9093,))

CREDENTIALS = (
    oidc_credential(GRAFANA_ROUTE.name, "Keycloak client secret of Grafana"),
    Credential(ADMIN, ("admin-user", "admin-password"),
               "Grafana's built-in admin (break-glass via port-forward; people log in through Keycloak): "
               "otherwise the chart generates a random password on every render", optional=True),
    Credential(ALERTMANAGER, ("alertmanager.yaml",),
               "Alertmanager configuration (receivers, routes: webhook URLs, chat tokens): a whole alertmanager.yaml",
               optional=True),
)


def routes(env) -> list[Route]:
    """Grafana and Prometheus where monitoring runs; Alertmanager only where it runs too."""
    mon = env.monitoring
    if not mon.enabled:
        return []
    return [GRAFANA_ROUTE, PROMETHEUS_ROUTE, *([ALERTMANAGER_ROUTE] if mon.alertmanager else [])]


def secrets(env) -> list[SecretWant]:
    ns, mon = env.namespaces.monitoring_namespace, env.monitoring
    out = [SecretWant(GRAFANA_OIDC, ns, oidc_data(GRAFANA_ROUTE.name))]
    if mon.enabled:
        out.append(SecretWant(GRAFANA_ADMIN, ns, {k: (ADMIN, k) for k in ("admin-user", "admin-password")}))
    if mon.enabled and mon.alertmanager:
        out.append(SecretWant(ALERTMANAGER_CONFIG, ns, {"alertmanager.yaml": (ALERTMANAGER, "alertmanager.yaml")}))
    return out
