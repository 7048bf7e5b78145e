"""Component `volcano`: the Volcano batch scheduler (pinned chart) and one queue per team.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
from .objects import NAME, POD_GROUP_CRD, QUEUE_ANNOTATION, SCHEDULER_NAME, build, helm, namespace_annotations, queue_name

UNIT = Component(NAME,
                 "Volcano batch scheduler: gang scheduling, one queue (GPU budget) per team",
                 build,
                 helm=helm)

__all__ = ["UNIT", "NAME", "POD_GROUP_CRD", "QUEUE_ANNOTATION", "SCHEDULER_NAME", "namespace_annotations", "queue_name"]
