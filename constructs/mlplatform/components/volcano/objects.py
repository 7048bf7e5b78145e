"""Component `volcano`: the Volcano batch scheduler (pinned chart) and one queue per team.

One Argo CD Application, two sources: the chart (`helm`: scheduler, controllers, admission
webhooks, CRDs) and our objects (`build`: the Queues and the admission policy that pins every
team's gang-scheduled work to the team's queue).

**Release name `volcano`** in `volcano-system` (created by `namespaces`): the admission Service
`volcano-admission-service` and the webhook configurations' client configs derive from it.

**Kubernetes minor.** The chart's BOM row carries the minors Volcano certifies upstream
(`kubernetes_minors`, README "Kubernetes compatibility": v1.15 is exact for 1.24-1.35). An env on
another minor is refused when its file is loaded (`config.py` `training_team_problems`)
and, should a config bypass that, when the release is built (`helm`).

**Scheduler.** `enqueue, allocate, backfill, reclaim` with `gang` (all pods of a PodGroup or
none), `proportion` (queues share by weight, never beyond `capability`, `guarantee` reserved),
`drf`, `predicates`, `nodeorder`, `binpack` (pack nodes so Karpenter can consolidate). No
`overcommit` plugin: it admits a job only when *existing* nodes have room (x1.2), and with
Karpenter the GPU nodes don't exist until a pod is unschedulable -- a GPU job would wait forever
in `Pending` without ever producing the unschedulable pods Karpenter reacts to. Admission is
therefore by queue capability only; nodes come from Karpenter.

**Webhooks and their failure mode.** The chart hard-codes `failurePolicy: Fail` on every
webhook it renders, so what we control is *which* webhooks exist and *where* they apply:

- never `/pods/mutate` or `/pods/validate` (the 1.9 chart's default): a pods webhook that fails
  closed blocks pod creation cluster-wide while the admission pod is down. Only Volcano's own
  kinds are admitted (Jobs, PodGroups, Queues, HyperNodes, CronJobs);
- with `webhook_scope: team-namespaces` (default) the namespaced webhooks apply only in
  namespaces labelled `platform.mlops.io/team` (the chart always skips `volcano-system` and
  `kube-system`); Queue webhooks are cluster-scoped and unaffected;
- prod runs several admission replicas.

**Argo CD drift.** The webhook configurations are rendered without a `caBundle`; the admission
pod injects its CA at start-up (the certificate Secret `volcano-admission-secret` is made by the
chart's admission-init hook Job and is not part of the rendered manifests). Argo CD ignores
`.webhooks[].clientConfig.caBundle` on each of them (`RespectIgnoreDifferences`), so self-heal
never strips the CA and breaks admission.

**Default queue of a team (jobs that never name a queue).** Three pieces, all needed:

1. every team namespace carries the annotation `scheduling.volcano.sh/queue-name: team-<team>`
   (`namespace_annotations`, applied by the `namespaces` component);
2. the `/podgroups/mutate` admission is enabled: the PodGroup CRD defaults `spec.queue` to
   `default`, and for such PodGroups Volcano's mutating webhook substitutes the namespace's
   annotated queue. TrainJobs on a runtime that names no queue, RayClusters without a queue
   label and plain `schedulerName: volcano` pods all get the team's queue;
3. a ValidatingAdmissionPolicy (core API, evaluated in the API server after all mutation)
   denies any PodGroup in a team namespace whose queue is not the namespace's queue: an explicit
   other queue, `default` left over because the mutating webhook was skipped, or an annotation
   missing altogether. Work is refused loudly instead of running in someone else's budget.

**Queues.** `team-<name>` per `volcano.queues` entry (weight, capability cpu/memory/GPUs,
optional guarantee, reclaimable) and Volcano's own `default` queue, capped by
`volcano.default_queue` (no GPUs by default) -- Volcano creates `default` itself at start-up;
declaring it makes its limits reviewable. Their CRD comes with this Application's chart, so they
carry `SkipDryRunOnMissingResource` (added by the plan), and sync wave 1 inside the Application:
Argo CD applies them once the chart's Deployments (the queue webhooks, which fail closed) are healthy.
"""
from __future__ import annotations

from typing import TYPE_CHECKING



from ...kit import k8s, versions, yamltext
from ...kit.component import HelmRelease
from ...kit.meta import LABEL_TEAM, SYNC_WAVE, Obj, metadata
from ..node_pools import MIG_RESOURCE_PREFIX, gpu_placements
from .config import QueueConfig

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "volcano"
RELEASE = "volcano"  # the admission Service and webhook client configs derive from it: keep it
NAMESPACE = "volcano-system"  # created by the `namespaces` component
CHART = "volcano"
SCHEDULER_NAME = "volcano"  # pods Volcano schedules say `schedulerName: volcano` (chart default)

# How workloads name a queue: the annotation on pods, PodGroups, Namespaces (namespace default)
# and Trainer runtimes; the label KubeRay reads on RayClusters/RayJobs/RayServices.
QUEUE_ANNOTATION = "scheduling.volcano.sh/queue-name"
QUEUE_LABEL = "volcano.sh/queue-name"
DEFAULT_QUEUE = "default"  # Volcano's own queue (created by Volcano at start-up)
QUEUE_PREFIX = "team-"
POD_GROUP_CRD = "PodGroup.scheduling.volcano.sh"
TEAM_QUEUE_POLICY = "volcano-team-queue"
ADMISSION_SECRET = "volcano-admission-secret"  # chart value basic.admission_secret_name (default)

# Admission webhooks we enable: Volcano's own kinds only, never pods (see the module docstring).
ADMISSIONS = (
    "/jobs/mutate", "/jobs/validate",
    "/podgroups/mutate", "/podgroups/validate",
    "/queues/mutate", "/queues/validate",
    "/hypernodes/validate", "/cronjobs/validate",
)


def queue_name(team: str) -> str:
    """The Volcano queue of team `team` (cluster-scoped, so prefixed like the team's namespace)."""
    return f"{QUEUE_PREFIX}{team}"


def namespace_annotations(env: Env, team) -> dict[str, str]:
    """Annotations of a team's Namespace: its default queue (Volcano's PodGroup mutation reads it)."""
    if not env.volcano.enabled:
        return {}
    return {QUEUE_ANNOTATION: queue_name(team.name)}


def webhook_configurations() -> list[tuple[str, str]]:
    """(kind, name) of the webhook configurations the chart renders for `ADMISSIONS`."""
    out = []
    for path in ADMISSIONS:
        resource, op = path.strip("/").split("/")
        kind = "MutatingWebhookConfiguration" if op == "mutate" else "ValidatingWebhookConfiguration"
        out.append((kind, f"volcano-admission-service-{resource}-{op}"))
    return out


# --------------------------------------------------------------------------- values
def scheduler_config() -> str:
    """volcano-scheduler.conf (see the module docstring for the choice of actions and plugins)."""
    conf = {
        "actions": "enqueue, allocate, backfill, reclaim",
        "tiers": [
            {"plugins": [{"name": "priority"}, {"name": "gang", "enablePreemptable": False},
                         {"name": "conformance"}]},
            {"plugins": [{"name": "drf", "enablePreemptable": False}, {"name": "predicates"},
                         {"name": "proportion"}, {"name": "nodeorder"}, {"name": "binpack"}]},
        ],
    }
    return yamltext.dump(conf, sort_keys=False)


def _check(env: Env) -> None:
    why = versions.kubernetes_minor_problem(CHART, env.kubernetes_version)
    if why is not None:
        raise ValueError(why)


def values(env: Env) -> dict:
    _check(env)
    v = env.volcano
    custom: dict = {
        "scheduler_replicas": v.scheduler_replicas,
        "controller_replicas": v.controller_replicas,
        "admission_replicas": v.admission_replicas,
        "leader_elect_enable": v.leader_election,
        "enabled_admissions": ",".join(ADMISSIONS),
        "scheduler_config_override": scheduler_config(),
        # nodeSelector of every Volcano pod (scheduler, controllers, admission, admission-init Job)
        "default_ns": dict(sorted(env.infrastructure.system_node_labels.items())),
        "scheduler_resources": v.resources.scheduler.render(),
        "controller_resources": v.resources.controller.render(),
        "admission_resources": v.resources.admission.render(),
        # The chart's default container securityContext adds DAC_OVERRIDE, which Pod Security
        # `restricted` (enforced on volcano-system) refuses: every Volcano pod -- and the
        # admission-init PreSync hook -- would be rejected and the sync would hang. Restricted,
        # nothing added (null deletes the chart's `add` list when Helm coalesces the values).
        "default_csc": {**k8s.restricted_container(runAsUser=1000),
                        "capabilities": {"drop": ["ALL"], "add": None}},
    }
    if v.webhook_scope == "team-namespaces":
        custom["webhooks_namespace_selector_expressions"] = [{"key": LABEL_TEAM, "operator": "Exists"}]
    return {
        "basic": {
            "image_registry": "docker.io",
            "image_tag_version": f"v{versions.CHARTS[CHART].app_version}",
            "image_pull_policy": "IfNotPresent",
        },
        "custom": custom,
    }


def helm(env: Env) -> HelmRelease | None:
    if not env.volcano.enabled:
        return None
    # The admission pod writes its CA into every webhook configuration at start-up; the
    # certificate Secret is made at runtime (should a chart version render it, its data is live).
    ignore = tuple(("admissionregistration.k8s.io", kind, name, ".webhooks[]?.clientConfig.caBundle")
                   for kind, name in webhook_configurations()) + (("", "Secret", ADMISSION_SECRET, "/data"),)
    return HelmRelease(chart=CHART, release=RELEASE, namespace=NAMESPACE, values=values(env),
                       ignore_differences=ignore)


# --------------------------------------------------------------------------- our objects
def _resources(cpu: str | None, memory: str | None, gpus: int | None,
               slices: dict[str, int] | None = None) -> dict[str, str]:
    out: dict[str, str] = {}
    if cpu is not None:
        out["cpu"] = cpu
    if memory is not None:
        out["memory"] = memory
    if gpus is not None:
        out["nvidia.com/gpu"] = str(gpus)
    for resource, n in sorted((slices or {}).items()):
        out[resource] = str(n)
    return out


def _slice_capability(env: Env, q: QueueConfig) -> dict[str, int]:
    """The queue's MIG slice capability, one entry per slice kind any GPU pool of the env offers
    (0 where the queue has none): a resource a queue's capability leaves out is not reliably
    "unlimited" across Volcano versions (volcano-sh/volcano#1485 read it as 0), so none is left out,
    and a team without a slice budget holds no slices."""
    offered = {r for p in gpu_placements(env).values() for r in p.resources if r.startswith(MIG_RESOURCE_PREFIX)}
    return {r: q.capability.of(r) for r in offered | {MIG_RESOURCE_PREFIX + p for p in q.capability.mig_slices}}


def queue(env: Env, name: str, q: QueueConfig, team: str | None = None) -> Obj:
    c = q.capability
    spec: dict = {
        "weight": q.weight,
        "reclaimable": q.reclaimable,
        "capability": _resources(c.cpu, c.memory, c.gpus, _slice_capability(env, q)),
    }
    if q.guarantee is not None:
        g = q.guarantee
        spec["guarantee"] = {"resource": _resources(g.cpu, g.memory, g.gpus)}
    return {
        "apiVersion": versions.crd("Queue", "scheduling.volcano.sh").api_version,
        "kind": "Queue",
        # Wave 1 of this Application: after the admission webhooks (wave 0) that validate Queues serve.
        "metadata": metadata(name, component=NAME, env=env.name, annotations={SYNC_WAVE: "1"},
                             extra_labels={LABEL_TEAM: team} if team else None),
        "spec": spec,
    }


_TEAM_QUEUE = (f"has(namespaceObject.metadata.annotations) && '{QUEUE_ANNOTATION}' in "
               f"namespaceObject.metadata.annotations ? namespaceObject.metadata.annotations['{QUEUE_ANNOTATION}'] : ''")


def team_queue_policy(env: Env) -> list[Obj]:
    """PodGroups in team namespaces must use the namespace's queue (step 3 of the docstring)."""
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": metadata(TEAM_QUEUE_POLICY, component=NAME, env=env.name),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "namespaceSelector": {"matchExpressions": [{"key": LABEL_TEAM, "operator": "Exists"}]},
                "resourceRules": [{"apiGroups": ["scheduling.volcano.sh"], "apiVersions": ["v1beta1"],
                                   "operations": ["CREATE", "UPDATE"], "resources": ["podgroups"]}],
            },
            "variables": [
                {"name": "teamQueue", "expression": _TEAM_QUEUE},
                {"name": "queue", "expression": "has(object.spec.queue) ? object.spec.queue : ''"},
            ],
            "validations": [{
                "expression": "variables.teamQueue != '' && variables.queue == variables.teamQueue",
                "messageExpression": ("'PodGroup ' + object.metadata.name + ' asks for Volcano queue \"' + "
                                      "variables.queue + '\"; work in namespace ' + object.metadata.namespace + "
                                      "' runs in its team queue \"' + variables.teamQueue + '\" (annotation "
                                      f"{QUEUE_ANNOTATION} of the namespace)'"),
                "reason": "Forbidden",
            }],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": metadata(TEAM_QUEUE_POLICY, component=NAME, env=env.name),
        "spec": {"policyName": TEAM_QUEUE_POLICY, "validationActions": ["Deny"]},
    }
    return [policy, binding]


def build(env: Env) -> list[Obj]:
    v = env.volcano
    if not v.enabled:
        return []
    objs = [queue(env, DEFAULT_QUEUE, v.default_queue)]
    teams = {t.name for t in env.teams}
    objs += [queue(env, queue_name(t), q, team=t) for t, q in sorted(v.queues.items()) if t in teams]
    return objs + team_queue_policy(env)
