"""Component `kubeflow-trainer`: Kubeflow Trainer v2 (TrainJob API) with gang scheduling by Volcano.

One Argo CD Application, two sources: the pinned OCI chart `kubeflow-trainer` (`helm`: the
controller, its webhooks, the Trainer CRDs and -- as a subchart -- JobSet) and our objects
(`build`): the ClusterTrainingRuntimes the platform offers (sync wave 1 inside the Application,
after the controller whose webhook validates them) and, per team, a submitter ServiceAccount,
RBAC and an example TrainJob.

**How a TrainJob runs.** A TrainJob names a runtime (`runtimeRef`, ClusterTrainingRuntime by
default); Trainer turns runtime + job into a JobSet (one Job of `numNodes` pods, container `node`,
torchrun's `PET_*` environment injected) and, because the runtime has `podGroupPolicy.volcano`,
one Volcano PodGroup (`minMember` = all pods, `minResources` = their sum) owned by the TrainJob.
The runtime's pods say `schedulerName: volcano` (Trainer's Volcano plugin labels them with the
PodGroup but does not switch the scheduler), so Volcano binds all nodes of a job together or none.

**Which queue.** Trainer v2.3.0 copies the queue from the annotation
`scheduling.volcano.sh/queue-name` of the runtime's `spec.template.metadata` (or of a TrainJob's
`runtimePatches[].trainingRuntimeSpec.template.metadata`) into the PodGroup; there is no queue
field. Our runtimes are shared by all teams and name no queue, so the PodGroup arrives with the
CRD default `default` and Volcano's PodGroup mutation puts it into the queue annotated on the
team's Namespace; a ValidatingAdmissionPolicy refuses any other queue in team namespaces (both
in `components/volcano.py`). A job that names no queue therefore lands in `team-<team>`, never in
Volcano's `default`; naming the team queue explicitly (as the examples do) is allowed, naming
another team's is refused.

**JobSet.** TrainJobs need the JobSet controller; nothing else in the platform installs it, so
the chart's `jobset` subchart does (`trainer.install_jobset`, release name `jobset`). Its
defaults already size the controller (requests and limits). **No LWS**: the data cache
(`dataCache.enabled`) and its LeaderWorkerSet subchart stay off -- a second LWS would fight a
standalone `lws` Application over the same CRD. The chart's own runtimes (and their post-install
installer Job that downloads kubectl) stay off: ours are reviewed in `dist/`.

**Argo CD drift.** Trainer and JobSet issue their webhook certificates at runtime (internal
cert rotation): the chart renders the Secrets `kubeflow-trainer-webhook-cert` (empty) and
`jobset-webhook-server-cert` and webhook configurations without a CA; the controllers fill them.
Argo CD ignores those Secrets' `data` and the webhooks' `caBundle`.

**Team access.** Per team namespace: ServiceAccount `<ns>-training` (pipelines and CI submit
as it), Role `<ns>-training` (TrainJobs: create/watch/delete; pods, logs, events, JobSets,
PodGroups: read; the team's own TrainingRuntimes by name) bound to that ServiceAccount and to
the Kubernetes group `<trainer.member_group_prefix><team>` (people, through EKS access entries).
Queues are cluster-scoped: one ClusterRole `kubeflow-trainer-runtime-reader` lets every team read
them. ClusterTrainingRuntimes are read per team, by name (`resourceNames`), only those whose
whole gang fits the team's quota and queue (`config.py` `runtime_fits`): ClusterRole and
binding `kubeflow-trainer-runtime-reader-<team>`. Names carry the namespace because every object
of this component lands in one folder.

**Example TrainJob per team.** ConfigMap `<ns>-example-trainjob` in the team namespace holds a
TrainJob (`trainjob.yaml`) to copy, not a live job (Argo CD would re-run a finished TrainJob on
every self-heal): the team's queue, the largest runtime the team's GPU budget can run, the
MLflow tracking URI (`components/mlflow.py`) in the trainer's environment, and a smoke test
(all-reduce across every process) as the command.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

from ...kit import k8s, versions, yamltext
from ...kit.component import HelmRelease
from ...kit.meta import LABEL_TEAM, SYNC_WAVE, Obj, metadata
from ...kit.instances import gpu_resource
from .. import mlflow, volcano
from ..node_pools import gpu_pod_parts
from .config import TrainingRuntimeConfig, runtime_fits
from ..priority_classes import PRIORITY

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "kubeflow-trainer"
RELEASE = "kubeflow-trainer"
NAMESPACE = "kubeflow-system"  # created by the `namespaces` component
CHART = "kubeflow-trainer"
GROUP = "trainer.kubeflow.org"

TRAINER_CONTAINER = "node"  # the container Trainer injects torchrun's PET_* env into
TRAINER_JOB = "node"  # the replicated job of the trainer step
ANCESTOR_LABEL = "trainer.kubeflow.org/trainjob-ancestor-step"
FRAMEWORK_LABEL = "trainer.kubeflow.org/framework"
RUNTIME_READER = "kubeflow-trainer-runtime-reader"
EXAMPLE_KEY = "trainjob.yaml"
EXAMPLE_JOB = "smoke-test"
PATCH_MANAGER = "platform.mlops.io/team-queue"
UID = 1000  # the runtime image runs as root by default; team namespaces enforce restricted PSA

# Secrets and webhook configurations the controllers fill at runtime (module docstring).
TRAINER_WEBHOOK_SECRET = "kubeflow-trainer-webhook-cert"
TRAINER_WEBHOOKS = (("MutatingWebhookConfiguration", "defaulter.trainer.kubeflow.org"),
                    ("ValidatingWebhookConfiguration", "validator.trainer.kubeflow.org"))
JOBSET_RELEASE = "jobset"  # subchart fullnameOverride (chart default)
JOBSET_WEBHOOK_SECRET = f"{JOBSET_RELEASE}-webhook-server-cert"
JOBSET_WEBHOOKS = (("MutatingWebhookConfiguration", "jobset-mutating-webhook-configuration"),
                   ("ValidatingWebhookConfiguration", "jobset-validating-webhook-configuration"))


def _api(kind: str) -> str:
    return versions.crd(kind, GROUP).api_version


# --------------------------------------------------------------------------- values
def values(env: Env) -> dict:
    t = env.trainer
    return {
        "image": {"tag": versions.CHARTS[CHART].app_version},
        "manager": {
            "replicas": t.replicas,
            "resources": t.resources.render(),
            "nodeSelector": dict(sorted(env.infrastructure.system_node_labels.items())),
            # The chart's restricted container securityContext plus a read-only root filesystem:
            # the manager reads its config and webhook certificates from mounted ConfigMap and
            # Secret volumes, and its cert rotation writes the Secret through the API, not to disk.
            "securityContext": k8s.restricted_container(readOnlyRootFilesystem=True),
        },
        "webhook": {"failurePolicy": t.webhook_failure_policy},
        "jobset": {"install": t.install_jobset, "fullnameOverride": JOBSET_RELEASE},
        "dataCache": {"enabled": False, "lws": {"install": False}},
        "runtimes": {"defaultEnabled": False},
    }


def helm(env: Env) -> HelmRelease | None:
    t = env.trainer
    if not t.enabled:
        return None
    ca_bundle = ".webhooks[]?.clientConfig.caBundle"
    ignore = [("", "Secret", TRAINER_WEBHOOK_SECRET, "/data")]
    ignore += [("admissionregistration.k8s.io", kind, name, ca_bundle) for kind, name in TRAINER_WEBHOOKS]
    if t.install_jobset:
        ignore.append(("", "Secret", JOBSET_WEBHOOK_SECRET, "/data"))
        ignore += [("admissionregistration.k8s.io", kind, name, ca_bundle) for kind, name in JOBSET_WEBHOOKS]
    # The controller creates Volcano PodGroups: it needs the Volcano Application (CRDs) first.
    return HelmRelease(chart=CHART, release=RELEASE, namespace=NAMESPACE, values=values(env),
                       requires_crds=(volcano.POD_GROUP_CRD,), ignore_differences=tuple(ignore))


# --------------------------------------------------------------------------- runtimes
def _node_resources(env: Env, r: TrainingRuntimeConfig) -> dict:
    res = r.node.render()
    gpus = gpu_pod_parts(env, r.gpu_pool, r.mig_profile, r.gpus_per_node)[0] if r.gpus_per_node else {}
    res["requests"].update(gpus)
    res["limits"].update(gpus)
    return res


def pod_spec(env: Env, r: TrainingRuntimeConfig) -> dict:
    """The pod of every training node: restricted PSA, /dev/shm, Volcano; a GPU runtime tolerates and
    selects its GPU pool (whole GPUs or MIG slices: node_pools' placement)."""
    spec: dict = {
        "schedulerName": volcano.SCHEDULER_NAME,
        "priorityClassName": PRIORITY.preemptible,
        "restartPolicy": "OnFailure",
        "securityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": TRAINER_CONTAINER,
            "image": versions.IMAGES[r.image].ref,
            "env": [{"name": "HOME", "value": "/tmp"}],  # torch/pip caches of a non-root user
            "resources": _node_resources(env, r),
            "securityContext": k8s.restricted_container(),
            "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
        }],
        "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": r.shared_memory}}],
    }
    if r.gpus_per_node:
        _, spec["tolerations"], spec["nodeSelector"] = gpu_pod_parts(env, r.gpu_pool, r.mig_profile, r.gpus_per_node)
    return spec


def runtime_kind(r: TrainingRuntimeConfig) -> str:
    """ClusterTrainingRuntime (every team) or TrainingRuntime (only the teams the runtime lists)."""
    return "TrainingRuntime" if r.teams else "ClusterTrainingRuntime"


def usable_by(r: TrainingRuntimeConfig, team) -> bool:
    return not r.teams or team.name in r.teams


def runtimes(env: Env, r: TrainingRuntimeConfig) -> list[Obj]:
    """The runtime's objects: one ClusterTrainingRuntime, or one TrainingRuntime per listed team."""
    if not r.teams:
        return [runtime(env, r)]
    teams = [t for t in env.teams if t.name in r.teams]
    return [runtime(env, r, namespace=env.team_namespace(t), team=t.name) for t in teams]


def runtime(env: Env, r: TrainingRuntimeConfig, namespace: str | None = None, team: str | None = None) -> Obj:
    # Wave 1 of this Application: Trainer's webhook validates runtimes, so they follow its Deployment.
    ann = {SYNC_WAVE: "1", **({"platform.mlops.io/description": r.description} if r.description else {})}
    labels = {FRAMEWORK_LABEL: r.framework, **({LABEL_TEAM: team} if team else {})}
    md = metadata(r.name, component=NAME, env=env.name, namespace=namespace, extra_labels=labels, annotations=ann)
    kind = "TrainingRuntime" if namespace else "ClusterTrainingRuntime"
    return {
        "apiVersion": _api(kind),
        "kind": kind,
        "metadata": md,
        "spec": {
            "mlPolicy": {"numNodes": r.num_nodes, r.framework: {}},
            # Gang scheduling: Trainer creates one Volcano PodGroup per TrainJob. No queue here:
            # the team namespace's default queue applies (module docstring).
            "podGroupPolicy": {"volcano": {}},
            "template": {"spec": {"replicatedJobs": [{
                "name": TRAINER_JOB,
                "template": {
                    "metadata": {"labels": {ANCESTOR_LABEL: "trainer"}},
                    "spec": {"template": {"spec": pod_spec(env, r)}},
                },
            }]}},
        },
    }


# --------------------------------------------------------------------------- example TrainJob
SMOKE_TEST = """\
import os
import torch
import torch.distributed as dist

backend = "nccl" if torch.cuda.is_available() else "gloo"
dist.init_process_group(backend)
rank, world = dist.get_rank(), dist.get_world_size()
device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if backend == "nccl" else torch.device("cpu")
if backend == "nccl":
    torch.cuda.set_device(device)
total = torch.ones(1, device=device)
dist.all_reduce(total)
assert int(total.item()) == world, (total.item(), world)
if rank == 0:
    print(f"all-reduce over {world} processes ({backend}) ok; MLflow at {os.environ.get('MLFLOW_TRACKING_URI')}")
dist.destroy_process_group()
"""


def example_runtime(env: Env, team) -> tuple[TrainingRuntimeConfig, int]:
    """(runtime, nodes) of a team's example: the GPU runtime with the most GPUs per node that the
    team's queue can hold (up to two nodes, as many as the GPU budget allows); without a GPU
    budget, the first CPU runtime at its default size."""
    cap = env.volcano.queues[team.name].capability if team.name in env.volcano.queues else None

    def budget(r: TrainingRuntimeConfig) -> int:
        """The queue's budget of what the runtime's pods ask: GPUs, or its MIG slice."""
        return cap.of(gpu_resource(r.mig_profile)) if cap is not None else 0
    mine = ([r for r in env.trainer.runtimes if runtime_fits(env, r, team)]
            or [r for r in env.trainer.runtimes if usable_by(r, team)] or env.trainer.runtimes)
    gpu = sorted((r for r in mine if 0 < r.gpus_per_node <= budget(r)),
                 key=lambda r: (-r.gpus_per_node, r.mig_profile is not None, r.name))
    if gpu:
        r = gpu[0]
        return r, max(1, min(max(r.num_nodes, 2), budget(r) // r.gpus_per_node))
    cpu = [r for r in mine if r.gpus_per_node == 0]
    r = cpu[0] if cpu else mine[0]
    return r, r.num_nodes


def example_trainjob(env: Env, team) -> Obj:
    r, nodes = example_runtime(env, team)
    q = volcano.queue_name(team.name)
    return {
        "apiVersion": _api("TrainJob"),
        "kind": "TrainJob",
        "metadata": {"name": EXAMPLE_JOB, "namespace": env.team_namespace(team)},
        "spec": {
            "runtimeRef": {"apiGroup": GROUP, "kind": runtime_kind(r), "name": r.name},
            # Optional: the namespace's default queue is this one anyway; naming another team's
            # queue is refused at admission.
            "runtimePatches": [{"manager": PATCH_MANAGER, "trainingRuntimeSpec": {"template": {"metadata": {
                "annotations": {volcano.QUEUE_ANNOTATION: q}}}}}],
            "trainer": {
                "numNodes": nodes,
                "numProcPerNode": max(1, r.gpus_per_node),
                "image": versions.IMAGES[r.image].ref,
                # torchrun reads nodes, rank and rendezvous from the PET_* env Trainer injects.
                "command": ["torchrun", "--no-python", "python", "-c", SMOKE_TEST],
                "env": mlflow.tracking_env(),
                "resourcesPerNode": _node_resources(env, r),
            },
        },
    }


def _example_text(env: Env, team) -> str:
    job = example_trainjob(env, team)
    r, nodes = example_runtime(env, team)
    q = volcano.queue_name(team.name)
    header = [
        f"# Example TrainJob for team {team.name} (env {env.name}): copy, rename and edit; this ConfigMap is a template.",
        f"#   kubectl -n {env.team_namespace(team)} get configmap {example_name(env, team)} "
        f"-o jsonpath='{{.data.trainjob\\.yaml}}' > trainjob.yaml",
        "#   kubectl create -f trainjob.yaml     # then: kubectl get trainjob,podgroup,pods -w",
        f"# Runtime {r.name}: {nodes} node(s) x {r.gpus_per_node} GPU, gang-scheduled by Volcano in queue {q}",
        f"# (capability: {env.volcano.queues[team.name].capability.gpus} GPU(s) for all of the team's running jobs)."
        if team.name in env.volcano.queues else f"# Queue {q}.",
        "# Without runtimePatches the job still lands in that queue (the namespace's default queue).",
        "# Replace image and command with your own; keep resourcesPerNode within the team quota.",
        f"# MLFLOW_TRACKING_URI points at the platform's MLflow ({mlflow.TRACKING_URI}).",
    ]
    return "\n".join(header) + "\n" + yaml.dump(job, Dumper=_Dumper, sort_keys=False, width=120)


class _Dumper(yamltext.DUMPER):
    """Multi-line strings (the smoke test) as literal blocks: the template stays readable.
    (libyaml's emitter when PyYAML has it: one dump per team is most of this component's cost.)"""


_Dumper.add_representer(str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v,
                                                             style="|" if "\n" in v else None))


def example_name(env: Env, team) -> str:
    return f"{env.team_namespace(team)}-example-trainjob"


def example_configmap(env: Env, team) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(example_name(env, team), component=NAME, env=env.name,
                             namespace=env.team_namespace(team), extra_labels={LABEL_TEAM: team.name}),
        "data": {EXAMPLE_KEY: _example_text(env, team)},
    }


def build(env: Env) -> list[Obj]:
    if not env.trainer.enabled:
        return []
    from .rbac import runtime_reader, team_access  # rbac reads this module's names

    objs = [o for r in env.trainer.runtimes for o in runtimes(env, r)]
    objs += runtime_reader(env)
    for team in env.teams:
        objs += team_access(env, team)
        objs.append(example_configmap(env, team))
    return objs
