"""The names and addresses the `airflow` chart release and our objects share: release, service
accounts, the API server Service, the pools objects, the StatsD monitor, and the URLs built from
the route (`access.py` ROUTE)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import routes
from .access import ROUTE

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "airflow"
NAMESPACE = "airflow"
RELEASE = "airflow"  # chart `airflow` + release `airflow`: object names are `airflow-<part>`
OAUTH_PROVIDER = "keycloak"  # FAB's provider name: the callback is <base>/auth/oauth-authorized/<provider>
LOGS_CONN_ID = "aws_logs"
IRSA = "eks.amazonaws.com/role-arn"

# Service accounts the chart creates (fullname `airflow`); the Spark Role binds WORKER_SA.
WORKER_SA = f"{RELEASE}-worker"
SCHEDULER_SA = f"{RELEASE}-scheduler"
API_SERVER_SA = f"{RELEASE}-api-server"
TRIGGERER_SA = f"{RELEASE}-triggerer"
DAG_PROCESSOR_SA = f"{RELEASE}-dag-processor"
API_SERVER_SERVICE = f"{RELEASE}-api-server"
API_SERVER_PORT = 8080
STATSD_SCRAPE_PORT = "statsd-scrape"

POOLS_CONFIGMAP = "airflow-pools"
POOLS_FILE = "pools.json"
POOLS_JOB = "airflow-pools-sync"
LABEL_POOLS_HASH = "platform.mlops.io/pools-sha256"
STATSD_MONITOR = "airflow-statsd"

AIRFLOW_UID = 50000  # the apache/airflow image's user
RESTRICTED_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


# --------------------------------------------------------------------------- URLs
def base_url(env: Env) -> str:
    """`https://platform.<domain>/airflow`: Airflow's `[api] base_url`, from the route table."""
    return routes.url(env, ROUTE)


def callback_url(env: Env) -> str:
    """Where Keycloak sends the user back: FAB's OAuth view is mounted at `<base>/auth`."""
    return f"{base_url(env)}/auth/oauth-authorized/{OAUTH_PROVIDER}"


def execution_api_url() -> str:
    """Task pods report to the API server in-cluster (not through the public ALB); the API is
    served under the base_url path prefix."""
    r = ROUTE
    return f"http://{API_SERVER_SERVICE}.{NAMESPACE}.svc.cluster.local:{API_SERVER_PORT}{r.path}/execution/"

