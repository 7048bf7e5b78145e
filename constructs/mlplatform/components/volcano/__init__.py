"""Component `volcano`: the Volcano batch scheduler (pinned chart) and one queue per team.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from . import checks
from .checks import queue_gpus, queues
from .objects import QUEUE_LABEL
from .versions import VERSIONS
from .objects import NAME, POD_GROUP_CRD, QUEUE_ANNOTATION, SCHEDULER_NAME, build, helm, namespace_annotations, queue_name

UNIT = Component(
    NAME,
    "Volcano batch scheduler: gang scheduling, one queue (GPU budget) per team",
    build,
    helm=helm,
    checks=checks.checks,
    versions=VERSIONS,
)

__all__ = ["UNIT", "NAME", "POD_GROUP_CRD", "QUEUE_ANNOTATION", "SCHEDULER_NAME", "namespace_annotations", "queue_name"]
__all__ += ["QUEUE_LABEL", "queue_gpus", "queues"]
