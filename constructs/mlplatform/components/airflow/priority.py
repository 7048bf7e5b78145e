"""Which PriorityClass each Airflow pod runs with (`priority-classes` publishes the names).

The scheduler, API server, DAG processor and triggerer keep every DAG running: `platform-critical`.
Task pods (KubernetesExecutor, the chart's pod template) are batch: `preemptible` — they wait for
room and give way to serving and controllers; a preempted task is retried by Airflow."""
from __future__ import annotations

from ..priority_classes import PRIORITY

CONTROLLERS = ("apiServer", "scheduler", "dagProcessor", "triggerer")


def with_priorities(values: dict) -> dict:
    """The chart values with `priorityClassName` on every Airflow component and the task pod template."""
    for key in CONTROLLERS:
        values.setdefault(key, {})["priorityClassName"] = PRIORITY.controllers
    values.setdefault("workers", {}).setdefault("kubernetes", {})["priorityClassName"] = PRIORITY.preemptible
    return values
