"""The `kubeflow-trainer` unit: runtimes (gang-scheduled by Volcano, limited to teams), team RBAC,
example TrainJobs, and its checks (`components/kubeflow_trainer/checks.py`), each with a planted case."""
import copy

import pytest

from conftest import find, one_problem, with_objects
from mlplatform.components.kubeflow_trainer import checks as trainer_checks
from mlplatform.components.kubeflow_trainer.checks import check_trainjobs
from mlplatform.components.kubeflow_trainer import objects as kt
from mlplatform.components.kubeflow_trainer.config import TrainerConfig
from mlplatform.config.loader import EnvError, load_env
from mlplatform.kit import versions
from mlplatform.kit.checks import embedded
from mlplatform.kit.pods import pod_specs
from mlplatform.validate import crd
from mlplatform.validate.scheduling import check_gpu_scheduling


QUEUE = "scheduling.volcano.sh/queue-name"


def _examples(r):
    return [e for o in r.components["kubeflow-trainer"] for e in embedded(o)]


def test_trainer_webhook_failure_policy_from_config(envs):
    env = envs["dev"]
    off = env.model_copy(update={"trainer": TrainerConfig(webhook_failure_policy="Ignore")})
    assert kt.helm(off).values["webhook"]["failurePolicy"] == "Ignore"
    assert kt.helm(env).values["webhook"]["failurePolicy"] == "Fail"


def test_runtimes_name_no_queue_so_the_namespace_default_applies(envs):
    for r in kt.build(envs["prod"]):
        if r["kind"] == "ClusterTrainingRuntime":
            assert QUEUE not in (r["spec"]["template"].get("metadata") or {}).get("annotations", {})


# --------------------------------------------------------------------------- runtimes
def test_runtimes_are_gang_scheduled_by_volcano(envs):
    for env in envs.values():
        for cfg in env.trainer.runtimes:
            rt = find(kt.build(env), kt.runtime_kind(cfg), cfg.name)
            assert rt["apiVersion"] == "trainer.kubeflow.org/v1alpha1"
            assert ("namespace" in rt["metadata"]) == bool(cfg.teams)  # namespaced only when limited to teams
            spec = rt["spec"]
            assert spec["podGroupPolicy"] == {"volcano": {}}
            assert spec["mlPolicy"] == {"numNodes": cfg.num_nodes, "torch": {}}
            (rj,) = spec["template"]["spec"]["replicatedJobs"]
            assert rj["template"]["metadata"]["labels"]["trainer.kubeflow.org/trainjob-ancestor-step"] == "trainer"
            pod = rj["template"]["spec"]["template"]["spec"]
            assert pod["schedulerName"] == "volcano" and pod["securityContext"]["runAsNonRoot"] is True
            (c,) = pod["containers"]
            assert c["name"] == "node" and c["image"] == versions.IMAGES[cfg.image].ref
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and "memory" in c["resources"]["limits"]
            if cfg.gpus_per_node:
                assert c["resources"]["limits"]["nvidia.com/gpu"] == str(cfg.gpus_per_node)
                assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
            else:
                assert "tolerations" not in pod
            shm = {v["name"]: v for v in pod["volumes"]}["dshm"]["emptyDir"]
            assert shm == {"medium": "Memory", "sizeLimit": cfg.shared_memory}
    assert versions.IMAGES["pytorch-cuda"].ref == "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime"


def test_runtime_pods_are_judged_by_the_gpu_scheduling_check(rendered, envs):
    rt = find(kt.build(envs["staging"]), "TrainingRuntime", "torch-distributed-4gpu")
    assert [p for p, _ in pod_specs(rt)] == ["spec.template.spec.replicatedJobs[0].template.spec.template.spec"]
    assert check_gpu_scheduling(with_objects(rendered["staging"], "kubeflow-trainer", [rt])) == []
    # dev's GPU pool launches one-GPU nodes only: the same runtime fits no NodePool there
    (p,) = check_gpu_scheduling(with_objects(rendered["dev"], "kubeflow-trainer", [rt]))
    assert p.startswith("dev/kubeflow-trainer/TrainingRuntime/torch-distributed-4gpu: spec.template.spec."
                        "replicatedJobs[0].template.spec.template.spec: pod requesting 4 nvidia.com/gpu fits no NodePool")
    assert "largest instance has 1" in p


def test_a_runtime_limited_to_teams_is_theirs_alone(envs):
    """staging's 4-GPU runtime only fits nlp's quota: it is a TrainingRuntime in team-nlp, no
    ClusterTrainingRuntime another team could reference; the example TrainJobs follow."""
    env = envs["staging"]
    objs = kt.build(env)
    assert not [o for o in objs if o["kind"] == "ClusterTrainingRuntime" and o["metadata"]["name"] == "torch-distributed-4gpu"]
    (rt,) = [o for o in objs if o["kind"] == "TrainingRuntime"]
    assert rt["metadata"]["namespace"] == "team-nlp" and rt["metadata"]["name"] == "torch-distributed-4gpu"
    for team in env.teams:
        job = kt.example_trainjob(env, team)
        ref = job["spec"]["runtimeRef"]
        assert ref["kind"] == ("TrainingRuntime" if ref["name"] == "torch-distributed-4gpu" else "ClusterTrainingRuntime")
        assert ref["name"] != "torch-distributed-4gpu" or team.name == "nlp"


def test_runtime_teams_must_exist(env_dir):
    from mlplatform.config.loader import EnvError, load_env
    f = env_dir / "staging.yaml"
    f.write_text(f.read_text().replace("teams: [nlp]", "teams: [nlp, nobody]"))
    with pytest.raises(EnvError, match=r"staging.yaml:\d+: trainer.runtimes\[1\].teams: runtime torch-distributed-4gpu names teams this env "
                       "does not have: nobody"):
        load_env("staging", env_dir)


def test_runtime_validation_errors():
    with pytest.raises(ValueError, match="not in the versions table"):
        TrainerConfig(runtimes=[{"name": "x", "image": "pytorch:latest"}])
    with pytest.raises(ValueError, match="shared_memory must be smaller"):
        TrainerConfig(runtimes=[{"name": "x", "shared_memory": "64Gi"}])
    with pytest.raises(ValueError, match="runtimes listed twice"):
        TrainerConfig(runtimes=[{"name": "x"}, {"name": "x"}])


# --------------------------------------------------------------------------- team access
def test_team_rbac(envs):
    for env in envs.values():
        objs = kt.build(env)
        for team in env.teams:
            ns, name = env.team_namespace(team), f"{env.team_namespace(team)}-training"
            sa = find(objs, "ServiceAccount", name)
            role, rb = find(objs, "Role", name), find(objs, "RoleBinding", name)
            assert sa["metadata"]["namespace"] == role["metadata"]["namespace"] == rb["metadata"]["namespace"] == ns
            verbs = {(g, res): set(r["verbs"]) for r in role["rules"] for g in r["apiGroups"] for res in r["resources"]}
            assert {"create", "watch", "delete"} <= verbs[("trainer.kubeflow.org", "trainjobs")]
            assert verbs[("", "pods/log")] == verbs[("", "pods")] == {"get", "list", "watch"}
            assert "create" not in verbs[("", "pods")]
            assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
            assert {"kind": "ServiceAccount", "name": name, "namespace": ns} in rb["subjects"]
            assert {"kind": "Group", "name": f"ml-team-{team.name}", "apiGroup": "rbac.authorization.k8s.io"} in rb["subjects"]
        crb = find(objs, "ClusterRoleBinding", kt.RUNTIME_READER)
        assert len(crb["subjects"]) == 2 * len(env.teams)
        cr = find(objs, "ClusterRole", kt.RUNTIME_READER)
        assert all(set(r["verbs"]) == {"get", "list", "watch"} for r in cr["rules"])


# --------------------------------------------------------------------------- example TrainJobs
def test_example_trainjob_per_team(rendered):
    for r in rendered.values():
        env = r.env
        assert not [o for o in r.components["kubeflow-trainer"] if o["kind"] == "TrainJob"]  # never a live job
        jobs = {j["metadata"]["namespace"]: j for j in _examples(r)}
        assert set(jobs) == {env.team_namespace(t) for t in env.teams}
        for team in env.teams:
            cm = find(r.components["kubeflow-trainer"], "ConfigMap", f"{env.team_namespace(team)}-example-trainjob")
            assert cm["data"]["trainjob.yaml"].startswith("# Example TrainJob")
            job = jobs[env.team_namespace(team)]
            errors = list(crd.schema_for(job["apiVersion"], job["kind"]).validator.iter_errors(job))
            assert errors == [], errors
            (patch,) = job["spec"]["runtimePatches"]
            assert patch["trainingRuntimeSpec"]["template"]["metadata"]["annotations"] == {QUEUE: f"team-{team.name}"}
            trainer = job["spec"]["trainer"]
            assert {"name": "MLFLOW_TRACKING_URI", "value": "http://mlflow.mlflow.svc.cluster.local:80"} in trainer["env"]
            gpus = int(trainer["resourcesPerNode"]["limits"].get("nvidia.com/gpu", 0)) * trainer["numNodes"]
            assert gpus <= env.volcano.queues[team.name].capability.gpus
    prod = {j["metadata"]["namespace"]: j for j in _examples(rendered["prod"])}["team-nlp"]["spec"]
    assert prod["runtimeRef"]["name"] == "torch-distributed-8gpu" and prod["trainer"]["numNodes"] == 2


def test_example_smoke_test_is_python():
    compile(kt.SMOKE_TEST, "smoke_test.py", "exec")


# --------------------------------------------------------------------------- config errors
def test_trainer_needs_volcano(env_dir):
    p = one_problem(env_dir, "  leader_election: true\n", "  leader_election: true\n  enabled: false\n")
    assert "trainer needs volcano.enabled" in p, p


def test_trainer_runtimes_pair_scheduler_and_pod_group(rendered, envs):
    r = rendered["dev"]
    rt = find(kt.build(envs["dev"]), "ClusterTrainingRuntime", "torch-distributed-cpu")
    no_gang = copy.deepcopy(rt)
    del no_gang["spec"]["podGroupPolicy"]
    no_sched = copy.deepcopy(rt)
    no_sched["metadata"]["name"] = "no-sched"
    del no_sched["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["schedulerName"]
    problems = trainer_checks.check_runtimes(with_objects(r, "kubeflow-trainer", [no_gang, no_sched]))
    assert any("ClusterTrainingRuntime/torch-distributed-cpu: pods use schedulerName: volcano without "
               "podGroupPolicy.volcano" in p for p in problems), problems
    assert any("ClusterTrainingRuntime/no-sched: podGroupPolicy.volcano, but its pods do not say schedulerName: "
               "volcano" in p for p in problems), problems


def _job(r, team, **trainer):
    job = copy.deepcopy({j["metadata"]["namespace"]: j for j in _examples(r)}[f"team-{team}"])
    job["spec"]["trainer"].update(trainer)
    return job


def test_trainjobs_that_could_never_run(rendered):
    r = rendered["staging"]  # team-research: 2 GPUs; GPU nodes up to 4 GPUs
    too_big = _job(r, "research", numNodes=3)
    too_big["metadata"]["name"] = "too-big"
    unknown = _job(r, "research")
    unknown["metadata"]["name"] = "unknown"
    unknown["spec"]["runtimeRef"]["name"] = "tensorflow"
    no_toleration = _job(r, "nlp")
    no_toleration["metadata"]["name"] = "eight"
    no_toleration["spec"]["trainer"]["resourcesPerNode"] = {"requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "8"},
                                                            "limits": {"memory": "1Gi", "nvidia.com/gpu": "8"}}
    problems = check_trainjobs(with_objects(r, "jobs", [too_big, unknown, no_toleration]))
    assert any(p.startswith("staging/jobs/TrainJob/too-big: the gang needs 3 nvidia.com/gpu at once but queue "
                            "team-research may hold 2") for p in problems), problems
    assert "staging/jobs/TrainJob/unknown: runtimeRef ClusterTrainingRuntime/tensorflow is not a runtime of env staging" \
        in problems
    assert any(p.startswith("staging/jobs/TrainJob/eight: spec.template.spec: pod requesting 8 nvidia.com/gpu fits no "
                            "NodePool") for p in problems), problems
    # without a queue of its own the job is judged against the namespace's default queue
    no_patch = _job(r, "research", numNodes=3)
    del no_patch["spec"]["runtimePatches"]
    assert any("queue team-research may hold 2" in p for p in check_trainjobs(with_objects(r, "jobs", [no_patch])))


def test_teams_read_only_the_runtimes_that_fit_them(envs):
    """Each team's RBAC names the runtimes whose whole gang fits its quota and queue: a ClusterRole
    per team with resourceNames for ClusterTrainingRuntimes, the team Role for its TrainingRuntimes."""
    env = envs["staging"]
    objs = kt.build(env)

    def names(kind, name, resource):
        rules = [r for r in find(objs, kind, name)["rules"] if resource in r["resources"]]
        return [n for r in rules for n in r["resourceNames"]]

    assert names("Role", "team-nlp-training", "trainingruntimes") == ["torch-distributed-4gpu"]
    assert names("Role", "team-research-training", "trainingruntimes") == []  # none of its own: no rule at all
    for t in env.teams:
        assert names("ClusterRole", f"{kt.RUNTIME_READER}-{t.name}", "clustertrainingruntimes") == [
            "torch-distributed-cpu", "torch-distributed-gpu"]
        crb = find(objs, "ClusterRoleBinding", f"{kt.RUNTIME_READER}-{t.name}")
        assert {s["name"] for s in crb["subjects"]} == {f"team-{t.name}-training", f"ml-team-{t.name}"}
    assert not [r for r in find(objs, "ClusterRole", kt.RUNTIME_READER)["rules"]
                if "clustertrainingruntimes" in r["resources"]]  # no team reads every runtime
    # a team whose queue holds no GPUs is not given the GPU runtime (it could never start), and its
    # example TrainJob uses one it can read
    q = env.volcano.queues["vision"]
    small = env.model_copy(update={"volcano": env.volcano.model_copy(update={"queues": {
        **env.volcano.queues, "vision": q.model_copy(update={"capability": q.capability.model_copy(update={"gpus": 0})})}})})
    objs = kt.build(small)
    assert names("ClusterRole", f"{kt.RUNTIME_READER}-vision", "clustertrainingruntimes") == ["torch-distributed-cpu"]
    vision = next(t for t in small.teams if t.name == "vision")
    assert kt.example_trainjob(small, vision)["spec"]["runtimeRef"]["name"] == "torch-distributed-cpu"
