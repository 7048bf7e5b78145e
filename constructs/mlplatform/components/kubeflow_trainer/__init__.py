"""Component `kubeflow-trainer`: Kubeflow Trainer v2 (TrainJob API) with gang scheduling by Volcano.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from . import checks
from .versions import VERSIONS
from .objects import NAME, build, helm

UNIT = Component(
    NAME,
    "Kubeflow Trainer v2 (TrainJob, JobSet): torchrun runtimes gang-scheduled "
              "by Volcano, team RBAC, example jobs",
    build,
    helm=helm,
    checks=checks.checks,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME"]
