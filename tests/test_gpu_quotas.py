"""Quotas and queues per GPU resource kind (issue 17 part 2): a MIG slice `nvidia.com/mig-<profile>`
is its own resource -- the team ResourceQuota and Volcano queue limit every slice kind the env's
pools offer (0 for a team without it), the config's team demand checks count a slice ask against
its slice quota and not `nvidia.com/gpu`, and the admission quota check refuses a slice pod in a
team namespace without slice quota."""
import copy

import pytest

from conftest import edit, find, load_problems
from mlplatform.components import namespaces, volcano
from mlplatform.config.loader import load_env
from mlplatform.validate import admission

MIG_RAY = ("      gpu_workers: {replicas: 0, min_replicas: 0, max_replicas: 4, gpus: 1, shared_memory: 16Gi,",
           "      gpu_workers: {replicas: 0, min_replicas: 0, max_replicas: 4, gpus: 1, shared_memory: 16Gi,\n"
           "                    gpu_pool: notebooks-mig, mig_profile: 1g.10gb,")


# --------------------------------------------------------------------------- rendered quotas and queues
def test_team_quotas_limit_every_slice_kind_the_pools_offer(envs):
    env = envs["prod"]
    objs = namespaces.build(env)
    research = find(objs, "ResourceQuota", "team-research-quota")["spec"]["hard"]
    nlp = find(objs, "ResourceQuota", "team-nlp-quota")["spec"]["hard"]
    assert {k: v for k, v in research.items() if "nvidia.com" in k} == {
        "requests.nvidia.com/gpu": "12", "requests.nvidia.com/mig-1g.10gb": "8",
        "requests.nvidia.com/mig-2g.20gb": "0", "requests.nvidia.com/mig-3g.40gb": "4"}
    # a team without slice quota gets 0 of each, not "unlimited" (a missing key limits nothing)
    assert {k: v for k, v in nlp.items() if "mig" in k} == {
        "requests.nvidia.com/mig-1g.10gb": "0", "requests.nvidia.com/mig-2g.20gb": "0",
        "requests.nvidia.com/mig-3g.40gb": "0"}
    # an env without MIG pools quotas no slice kind
    for name in ("dev", "staging"):
        for o in namespaces.build(envs[name]):
            if o["kind"] == "ResourceQuota":
                assert not any("mig" in k for k in o["spec"]["hard"]), o["metadata"]["name"]


def test_volcano_queues_carry_a_capability_per_slice_kind(envs):
    objs = volcano.build(envs["prod"])
    research = find(objs, "Queue", "team-research")["spec"]["capability"]
    assert research == {"cpu": "128", "memory": "512Gi", "nvidia.com/gpu": "12", "nvidia.com/mig-1g.10gb": "8",
                        "nvidia.com/mig-2g.20gb": "0", "nvidia.com/mig-3g.40gb": "4"}
    assert find(objs, "Queue", "team-vision")["spec"]["capability"]["nvidia.com/mig-1g.10gb"] == "0"
    assert find(objs, "Queue", "default")["spec"]["capability"]["nvidia.com/mig-3g.40gb"] == "0"
    assert not any("mig" in k for o in volcano.build(envs["staging"]) if o["kind"] == "Queue"
                   for k in o["spec"]["capability"])


# --------------------------------------------------------------------------- config refusals
def test_a_team_without_slice_quota_asking_for_slices_is_refused(env_dir):
    """nlp's Ray GPU workers moved onto 1g.10gb slices: nlp has no slice quota, so its namespace quota
    (requests.nvidia.com/mig-1g.10gb: 0) would refuse every worker; the config says so at the field."""
    text = (env_dir / "prod.yaml").read_text()
    nlp = text.index("    nlp:\n      head:")
    gpu_line = text.index("      gpu_workers:", nlp)
    line_end = text.index("\n", gpu_line)
    text = text[:line_end] + "\n                    gpu_pool: notebooks-mig, mig_profile: 1g.10gb," + text[line_end:]
    text = text.replace("max_replicas: 4, gpus: 2, shared_memory: 16Gi,", "max_replicas: 4, gpus: 1, shared_memory: 16Gi,")
    (env_dir / "prod.yaml").write_text(text)
    problems = load_problems(env_dir, "prod")
    assert any(p.split(": ", 1)[1] == (
        "ray.clusters.nlp: team nlp's Ray clusters at full scale exceed its quota: nvidia.com/mig-1g.10gb 4 > "
        "quota.mig_slices.1g.10gb 0 (lower max_replicas or sizes, or raise teams[].quota)") for p in problems), problems


def test_a_served_model_on_slices_needs_the_teams_slice_quota(env_dir):
    edit(env_dir / "prod.yaml", "      min_gpu_memory_gib: 24\n",
          "      min_gpu_memory_gib: 24\n      gpu_pool: notebooks-mig\n      mig_profile: 3g.40gb\n")
    problems = load_problems(env_dir, "prod")
    assert any(p.split(": ", 1)[1].startswith(
        "teams[1].quota.mig_slices.3g.40gb: team nlp's models (mistral-7b-instruct) need 7 "
        "nvidia.com/mig-3g.40gb slices at max replicas") for p in problems), problems


def test_a_slice_ask_counts_against_its_slice_quota_not_whole_gpus(env_dir):
    """research's Ray GPU workers on 1g.10gb slices (4 at most) fit its slice quota of 8; its whole
    GPU quota is then lowered to 0 and nothing is refused -- the slices are not nvidia.com/gpu."""
    edit(env_dir / "prod.yaml", *MIG_RAY)
    env = load_env("prod", env_dir)
    assert env.teams[0].quota.mig_slices == {"1g.10gb": 8, "3g.40gb": 4}
    edit(env_dir / "prod.yaml", "gpus: 12, pods: 300, storage: 2Ti,", "gpus: 0, pods: 300, storage: 2Ti,")
    edit(env_dir / "prod.yaml", "    research: {weight: 1, capability: {cpu: \"128\", memory: 512Gi, gpus: 12,",
          "    research: {weight: 1, capability: {cpu: \"128\", memory: 512Gi, gpus: 0,")
    edit(env_dir / "prod.yaml", "    - {name: torch-distributed-gpu,", "    - {name: torch-distributed-gpu, teams: [nlp, vision],")
    edit(env_dir / "prod.yaml", "    - {name: torch-distributed-8gpu,", "    - {name: torch-distributed-8gpu, teams: [nlp, vision],")
    load_env("prod", env_dir)
    # ... and past the slice quota the same asks are refused
    edit(env_dir / "prod.yaml", "mig_slices: {1g.10gb: 8, 3g.40gb: 4}", "mig_slices: {1g.10gb: 2, 3g.40gb: 4}", count=2)
    problems = load_problems(env_dir, "prod")
    assert any(p.split(": ", 1)[1] == (
        "ray.clusters.research: team research's Ray clusters at full scale exceed its quota: nvidia.com/mig-1g.10gb 4 "
        "> quota.mig_slices.1g.10gb 2 (lower max_replicas or sizes, or raise teams[].quota)") for p in problems), problems


def test_a_queue_must_hold_the_teams_volcano_scheduled_slices(env_dir):
    edit(env_dir / "prod.yaml", *MIG_RAY)
    edit(env_dir / "prod.yaml", "gpus: 12, mig_slices: {1g.10gb: 8, 3g.40gb: 4}}}", "gpus: 12, mig_slices: {3g.40gb: 4}}}")
    problems = load_problems(env_dir, "prod")
    assert any(p.split(": ", 1)[1] == (
        "volcano.queues.research.capability.mig_slices.1g.10gb: team research's Volcano-scheduled work needs 4 "
        "nvidia.com/mig-1g.10gb slices at once (Ray cluster 4) but its queue may hold 0: the gangs past it would "
        "wait for each other") for p in problems), problems


@pytest.mark.parametrize("old,new,message", [
    ("mig_slices: {1g.10gb: 8, 3g.40gb: 4}}\n    container", "mig_slices: {1g.10gb: 8, 3g.40gb: 4, 7g.80gb: 1}}\n    container",
     "teams[0].quota.mig_slices.7g.80gb: team research has a quota of MIG slice 7g.80gb, which no GPU pool of this "
     "env offers (1g.10gb, 2g.20gb, 3g.40gb)"),
    ("gpus: 12, mig_slices: {1g.10gb: 8, 3g.40gb: 4}}}", "gpus: 12, mig_slices: {1g.10gb: 9, 3g.40gb: 4}}}",
     "volcano.queues.research.capability.mig_slices.1g.10gb: 9 exceeds teams[research].quota.mig_slices.1g.10gb (8): "
     "the namespace quota would refuse the nvidia.com/mig-1g.10gb pods the queue admits"),
    ("mig_slices: {1g.10gb: 8, 3g.40gb: 4}}\n    container", "mig_slices: {1g.10GB: 8}}\n    container",
     "teams[0].quota.mig_slices.1g.10GB"),
])
def test_impossible_slice_quotas_are_refused(env_dir, old, new, message):
    edit(env_dir / "prod.yaml", old, new)
    problems = load_problems(env_dir, "prod")
    assert any(message in p for p in problems), problems


# --------------------------------------------------------------------------- admission (rendered)
def _with_pod(r, namespace, resource):
    r = copy.copy(r)
    r.components = dict(r.components)
    pod = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "slice-user", "namespace": namespace},
           "spec": {"selector": {"matchLabels": {"app": "slice-user"}}, "template": {
               "metadata": {"labels": {"app": "slice-user"}},
               "spec": {"containers": [{"name": "main", "image": "example.org/x@sha256:" + "0" * 64, "resources": {
                   "requests": {"cpu": "1", "memory": "1Gi"},
                   "limits": {"cpu": "1", "memory": "1Gi", resource: "1"}}}]}}}}
    r.components["kuberay"] = list(r.components["kuberay"]) + [pod]
    return r


def test_admission_refuses_a_slice_pod_in_a_team_without_slice_quota(rendered):
    problems = admission.check_quota(_with_pod(rendered["prod"], "team-nlp", "nvidia.com/mig-1g.10gb"))
    assert any(p.startswith("prod/kuberay/Deployment/slice-user") and
               "requests.nvidia.com/mig-1g.10gb 1 > 0 of ResourceQuota team-nlp/team-nlp-quota" in p
               for p in problems), problems
    # the team with slice quota is admitted
    ok = admission.check_quota(_with_pod(rendered["prod"], "team-research", "nvidia.com/mig-1g.10gb"))
    assert not any("slice-user" in p for p in ok), ok
