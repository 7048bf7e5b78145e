"""Versions rows of unit `mlflow`: the MLflow server image. `kit/versions.py` collects every unit's rows into
the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import Image

VERSIONS = (
    Image("mlflow", "burakince/mlflow", "3.15.1"),
)
