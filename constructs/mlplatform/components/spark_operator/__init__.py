"""Component `spark-operator`: the Kubeflow Spark operator, and who may submit SparkApplications.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .versions import VERSIONS
from .objects import NAME, build, helm

UNIT = Component(
    NAME,
    "Kubeflow Spark operator; Airflow may submit SparkApplications in the job namespaces",
    build,
    helm=helm,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
