"""How MLflow is reached and what it reads: its route (behind the ALB's Keycloak login) and the
Secret with its database login and connection URI."""
from __future__ import annotations

from ...kit.routes import Route
from ...kit.secrets import SecretWant, database_data, database_uri

MLFLOW_DB = "mlflow-db"

ROUTE = Route("mlflow", "mlflow", "/", "mlflow", "mlflow", 80, "/health", "alb", description="MLflow tracking UI",
              pods=(("app.kubernetes.io/instance", "mlflow"), ("app.kubernetes.io/name", "mlflow")),
              target_ports=(5000,))


def routes(env) -> list[Route]:
    return [ROUTE]


def secrets(env) -> list[SecretWant]:
    # The Secret of a disabled component's database is not wanted.
    if "mlflow" not in env.required_databases():
        return []
    return [SecretWant(MLFLOW_DB, "mlflow", database_data("mlflow"),
                       template_data={"backend-store-uri": database_uri(env, "mlflow")})]
