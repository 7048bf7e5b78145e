"""Component `monitoring`: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, the Prometheus
Operator, kube-state-metrics, node-exporter) from its pinned chart, plus our own objects: the
Ingresses of Grafana, Prometheus and Alertmanager on the shared ALB and the platform dashboards.

* **What Prometheus reads**: every ServiceMonitor, PodMonitor, Probe, ScrapeConfig and
  PrometheusRule in any namespace that carries `kit.monitoring.SELECTOR_LABELS`
  (`release: kube-prometheus-stack`) -- explicit selectors, the chart's
  `*SelectorNilUsesHelmValues` magic off. The chart's own monitors carry that label (kube-state-
  metrics and node-exporter through `releaseLabel`, Grafana's by default); `validate/monitoring.py`
  checks every monitor and rule we emit against the selectors in these values.
* **EKS**: the control plane's scheduler, controller-manager and etcd can't be scraped from
  inside the cluster, and EKS's kube-proxy binds its metrics to 127.0.0.1:10249: those scrape
  targets (and their default rules) are off, or TargetDown/Kube*Down would fire forever.
* **No Helm hooks**: the CRDs come from the `prometheus-crds` component (`crds.enabled: false`).
  The operator's admission webhooks are off: they need a certificate made by two Helm-hook Jobs
  (`admission-create`/`admission-patch`) that Argo CD would run as PreSync/PostSync hooks on every
  sync; without them the operator also serves plain HTTP (`tls.enabled: false`, or it waits for
  that certificate's Secret). What the webhook would catch -- a PrometheusRule that doesn't
  parse -- our promtool tests catch before anything is merged.
* **Alertmanager** (per env) reads its whole configuration from Secret `alertmanager-config`
  (ExternalSecret from Secrets Manager `monitoring/alertmanager`: receivers hold webhook URLs and
  tokens); the chart renders none (`useExistingSecret`).
* **Grafana** logs people in through Keycloak (generic OAuth, client `grafana`, PKCE), its login
  form is off; realm roles map to Grafana roles (admin -> Admin, ml-engineer -> Editor, anyone
  else -> Viewer) at every login. The client secret comes from Secret `grafana-oidc` as env
  `GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET`; the built-in admin (break-glass, port-forward only) from
  Secret `grafana-admin`, so the chart never rolls a random password that Argo CD would see as
  drift. Grafana keeps its state in a per-pod SQLite file (no shared database), so with more than
  one replica the ALB pins each browser to one pod (target-group stickiness); dashboards and the
  datasource are provisioned, identical in every pod.
* **Names**: `fullnameOverride`s fix every object name (Services `kube-prometheus-stack-prometheus`
  :9090, `kube-prometheus-stack-alertmanager`:9093, `grafana`:80); `_check` keeps
  the routes (access.py) pointing at them.

Subchart keys (grafana 12.11.1, kube-state-metrics 8.4.0, prometheus-node-exporter 4.56.1) were
checked against their sources (grafana-community/helm-charts charts/grafana values.yaml and
templates; prometheus-community/helm-charts charts/kube-state-metrics, charts/kube-prometheus-stack
templates), because their defaults are not mirrored for `validate/charts.py`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from ...kit import monitoring, routes
from ...kit import dashboards as monitoring_dashboards
from ...kit.component import HelmRelease
from ...kit.ingress import ALB, ingress
from ...kit.meta import Obj
from .. import keycloak, storage
from . import access
from .access import (ALERTMANAGER_CONFIG, ALERTMANAGER_ROUTE, GRAFANA_ADMIN, GRAFANA_OIDC, GRAFANA_ROUTE,
                     PROMETHEUS_ROUTE)
from ..priority_classes import PRIORITY

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "monitoring"
CHART = "kube-prometheus-stack"
RELEASE = monitoring.RELEASE
FULLNAME = "kube-prometheus-stack"  # chart fullnameOverride (<= 26 characters: the chart truncates there)
PROMETHEUS_SERVICE, PROMETHEUS_PORT = f"{FULLNAME}-prometheus", 9090
ALERTMANAGER_SERVICE, ALERTMANAGER_PORT = f"{FULLNAME}-alertmanager", 9093
GRAFANA, GRAFANA_PORT = "grafana", 80  # Grafana's fullnameOverride; its Service port (-> 3000)
GRAFANA_CALLBACK = "/login/generic_oauth"  # Grafana's generic OAuth redirect path
CLIENT_SECRET_ENV = "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"  # Grafana: GF_<SECTION>_<KEY> overrides grafana.ini
# Realm role -> Grafana org role, first match wins; everyone else who logs in is a Viewer.
GRAFANA_ROLES: tuple[tuple[str, str], ...] = (("admin", "Admin"), ("ml-engineer", "Editor"))
DEFAULT_GRAFANA_ROLE = "Viewer"
ROLES_CLAIM = "roles"  # realm roles in the ID token and userinfo (components/keycloak.py `_mappers`)
# Scrape targets of the chart that don't exist on EKS (managed control plane; kube-proxy's
# metrics bound to localhost), with the default rule groups that watch them.
EKS_ABSENT_TARGETS = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
EKS_ABSENT_RULES = ("etcd", "kubeControllerManager", "kubeSchedulerAlerting", "kubeSchedulerRecording", "kubeProxy")
ALB_MAX_STICKINESS = 604800  # seconds: the ALB's upper bound for lb_cookie stickiness
SELECTORS = ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig")  # prometheusSpec.<x>Selector


def _res(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


OPERATOR_RESOURCES = _res("100m", "128Mi", "500m", "512Mi")
CONFIG_RELOADER_RESOURCES = _res("10m", "32Mi", "100m", "64Mi")
KUBE_STATE_METRICS_RESOURCES = _res("50m", "128Mi", "500m", "512Mi")
NODE_EXPORTER_RESOURCES = _res("20m", "32Mi", "200m", "128Mi")
ALERTMANAGER_RESOURCES = _res("20m", "64Mi", "200m", "256Mi")
GRAFANA_RESOURCES = _res("100m", "256Mi", "1", "512Mi")
GRAFANA_SIDECAR_RESOURCES = _res("20m", "64Mi", "200m", "256Mi")


# --------------------------------------------------------------------------- wiring checks
def _check(env: Env) -> None:
    """What the env file can't express: the routes and the realm must match the chart's objects."""
    want = ((GRAFANA_ROUTE, GRAFANA, GRAFANA_PORT), (PROMETHEUS_ROUTE, PROMETHEUS_SERVICE, PROMETHEUS_PORT),
            (ALERTMANAGER_ROUTE, ALERTMANAGER_SERVICE, ALERTMANAGER_PORT))
    ns = env.namespaces.monitoring_namespace
    for r, svc, port in want:
        if (r.namespace, r.service, r.port, r.owner) != (ns, svc, port, NAME):
            raise ValueError(f"route {r.name!r} points at {r.namespace}/{r.service}:{r.port} "
                             f"(component {r.owner}), not the chart's {ns}/{svc}:{port} (component {NAME})")
    g = GRAFANA_ROUTE
    if g.login != "app" or g.callbacks != (GRAFANA_CALLBACK,):
        raise ValueError(f"route 'grafana' must log in itself with callback {GRAFANA_CALLBACK}")
    unknown = {kc for kc, _ in GRAFANA_ROLES} - set(keycloak.ROLES)
    if unknown:
        raise ValueError(f"GRAFANA_ROLES names {sorted(unknown)}, which are not realm roles")


# --------------------------------------------------------------------------- Grafana login
def role_attribute_path() -> str:
    """Grafana's JMESPath over the token's claims: realm roles -> Grafana role."""
    parts = [f"contains({ROLES_CLAIM}[*], '{kc}') && '{gf}'" for kc, gf in GRAFANA_ROLES]
    return " || ".join([*parts, f"'{DEFAULT_GRAFANA_ROLE}'"])


def grafana_url(env: Env) -> str:
    return routes.url(env, GRAFANA_ROUTE)


def signout_url(env: Env) -> str:
    """Keycloak's end-session endpoint, back to Grafana's registered post-logout URI afterwards."""
    r = GRAFANA_ROUTE
    home = routes.url(env, r, r.post_logout)
    return (f"{routes.oidc_endpoint(env, 'logout')}?client_id={r.name}"
            f"&post_logout_redirect_uri={quote(home, safe='')}")


def grafana_ini(env: Env) -> dict:
    r = GRAFANA_ROUTE
    return {
        "server": {"root_url": grafana_url(env), "domain": routes.hostname(env, r), "enforce_domain": False},
        "analytics": {"check_for_updates": False, "check_for_plugin_updates": False, "reporting_enabled": False},
        "users": {"allow_sign_up": False},
        # Only Keycloak logs people in; the admin's basic auth stays for the dashboard sidecar's
        # reload calls and break-glass API use through a port-forward.
        "auth": {"disable_login_form": True, "signout_redirect_url": signout_url(env)},
        "auth.generic_oauth": {
            "enabled": True,
            "name": "Keycloak",
            "client_id": r.name,  # the secret: env GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET
            "scopes": "openid email profile",
            "auth_url": routes.oidc_endpoint(env, "auth"),
            "token_url": routes.oidc_endpoint(env, "token"),
            "api_url": routes.oidc_endpoint(env, "userinfo"),
            "use_pkce": True,
            "use_refresh_token": True,
            "allow_sign_up": True,
            "auto_login": True,
            "login_attribute_path": "preferred_username",
            "email_attribute_path": "email",
            "name_attribute_path": "name",
            "role_attribute_path": role_attribute_path(),
            "role_attribute_strict": False,
            "skip_org_role_sync": False,
        },
    }


# --------------------------------------------------------------------------- values
def _selectors() -> dict:
    sel = {"matchLabels": dict(monitoring.SELECTOR_LABELS)}
    out: dict = {}
    for s in SELECTORS:
        out[f"{s}SelectorNilUsesHelmValues"] = False
        out[f"{s}Selector"] = dict(sel)
        out[f"{s}NamespaceSelector"] = {}  # every namespace
    return out


def _prometheus(env: Env) -> dict:
    mon = env.monitoring
    spec: dict = {
        "replicas": mon.prometheus_replicas,
        "retention": mon.retention,
        "scrapeInterval": mon.scrape_interval,
        "evaluationInterval": mon.evaluation_interval,
        "externalUrl": routes.url(env, PROMETHEUS_ROUTE),
        "resources": mon.prometheus_resources.render(),
        # The vLLM autoscalers and every alert read this Prometheus: it runs as a controller.
        "priorityClassName": PRIORITY.controllers,
        "storageSpec": {"volumeClaimTemplate": {"spec": {
            "storageClassName": storage.GP3,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": mon.storage}},
        }}},
        **_selectors(),
    }
    if mon.retention_size:
        spec["retentionSize"] = mon.retention_size
    return {
        "podDisruptionBudget": {"enabled": mon.prometheus_replicas > 1, "minAvailable": 1},
        "prometheusSpec": spec,
    }


def _alertmanager(env: Env) -> dict:
    mon = env.monitoring
    if not mon.alertmanager:
        return {"enabled": False}
    return {
        "enabled": True,
        "podDisruptionBudget": {"enabled": mon.alertmanager_replicas > 1, "minAvailable": 1},
        "alertmanagerSpec": {
            "replicas": mon.alertmanager_replicas,
            "externalUrl": routes.url(env, ALERTMANAGER_ROUTE),
            "resources": dict(ALERTMANAGER_RESOURCES),
            "priorityClassName": PRIORITY.controllers,
            # The whole alertmanager.yaml comes from our Secret; the chart renders no config Secret.
            "useExistingSecret": True,
            # `configSecret` is read by the chart's Alertmanager template but only shown commented
            # out in its default values, so validate/charts.py can't know it: additionalConfig is
            # the chart's pass-through into the Alertmanager spec.
            "additionalConfig": {"configSecret": ALERTMANAGER_CONFIG},
        },
    }


def _grafana(env: Env) -> dict:
    mon = env.monitoring
    ns = env.namespaces.monitoring_namespace
    return {
        "enabled": True,
        "fullnameOverride": GRAFANA,
        "replicas": mon.grafana_replicas,
        "resources": dict(GRAFANA_RESOURCES),
        "podDisruptionBudget": {"maxUnavailable": 1} if mon.grafana_replicas > 1 else {},
        "testFramework": {"enabled": False},  # a Helm test hook pod: nothing Argo CD should run
        "rbac": {"namespaced": True},  # the sidecars read ConfigMaps of the monitoring namespace only
        # Keys: the chart's defaults `admin-user` / `admin-password` (what the ExternalSecret writes).
        "admin": {"existingSecret": GRAFANA_ADMIN},
        "envValueFrom": {CLIENT_SECRET_ENV: {"secretKeyRef": {"name": GRAFANA_OIDC, "key": "client-secret"}}},
        "grafana.ini": grafana_ini(env),
        "defaultDashboardsEnabled": True,
        "defaultDashboardsTimezone": "utc",
        "defaultDashboardsEditable": False,
        "sidecar": {
            "resources": dict(GRAFANA_SIDECAR_RESOURCES),
            "dashboards": {"enabled": True, "label": monitoring_dashboards.SIDECAR_LABEL,
                           "labelValue": monitoring_dashboards.SIDECAR_LABEL_VALUE, "searchNamespace": ns},
            "datasources": {"enabled": True, "defaultDatasourceEnabled": True, "isDefaultDatasource": True,
                            "uid": monitoring_dashboards.DATASOURCE_UID,
                            "alertmanager": {"enabled": mon.alertmanager}},
        },
        # Grafana's chart labels its ServiceMonitor `release: <release name>` by default, which is
        # the selector's value (kit/monitoring.py RELEASE); setting `labels.release` too would
        # render the key twice.
        "serviceMonitor": {"enabled": True},
    }


def values(env: Env) -> dict:
    _check(env)
    system = dict(sorted(env.infrastructure.system_node_labels.items()))
    v: dict = {
        "fullnameOverride": FULLNAME,
        "cleanPrometheusOperatorObjectNames": False,
        "crds": {"enabled": False},  # the `prometheus-crds` component owns them
        # KubeHpaMaxedOut fires forever on an HPA whose min equals max (a model pinned at one
        # replica); VLLMAutoscalerAtMaxReplicas (the vllm unit's rules) replaces it.
        "defaultRules": {"create": True, "rules": {**{r: False for r in EKS_ABSENT_RULES}, "windows": False},
                         "disabled": {"KubeHpaMaxedOut": True}},
        **{t: {"enabled": False} for t in EKS_ABSENT_TARGETS},
        "prometheusOperator": {
            "admissionWebhooks": {"enabled": False, "patch": {"enabled": False}},
            "tls": {"enabled": False},
            "resources": dict(OPERATOR_RESOURCES),
            "prometheusConfigReloader": {"resources": dict(CONFIG_RELOADER_RESOURCES)},
            "nodeSelector": system,
        },
        "prometheus": _prometheus(env),
        "alertmanager": _alertmanager(env),
        "grafana": _grafana(env),
        "kube-state-metrics": {"releaseLabel": True, "resources": dict(KUBE_STATE_METRICS_RESOURCES),
                               "nodeSelector": system},
        # node-exporter shares the node's network and PID namespaces and reads its /proc and /sys
        # (hostPath, read-only) as nobody: that needs no capability and no privilege escalation.
        # Over the subchart's defaults (uid 65534, read-only root filesystem): drop every
        # capability, no escalation, RuntimeDefault seccomp.
        "prometheus-node-exporter": {
            "releaseLabel": True, "resources": dict(NODE_EXPORTER_RESOURCES),
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containerSecurityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                         "capabilities": {"drop": ["ALL"]}},
        },
    }
    return v


def helm(env: Env) -> HelmRelease | None:
    if not env.monitoring.enabled:
        return None
    return HelmRelease(chart=CHART, release=RELEASE, namespace=env.namespaces.monitoring_namespace,
                       values=values(env),
                       requires_crds=tuple(f"{k}.monitoring.coreos.com" for k in (
                           "Prometheus", "Alertmanager", "ServiceMonitor", "PodMonitor", "PrometheusRule")))


# --------------------------------------------------------------------------- our objects
def active_routes(env: Env) -> list[routes.Route]:
    """The env's routes this component serves (Alertmanager's only where it runs)."""
    return access.routes(env)


def _ingress(env: Env, r: routes.Route) -> Obj:
    obj = ingress(env, r, component=NAME)
    if r.name == "grafana" and env.monitoring.grafana_replicas > 1:
        # Per-pod SQLite sessions: keep a browser on one Grafana pod for its SSO session.
        obj["metadata"]["annotations"][ALB + "target-group-attributes"] = (
            "stickiness.enabled=true,stickiness.type=lb_cookie,"
            f"stickiness.lb_cookie.duration_seconds={min(env.keycloak.sso_session_max_seconds, ALB_MAX_STICKINESS)}")
    return obj


def build(env: Env) -> list[Obj]:
    if not env.monitoring.enabled:
        return []
    ns = env.namespaces.monitoring_namespace
    return [*(_ingress(env, r) for r in active_routes(env)),
            *monitoring_dashboards.build_configmaps(env, ns, NAME)]
