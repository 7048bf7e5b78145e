"""GPU scheduling cross-check: every GPU pod the env emits must fit one of its Karpenter NodePools.

The pods judged are every pod template of our objects (any dict with a `containers` list:
workloads and custom resources that embed pod templates) and the pods a chart will create from
our values (`HelmRelease.pod_specs`). What fitting means -- taints, node selectors and affinity
against the pool's labels and requirements, GPU instances, limits and the largest instance -- is
`kit/nodepools.py`; pods a controller makes from one unit's objects (a TrainJob's) are judged by
that unit's checks with the same functions.

Problems read `env/component/Kind/name: <path>: ...` and list why each pool refused the pod.
"""
from __future__ import annotations

from ..kit.nodepools import node_pools, unschedulable
from ..kit.pods import pod_specs

SKIP_KINDS = {"Application", "ApplicationSet", "AppProject", "NodePool"}


def check_gpu_scheduling(rendered) -> list[str]:
    """Problems for GPU pods that no NodePool of the env can run (see the module docstring).

    `rendered` is a `plan.Rendered`: NodePools and pods are read from `rendered.components`."""
    env = rendered.env.name
    candidates: list[tuple[str, str, str, dict]] = []  # (where, kind, path, pod spec)
    for comp, objs in sorted(rendered.components.items()):
        for obj in objs:
            if obj.get("kind") in SKIP_KINDS:
                continue
            where = f"{env}/{comp}/{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
            candidates += [(where, str(obj.get("kind")), path, spec) for path, spec in pod_specs(obj)]
    for comp, rel in sorted(rendered.helm.items()):  # pods a chart makes from our values
        for name, spec in rel.pod_specs:
            candidates.append((f"{env}/{comp}/HelmRelease/{rel.release}", "Pod", name, spec))
    return unschedulable(env, node_pools(rendered.components, env), candidates)
