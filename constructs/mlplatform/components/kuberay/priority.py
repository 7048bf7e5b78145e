"""Which PriorityClass each Ray pod runs with (`priority-classes` publishes the names).

Team clusters and the RayJob clusters people submit are batch: `preemptible` (they wait for room and
give way to serving and controllers). A RayService answers requests: `serving`, like vLLM. The
operator itself is a controller (its chart value, in `objects.values`)."""
from __future__ import annotations

from ...kit.meta import Obj
from ..priority_classes import PRIORITY


def _cluster_spec(o: Obj) -> dict:
    spec = o.get("spec") or {}
    if o["kind"] == "RayService":
        return spec.get("rayClusterConfig") or {}
    if o["kind"] == "RayJob":
        return spec.get("rayClusterSpec") or {}
    return spec


def with_priority(o: Obj) -> Obj:
    """The same RayCluster / RayService / RayJob with `priorityClassName` on every Ray pod template
    (head and worker groups; a RayJob's submitter pod too)."""
    cls = PRIORITY.serving if o["kind"] == "RayService" else PRIORITY.preemptible
    c = _cluster_spec(o)
    templates = [(c.get("headGroupSpec") or {}).get("template")]
    templates += [g.get("template") for g in c.get("workerGroupSpecs") or []]
    if o["kind"] == "RayJob":
        templates.append((o.get("spec") or {}).get("submitterPodTemplate"))
    for t in templates:
        if isinstance(t, dict) and isinstance(t.get("spec"), dict):
            t["spec"]["priorityClassName"] = cls
    return o
