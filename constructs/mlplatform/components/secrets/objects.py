"""Component `secrets`: where every credential of the platform comes from.

One ClusterSecretStore (AWS Secrets Manager, through the operator's IRSA role; usable only from
the namespaces listed below) and every ExternalSecret the platform needs, in one table, so a
reviewer sees in one folder which Secret lands in which namespace and from which Secrets
Manager name. Values never pass through git: Terraform creates the secret names, an operator
sets the values (`terraform/README.md`). Charts and workloads refer to the Secret names below
(`existingSecret`-style values), never to literal values, so no chart generates a random one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...kit import routes
from ...kit.ingress import ALB_OIDC_SECRET
from ...kit.meta import Obj, metadata
from ...kit.secrets import STORE_KIND, STORE_NAME, database_key, external_secret

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "secrets"

# Kubernetes Secret names other components point at.
KEYCLOAK_DB = "keycloak-db"
KEYCLOAK_ADMIN = "keycloak-bootstrap-admin"
KEYCLOAK_CLIENTS = "keycloak-oidc-clients"
JUPYTERHUB_HUB = "jupyterhub-hub"
JUPYTERHUB_OIDC = "jupyterhub-oidc"
AIRFLOW_KEYS = "airflow-keys"
AIRFLOW_DB = "airflow-db"
AIRFLOW_OIDC = "airflow-oidc"
AIRFLOW_GIT_SYNC = "airflow-git-sync"
MLFLOW_DB = "mlflow-db"
GRAFANA_OIDC = "grafana-oidc"
GRAFANA_ADMIN = "grafana-admin"  # monitoring: keys `admin-user`, `admin-password` (grafana.admin.existingSecret)
ARGOCD_OIDC = "argocd-oidc"
HF_TOKEN = "huggingface-token"
VLLM_API_KEY = "vllm-api-key"  # team namespaces serving models: key `api-key` (env VLLM_API_KEY)
ALERTMANAGER_CONFIG = "alertmanager-config"  # monitoring: key `alertmanager.yaml`
RAY_REDIS = "ray-redis"  # team namespaces with GCS fault tolerance: key `password` (+ `redis.conf`)
RAY_REDIS_CONF = "redis.conf"


def client_secret_key(client: str) -> str:
    """Key of a client's secret in Secret `keycloak-oidc-clients` (read by the realm sync)."""
    return client


@dataclass(frozen=True)
class Want:
    secret: str  # the Kubernetes Secret that consumers name
    namespace: str
    data: dict[str, tuple[str, str]]
    labels: dict[str, str] | None = None
    template_data: dict[str, str] | None = None
    per_namespace: bool = False  # the same Secret in several namespaces: `<namespace>-<secret>`

    @property
    def name(self) -> str:
        """The ExternalSecret's own name (unique in this component)."""
        return f"{self.namespace}-{self.secret}" if self.per_namespace else self.secret


def _db_uri(env: Env, db: str) -> str:
    d = env.infrastructure.databases[db]
    return (f"postgresql://{{{{ .username | urlquery }}}}:{{{{ .password | urlquery }}}}@{d.host}:{d.port}/"
            f"{d.database}?sslmode=require")


# The in-cluster Redis of Ray GCS fault tolerance (components/kuberay.py): password, no disk
# snapshots (the pod's emptyDir is not durable anyway), an append-only file for restarts.
_REDIS_CONF = "\n".join([
    "port 6379", "protected-mode no", "dir /data", "appendonly yes", 'save ""',
    "requirepass {{ .password }}", ""])


def wanted(env: Env) -> list[Want]:
    """Every ExternalSecret of the env."""
    # Env._infrastructure_inputs refused a missing database at load time (config/models.py); the
    # Secrets of a disabled component's database are not wanted.
    need = env.required_databases()
    creds = lambda key: {"username": (database_key(key), "username"), "password": (database_key(key), "password")}  # noqa: E731
    oidc = lambda client: {"client-secret": (f"oidc/{client}", "client-secret")}  # noqa: E731
    clients = [r.name for r in routes.app_clients(env)] + [routes.ALB_CLIENT]
    out = [
        Want(KEYCLOAK_DB, "keycloak", creds("keycloak")),
        Want(KEYCLOAK_ADMIN, "keycloak", {"username": ("keycloak/bootstrap-admin", "username"),
                                          "password": ("keycloak/bootstrap-admin", "password")}),
        Want(KEYCLOAK_CLIENTS, "keycloak",
             {client_secret_key(c): (f"oidc/{c}", "client-secret") for c in clients}),
        # hub.existingSecret: merged over the chart's Secret. The proxy token is not here: the
        # chart reads it only from its own Secret (see components/jupyterhub.py).
        Want(JUPYTERHUB_HUB, "jupyterhub", {
            "hub.config.JupyterHub.cookie_secret": ("jupyterhub/hub", "cookie-secret"),
            "hub.config.CryptKeeper.keys": ("jupyterhub/hub", "crypt-keeper-key"),
        }),
        Want(JUPYTERHUB_OIDC, "jupyterhub", oidc("jupyterhub")),
        Want(AIRFLOW_KEYS, "airflow", {
            "fernet-key": ("airflow/keys", "fernet-key"),
            "webserver-secret-key": ("airflow/keys", "webserver-secret-key"),
            "api-secret-key": ("airflow/keys", "api-secret-key"),
            "jwt-secret": ("airflow/keys", "jwt-secret"),
        }),
        *([Want(AIRFLOW_DB, "airflow", creds("airflow"), template_data={"connection": _db_uri(env, "airflow")})]
          if "airflow" in need else []),
        Want(AIRFLOW_OIDC, "airflow", oidc("airflow")),
        *([Want(MLFLOW_DB, "mlflow", creds("mlflow"), template_data={"backend-store-uri": _db_uri(env, "mlflow")})]
          if "mlflow" in need else []),
        Want(GRAFANA_OIDC, env.namespaces.monitoring_namespace, oidc("grafana")),
        # Argo CD resolves `$argocd-oidc:client-secret` only in Secrets labelled part-of=argocd.
        Want(ARGOCD_OIDC, env.gitops.argocd_namespace, oidc("argocd"),
             labels={"app.kubernetes.io/part-of": "argocd"}),
    ]
    for ns in sorted({r.namespace for r in routes.alb_routes(env)}):
        # a team's client shares the platform-ui secret value; Keycloak restricts who logs in per client
        out.append(Want(ALB_OIDC_SECRET, ns, {"clientSecret": (f"oidc/{routes.ALB_CLIENT}", "client-secret")},
                        template_data={"clientID": routes.alb_client(env, ns)}, per_namespace=True))
    git = env.airflow.dags.git_sync
    if env.airflow.enabled and env.airflow.dags.source == "git_sync" and git is not None and git.credentials:
        # dags.gitSync.credentialsSecret: git-sync v4 reads GITSYNC_*, the chart's v3 names stay for older images.
        out.append(Want(AIRFLOW_GIT_SYNC, "airflow", {
            f"{p}_{k.upper()}": ("airflow/git-sync", k) for p in ("GITSYNC", "GIT_SYNC") for k in ("username", "password")}))
    for team in env.teams:
        out.append(Want(HF_TOKEN, env.team_namespace(team), {"token": ("huggingface/token", "token")},
                        per_namespace=True))
    serving = sorted({m.team for m in env.serving.models} & set(t.name for t in env.teams)) if env.serving.enabled else []
    for name in serving:
        ns = env.team_namespace(next(t for t in env.teams if t.name == name))
        out.append(Want(VLLM_API_KEY, ns, {"api-key": ("serving/api-key", "api-key")}, per_namespace=True))
    if env.monitoring.enabled:
        out.append(Want(GRAFANA_ADMIN, env.namespaces.monitoring_namespace,
                        {k: ("grafana/admin", k) for k in ("admin-user", "admin-password")}))
    if env.monitoring.enabled and env.monitoring.alertmanager:
        out.append(Want(ALERTMANAGER_CONFIG, env.namespaces.monitoring_namespace,
                        {"alertmanager.yaml": ("monitoring/alertmanager", "alertmanager.yaml")}))
    # Ray GCS fault tolerance: the Redis password (ElastiCache AUTH token, or the in-cluster
    # Redis's requirepass, rendered into its config file here so it never is on a command line).
    ft, teams = env.ray.fault_tolerant_teams(), {t.name: t for t in env.teams}
    for name in sorted(ft & set(teams)):
        out.append(Want(RAY_REDIS, env.team_namespace(teams[name]), {"password": ("ray/redis", "password")},
                        template_data={RAY_REDIS_CONF: _REDIS_CONF} if env.ray.redis == "in_cluster" else None,
                        per_namespace=True))
    return out


def build(env: Env) -> list[Obj]:
    infra = env.infrastructure
    wants = wanted(env)
    store = {
        "apiVersion": "external-secrets.io/v1", "kind": STORE_KIND,
        "metadata": metadata(STORE_NAME, component=NAME, env=env.name),
        "spec": {
            # No `auth`: the operator's own IRSA role, which may read only `<prefix>*`.
            "provider": {"aws": {"service": "SecretsManager", "region": infra.region}},
            "conditions": [{"namespaces": sorted({w.namespace for w in wants})}],
        },
    }
    objs: list[Obj] = [store]
    for w in wants:
        objs.append(external_secret(w.name, namespace=w.namespace, component=NAME, env=env.name,
                                    prefix=infra.secrets_manager_prefix, refresh=env.secrets.refresh_interval,
                                    data=w.data, labels=w.labels, template_data=w.template_data, target=w.secret))
    return objs
