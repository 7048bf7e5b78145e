"""The RayJob template per team (ConfigMap `<team namespace>-rayjob-template`): one-shot RayJobs
are never emitted (Argo CD would re-create and re-run a finished one); people copy the template and
`kubectl create` it."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import versions, yamltext
from ...kit.meta import LABEL_TEAM, Obj, metadata
from .clusters import cluster_spec, pod_security, ray_env, restricted, scheduling_labels
from .config import RayClusterConfig
from .names import JOB_TEMPLATE_KEY, NAME, team_namespace
from .priority import with_priority

if TYPE_CHECKING:
    from ...config.models import Env


def rayjob_template(env: Env, team: str, c: RayClusterConfig) -> Obj:
    """The RayJob people copy: its own autoscaling cluster shaped like the team's, torn down
    `job_ttl_seconds_after_finished` after the job ends, in the team's Volcano queue."""
    ns = team_namespace(env, team)
    submitter = {
        "spec": {
            "restartPolicy": "Never",
            "securityContext": pod_security(),
            "containers": [{
                "name": "ray-job-submitter",
                "image": versions.IMAGES[c.image].ref,
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                              "limits": {"cpu": "500m", "memory": "512Mi"}},
                "securityContext": restricted(),
                "env": ray_env(env),
            }],
        },
    }
    return {
        "apiVersion": versions.crd("RayJob").api_version, "kind": "RayJob",
        "metadata": {"generateName": f"{team}-job-", "namespace": ns,
                     "labels": {LABEL_TEAM: team, **scheduling_labels(env, team)}},
        "spec": {
            "entrypoint": "python -c \"import ray; ray.init(); print(ray.cluster_resources())\"",
            "runtimeEnvYAML": yamltext.dump({"env_vars": {"JOB_OWNER": team}}, sort_keys=True),
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": env.ray.job_ttl_seconds_after_finished,
            "submissionMode": "K8sJobMode",
            "submitterPodTemplate": submitter,
            "rayClusterSpec": cluster_spec(env, team, c.model_copy(update={"gcs_fault_tolerance": False})),
        },
    }


def template_name(env: Env, team: str) -> str:
    return f"{team_namespace(env, team)}-rayjob-template"


def _template_text(env: Env, team: str, c: RayClusterConfig) -> str:
    ns = team_namespace(env, team)
    head = [
        f"# RayJob template for team {team} ({env.name}). Copy it, edit, and create a run:",
        f"#   kubectl -n {ns} get configmap {template_name(env, team)} -o jsonpath='{{.data.{JOB_TEMPLATE_KEY.replace('.', chr(92) + '.')}}}' > job.yaml",
        "#   # edit spec.entrypoint and spec.runtimeEnvYAML (working_dir: a pinned zip; pip: name==version)",
        f"#   kubectl -n {ns} create -f job.yaml      # create, not apply: every run gets a fresh name",
        f"#   kubectl -n {ns} get rayjobs; kubectl -n {ns} logs -f job/<rayjob name>",
        "# The job gets its own Ray cluster (same shape and queue as the team's, GPU group included),",
        f"# deleted {env.ray.job_ttl_seconds_after_finished}s after the job finishes. Runs are not GitOps-managed:",
        "# Argo CD would re-create a finished RayJob and run it again. Never add one to dist/.",
        "",
    ]
    return "\n".join(head) + yamltext.dump(with_priority(rayjob_template(env, team, c)), sort_keys=True,
                                            default_flow_style=False, width=10_000)


def template_configmap(env: Env, team: str, c: RayClusterConfig) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": metadata(template_name(env, team), component=NAME, env=env.name,
                                 namespace=team_namespace(env, team), extra_labels={LABEL_TEAM: team}),
            "data": {JOB_TEMPLATE_KEY: _template_text(env, team, c)}}
