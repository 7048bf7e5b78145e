"""Component `priority-classes`: who gives way when the cluster is full.

Three PriorityClasses, explicit and cluster-wide:

- `platform-critical` (1,000,000): the controllers and platform services every user depends on
  (operators, identity, tracking). They preempt anything below them, so a burst of notebooks or a
  large gang never leaves the cluster without its controllers. Below Kubernetes' own
  `system-cluster-critical`/`system-node-critical` (2,000,000,000+), which stay with the node agents
  and Karpenter.
- `serving` (100,000): model servers behind an HPA. A new replica may preempt batch and notebooks:
  a queue growing on a model is what the GPUs are for first.
- `preemptible` (-100, `preemptionPolicy: Never`): notebooks and batch (TrainJobs, Ray clusters,
  Airflow tasks). Below every pod without a class (0); they wait for room instead of evicting
  anyone, and are the first to go when serving or a controller needs the node.

No class is `globalDefault`: a pod nobody classified keeps priority 0, between serving and
preemptible, and reviewers see every choice in the objects that make it. Tenants must not lift
their own pods to the controllers' class: every team namespace gets a ResourceQuota that admits
no pod of `platform-critical` (the quota admission plugin refuses it; `validate/admission.py`
applies the quota's scope to every pod template before merge).

Units choose their class by reading `PRIORITY` (published in `__init__`); PriorityClasses are
cluster-scoped, Argo CD applies them in an earlier wave than any pod that names one (the plan reads
`priorityClassName` references like Secret references).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...kit.meta import Obj, metadata

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "priority-classes"
TEAM_GUARD = "priority-guard"  # the ResourceQuota `<team namespace>-priority-guard` in each team namespace


@dataclass(frozen=True)
class Priorities:
    """The class names a unit puts in `priorityClassName` (or a chart's equivalent value)."""

    controllers: str = "platform-critical"
    serving: str = "serving"
    preemptible: str = "preemptible"


PRIORITY = Priorities()

# name -> (value, preemptionPolicy, description)
CLASSES: dict[str, tuple[int, str, str]] = {
    PRIORITY.controllers: (1_000_000, "PreemptLowerPriority",
                           "Platform controllers and services every user depends on: scheduled before "
                           "serving, notebooks and batch, preempting them when the cluster is full"),
    PRIORITY.serving: (100_000, "PreemptLowerPriority",
                       "Model servers: a new replica may preempt notebooks and batch"),
    PRIORITY.preemptible: (-100, "Never",
                           "Notebooks and batch (training, Ray, Airflow tasks): wait for room instead of "
                           "preempting, first to be preempted"),
}


def build(env: Env) -> list[Obj]:
    objs: list[Obj] = []
    for name, (value, policy, description) in CLASSES.items():
        objs.append({
            "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": metadata(name, component=NAME, env=env.name),
            "value": value, "globalDefault": False, "preemptionPolicy": policy, "description": description,
        })
    for team in env.teams:
        objs.append({
            "apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": metadata(f"{env.team_namespace(team)}-{TEAM_GUARD}", component=NAME, env=env.name,
                                 namespace=env.team_namespace(team)),
            "spec": {
                "hard": {"pods": "0"},
                "scopeSelector": {"matchExpressions": [
                    {"scopeName": "PriorityClass", "operator": "In", "values": [PRIORITY.controllers]}]},
            },
        })
    return objs
