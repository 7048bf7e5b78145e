"""The kubeflow-trainer unit's team access: per team namespace a submitter ServiceAccount, a Role
(TrainJobs, and the team's own TrainingRuntimes by name) bound to it and to the team's Kubernetes
group, and per team a ClusterRole reading only the ClusterTrainingRuntimes whose whole gang fits
the team's quota and queue (`config.py` `runtime_fits`). See the module docstring of `objects.py`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.meta import LABEL_TEAM, Obj, metadata
from .config import runtime_fits
from .objects import GROUP, NAME, RUNTIME_READER

if TYPE_CHECKING:
    from ...config.models import Env


def _ns_name(env: Env, team) -> str:
    return f"{env.team_namespace(team)}-training"


def service_account_name(env: Env, team) -> str:
    return _ns_name(env, team)


def member_group(env: Env, team) -> str:
    return f"{env.trainer.member_group_prefix}{team.name}"


def _subjects(env: Env, team) -> list[dict]:
    return [{"kind": "ServiceAccount", "name": service_account_name(env, team), "namespace": env.team_namespace(team)},
            {"kind": "Group", "name": member_group(env, team), "apiGroup": "rbac.authorization.k8s.io"}]


_READ = ["get", "list", "watch"]
TEAM_RULES = [
    {"apiGroups": [GROUP], "resources": ["trainjobs"],
     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
    {"apiGroups": [GROUP], "resources": ["trainjobs/status"], "verbs": _READ},
    {"apiGroups": ["jobset.x-k8s.io"], "resources": ["jobsets"], "verbs": _READ},
    {"apiGroups": ["scheduling.volcano.sh"], "resources": ["podgroups"], "verbs": _READ},
    {"apiGroups": [""], "resources": ["pods", "pods/log", "events"], "verbs": _READ},
]
READER_RULES = [
    {"apiGroups": ["scheduling.volcano.sh"], "resources": ["queues"], "verbs": _READ},
]


def fitting_runtimes(env: Env, team, *, cluster: bool) -> list[str]:
    """Names of the runtimes (ClusterTrainingRuntimes, or the team's own TrainingRuntimes) whose
    whole gang fits the team's quota and queue (`config.py` `runtime_fits`): the only ones its
    RBAC names. (validate/admission.py check_quota refuses a runtime that a team it is offered to
    with any of the resource can't hold, so a GPU team is only left out of a runtime by its queue.)"""
    return sorted(r.name for r in env.trainer.runtimes
                  if (not r.teams) == cluster and runtime_fits(env, r, team))


def _runtime_rule(resource: str, names: list[str]) -> list[dict]:
    # resourceNames: get by name; list/watch only with a metadata.name field selector. No names, no
    # rule (an empty resourceNames would grant every runtime).
    return [{"apiGroups": [GROUP], "resources": [resource], "resourceNames": names, "verbs": _READ}] if names else []


def runtime_reader_name(env: Env, team) -> str:
    return f"{RUNTIME_READER}-{team.name}"


def team_access(env: Env, team) -> list[Obj]:
    ns, name = env.team_namespace(team), _ns_name(env, team)

    def md() -> dict:
        return metadata(name, component=NAME, env=env.name, namespace=ns, extra_labels={LABEL_TEAM: team.name})

    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": md()},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": md(),
         "rules": [dict(r) for r in TEAM_RULES]
                  + _runtime_rule("trainingruntimes", fitting_runtimes(env, team, cluster=False))},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": md(),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": _subjects(env, team)},
    ]


def runtime_reader(env: Env) -> list[Obj]:
    """Every team reads the Volcano queues; each reads only the ClusterTrainingRuntimes that fit it
    (a ClusterRole and binding per team: cluster-scoped objects can't be granted by a Role)."""
    subjects = [s for team in env.teams for s in _subjects(env, team)]
    objs: list[Obj] = [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                        "metadata": metadata(RUNTIME_READER, component=NAME, env=env.name),
                        "rules": [dict(r) for r in READER_RULES]}]
    if subjects:
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                     "metadata": metadata(RUNTIME_READER, component=NAME, env=env.name),
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                 "name": RUNTIME_READER},
                     "subjects": subjects})
    for team in env.teams:
        rules = _runtime_rule("clustertrainingruntimes", fitting_runtimes(env, team, cluster=True))
        if not rules:
            continue
        name = runtime_reader_name(env, team)
        md = lambda: metadata(name, component=NAME, env=env.name, extra_labels={LABEL_TEAM: team.name})  # noqa: E731
        objs += [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": md(),
                  "rules": rules},
                 {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": md(),
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                  "subjects": _subjects(env, team)}]
    return objs
