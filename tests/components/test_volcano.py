"""Training: Volcano (queues per team, gang scheduling) and Kubeflow Trainer v2 (runtimes, team
access, example TrainJobs), and the checks of both units (`components/volcano/checks.py`,
`components/kubeflow_trainer/checks.py`)."""
import copy
import shutil

import pytest
import yaml

from conftest import ROOT, find
from mlplatform.components.kubeflow_trainer import checks as trainer_checks
from mlplatform.components.kubeflow_trainer.checks import check_trainjobs
from mlplatform.components.kubeflow_trainer import objects as kt
from mlplatform.components.kuberay import checks as kuberay_checks
from mlplatform.components.volcano import checks as volcano_checks
from mlplatform.components.volcano.checks import check_gpu_budget, check_queue_refs
from mlplatform.components.kubeflow_trainer.config import TrainerConfig
from mlplatform.components.volcano import objects as volcano
from mlplatform.components.volcano.config import VolcanoConfig
from mlplatform.config.loader import EnvError, load_env
from mlplatform.kit import versions
from mlplatform.kit.checks import embedded
from mlplatform.kit.component import HelmRelease
from mlplatform.kit.pods import pod_specs
from mlplatform.validate import charts, crd, validate
from mlplatform.validate.scheduling import check_gpu_scheduling

OURS = ("/volcano/", "/kubeflow-trainer/")
QUEUE = "scheduling.volcano.sh/queue-name"


def check_training(r):
    """The checks of the units this module is about (Volcano, Trainer, KubeRay's Volcano hand-off)."""
    return volcano_checks.checks(r) + trainer_checks.checks(r) + kuberay_checks.checks(r)


def _examples(r):
    return [e for o in r.components["kubeflow-trainer"] for e in embedded(o)]


def _with(r, comp, objs, helm=None):
    r = copy.copy(r)
    r.components = {**r.components, comp: list(objs)}
    if helm is not None:
        r.helm = helm
    return r


# --------------------------------------------------------------------------- everything validates
def test_everything_we_emit_validates(rendered):
    for r in rendered.values():
        ours = [p for p in validate(r) if any(c in p for c in OURS)]
        assert ours == [], ours
        assert check_training(r) == [], check_training(r)


def test_chart_values_are_known_and_sized(envs):
    for env in envs.values():
        for rel in (volcano.helm(env), kt.helm(env)):
            assert charts.check_values(rel.chart, rel.values) == [], rel.chart
            assert charts.check_resources(rel.values) == [], rel.chart
        v = volcano.helm(env).values
        assert v["basic"]["image_tag_version"] == "v1.15.1" == f"v{versions.CHARTS['volcano'].app_version}"
        assert v["custom"]["default_ns"] == env.infrastructure.system_node_labels
        for part in ("scheduler", "controller", "admission"):
            res = v["custom"][f"{part}_resources"]
            assert {"cpu", "memory"} <= set(res["requests"]) and {"cpu", "memory"} <= set(res["limits"])
        t = kt.helm(env).values
        assert t["manager"]["nodeSelector"] == env.infrastructure.system_node_labels
        assert t["jobset"]["install"] is True and t["runtimes"]["defaultEnabled"] is False
        assert t["dataCache"] == {"enabled": False, "lws": {"install": False}}  # no second LWS
        assert t["image"]["tag"] == versions.CHARTS["kubeflow-trainer"].app_version


def test_release_names_and_namespaces(envs):
    env = envs["dev"]
    assert (volcano.helm(env).release, volcano.helm(env).namespace) == ("volcano", "volcano-system")
    assert (kt.helm(env).release, kt.helm(env).namespace) == ("kubeflow-trainer", "kubeflow-system")
    owners = {p.name: p.component for p in env.namespaces.platform}
    assert owners["volcano-system"] == "volcano" and owners["kubeflow-system"] == "kubeflow-trainer"


def test_replicas_and_leader_election_per_env(envs):
    dev, prod = volcano.helm(envs["dev"]).values["custom"], volcano.helm(envs["prod"]).values["custom"]
    assert dev["scheduler_replicas"] == dev["controller_replicas"] == 1
    assert prod["scheduler_replicas"] >= 2 and prod["controller_replicas"] >= 2 and prod["admission_replicas"] >= 2
    assert prod["leader_elect_enable"] is True
    assert kt.helm(envs["prod"]).values["manager"]["replicas"] >= 2
    with pytest.raises(ValueError, match="needs leader_election"):
        VolcanoConfig(scheduler_replicas=2, leader_election=False)


def test_scheduler_config_gangs_and_queues():
    conf = yaml.safe_load(volcano.scheduler_config())
    plugins = [p["name"] for tier in conf["tiers"] for p in tier["plugins"]]
    assert {"gang", "proportion", "predicates"} <= set(plugins)
    assert "overcommit" not in plugins  # it would hold GPU jobs until nodes exist: Karpenter never sees them
    assert [a.strip() for a in conf["actions"].split(",")][:2] == ["enqueue", "allocate"]


# --------------------------------------------------------------------------- queues
def test_a_queue_per_team_from_config(envs):
    for env in envs.values():
        objs = volcano.build(env)
        for team in env.teams:
            q, cfg = find(objs, "Queue", f"team-{team.name}"), env.volcano.queues[team.name]
            assert q["apiVersion"] == "scheduling.volcano.sh/v1beta1" and "namespace" not in q["metadata"]
            assert q["spec"]["capability"] == {"cpu": cfg.capability.cpu, "memory": cfg.capability.memory,
                                               "nvidia.com/gpu": str(cfg.capability.gpus)}
            assert q["spec"]["weight"] == cfg.weight and q["spec"]["reclaimable"] is cfg.reclaimable
            assert q["metadata"]["labels"]["platform.mlops.io/team"] == team.name
        default = find(objs, "Queue", "default")
        assert default["spec"]["capability"]["nvidia.com/gpu"] == "0"
    assert find(volcano.build(envs["prod"]), "Queue", "team-nlp")["spec"]["guarantee"] == {
        "resource": {"nvidia.com/gpu": "4"}}
    dev = {t: q.capability.gpus for t, q in envs["dev"].volcano.queues.items()}
    assert all(g <= 2 for g in dev.values())  # research: its Ray GPU worker and a 1-GPU TrainJob at once
    prod = envs["prod"]
    assert sum(q.capability.gpus for q in prod.volcano.queues.values()) <= prod.compute.karpenter.gpu_pool.gpu_limit


def test_queues_sync_with_the_volcano_chart(rendered):
    for r in rendered.values():
        assert r.waves["kubeflow-trainer"] > r.waves["volcano"] > r.waves["namespaces"]
        for o in r.components["volcano"] + r.components["kubeflow-trainer"]:
            if o["kind"] in ("Queue", "ClusterTrainingRuntime"):  # custom resources of the same Application's chart
                ann = o["metadata"]["annotations"]
                assert "SkipDryRunOnMissingResource=true" in ann["argocd.argoproj.io/sync-options"]
                assert ann["argocd.argoproj.io/sync-wave"] == "1"  # after the webhooks that admit them serve


# --------------------------------------------------------------------------- Kubernetes minor
def test_volcano_is_certified_for_the_env_minors(envs):
    minors = versions.CHARTS["volcano"].kubernetes_minors
    assert minors[0] == "1.24" and minors[-1] == "1.35"
    for env in envs.values():
        assert env.kubernetes_version in minors


def test_an_uncertified_minor_fails_clearly(envs, env_dir):
    text = (env_dir / "dev.yaml").read_text()
    (env_dir / "dev.yaml").write_text(text.replace('kubernetes_version: "1.34"', 'kubernetes_version: "1.36"', 1))
    with pytest.raises(EnvError) as e:
        load_env("dev", env_dir)
    (p,) = e.value.problems
    assert "volcano: chart volcano 1.15.1" in p and "certified upstream for Kubernetes 1.24-1.35, not 1.36" in p
    # a config that skipped validation still can't render the release
    bad = envs["dev"].model_copy(update={"kubernetes_version": "1.36"})
    with pytest.raises(ValueError, match="not 1.36"):
        volcano.helm(bad)
    assert versions.kubernetes_minor_problem("volcano", "1.33") is None
    assert versions.kubernetes_minor_problem("karpenter", "1.36") is None  # untracked charts pass


# --------------------------------------------------------------------------- webhooks
def test_no_pods_webhooks_and_team_scope(envs):
    for env in envs.values():
        custom = volcano.helm(env).values["custom"]
        admissions = custom["enabled_admissions"].split(",")
        assert not [a for a in admissions if a.startswith("/pods/")]
        assert "/podgroups/mutate" in admissions  # the namespace's default queue
        assert custom["webhooks_namespace_selector_expressions"] == [
            {"key": "platform.mlops.io/team", "operator": "Exists"}]


def test_webhook_drift_is_ignored(rendered):
    r = rendered["prod"]
    apps = {a["metadata"]["name"]: a for a in r.components["argocd-apps"]}
    vol, tr = apps["prod-volcano"], apps["prod-kubeflow-trainer"]
    for app in (vol, tr):
        assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]
        assert len(app["spec"]["sources"]) == 2  # the chart plus our objects
    ignored = {(d["kind"], d["name"]): d for d in vol["spec"]["ignoreDifferences"]}
    for kind, name in volcano.webhook_configurations():
        assert ignored[(kind, name)]["jqPathExpressions"] == [".webhooks[]?.clientConfig.caBundle"]
    assert ("MutatingWebhookConfiguration", "volcano-admission-service-podgroups-mutate") in ignored
    assert ignored[("Secret", "volcano-admission-secret")]["jsonPointers"] == ["/data"]
    ignored = {(d["kind"], d["name"]): d for d in tr["spec"]["ignoreDifferences"]}
    assert ignored[("Secret", "kubeflow-trainer-webhook-cert")]["namespace"] == "kubeflow-system"
    assert {("ValidatingWebhookConfiguration", "validator.trainer.kubeflow.org"), ("Secret", "jobset-webhook-server-cert"),
            ("MutatingWebhookConfiguration", "jobset-mutating-webhook-configuration")} <= set(ignored)
    assert "ServerSideApply=true" in tr["spec"]["syncPolicy"]["syncOptions"]  # trainer and JobSet CRDs > 256 KiB


def test_trainer_webhook_failure_policy_from_config(envs):
    env = envs["dev"]
    off = env.model_copy(update={"trainer": TrainerConfig(webhook_failure_policy="Ignore")})
    assert kt.helm(off).values["webhook"]["failurePolicy"] == "Ignore"
    assert kt.helm(env).values["webhook"]["failurePolicy"] == "Fail"


# --------------------------------------------------------------------------- the team's default queue
def test_team_namespaces_name_their_queue(rendered):
    for r in rendered.values():
        for team in r.env.teams:
            ns = find(r.components["namespaces"], "Namespace", r.env.team_namespace(team))
            assert ns["metadata"]["annotations"][QUEUE] == f"team-{team.name}"
            assert ns["metadata"]["labels"]["platform.mlops.io/team"] == team.name
        for p in r.env.namespaces.platform:
            ns = find(r.components["namespaces"], "Namespace", p.name)
            assert QUEUE not in (ns["metadata"].get("annotations") or {})


def test_other_queues_are_refused_in_team_namespaces(envs):
    objs = volcano.build(envs["dev"])
    policy = find(objs, "ValidatingAdmissionPolicy", "volcano-team-queue")
    binding = find(objs, "ValidatingAdmissionPolicyBinding", "volcano-team-queue")
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    assert spec["matchConstraints"]["namespaceSelector"] == {
        "matchExpressions": [{"key": "platform.mlops.io/team", "operator": "Exists"}]}
    (rule,) = spec["matchConstraints"]["resourceRules"]
    assert rule["apiGroups"] == ["scheduling.volcano.sh"] and rule["resources"] == ["podgroups"]
    variables = {v["name"]: v["expression"] for v in spec["variables"]}
    assert f"namespaceObject.metadata.annotations['{QUEUE}']" in variables["teamQueue"]
    assert spec["validations"][0]["expression"] == "variables.teamQueue != '' && variables.queue == variables.teamQueue"
    assert binding["spec"] == {"policyName": "volcano-team-queue", "validationActions": ["Deny"]}


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
    assert check_gpu_scheduling(_with(rendered["staging"], "kubeflow-trainer", [rt])) == []
    # dev's GPU pool launches one-GPU nodes only: the same runtime fits no NodePool there
    (p,) = check_gpu_scheduling(_with(rendered["dev"], "kubeflow-trainer", [rt]))
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
def _problem(env_dir, old, new, name="dev"):
    path = env_dir / f"{name}.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(EnvError) as e:
        load_env(name, env_dir)
    (p,) = e.value.problems
    return p


@pytest.mark.parametrize("old,new,messages", [
    ('    nlp: {weight: 1, capability: {cpu: "16"', '    nlpx: {weight: 1, capability: {cpu: "16"',
     ["volcano.queues.nlpx: volcano.queues for teams this env does not have: nlpx",
      "teams[1].name: teams without a Volcano queue: nlp"]),
    ('memory: 64Gi, gpus: 2}}\n    nlp', 'memory: 64Gi, gpus: 3}}\n    nlp',
     ["volcano.queues.research.capability.gpus: 3 exceeds teams[research].quota.gpus 2"]),
])
def test_queue_config_must_match_the_teams(env_dir, old, new, messages):
    """Each problem at the line of the field it is about (the queue, the team), not the document's."""
    path = env_dir / "dev.yaml"
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(EnvError) as e:
        load_env("dev", env_dir)
    lines = path.read_text().splitlines()
    where = {"volcano.queues.nlpx": "    nlpx: {weight", "teams[1].name": "  - name: nlp",
             "volcano.queues.research.capability.gpus": "    research: {weight"}
    assert len(e.value.problems) == len(messages), e.value.problems
    for message, p in zip(messages, e.value.problems):
        line = next(i for i, t in enumerate(lines, 1) if t.startswith(where[message.split(":")[0]]))
        assert p.endswith(f"dev.yaml:{line}: {message}") or f"dev.yaml:{line}: {message}" in p, (p, line)
        assert "Value error" not in p


def test_trainer_needs_volcano(env_dir):
    p = _problem(env_dir, "  leader_election: true\n", "  leader_election: true\n  enabled: false\n")
    assert "trainer needs volcano.enabled" in p, p


def test_guarantee_within_capability(env_dir):
    p = _problem(env_dir, 'gpus: 16}, guarantee: {gpus: 4}}', 'gpus: 16}, guarantee: {gpus: 17}}', name="prod")
    assert "volcano.queues.nlp" in p and "guarantee exceeds capability: gpus" in p, p


# --------------------------------------------------------------------------- cross-checks: failing cases
def _ray(name, team, queue, *, scheduler=True):
    labels = {"volcano.sh/queue-name": queue}
    if scheduler:
        labels["ray.io/scheduler-name"] = "volcano"
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster",
            "metadata": {"name": name, "namespace": f"team-{team}", "labels": labels},
            "spec": {"headGroupSpec": {"template": {"spec": {"containers": [
                {"name": "head", "image": "rayproject/ray:2.52.0"}]}}}}}


def test_unknown_queues_are_reported_wherever_they_are_named(rendered):
    r = rendered["dev"]
    job = copy.deepcopy(_examples(r)[0])
    job["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["metadata"]["annotations"][QUEUE] = "team-ghost"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "team-nlp"},
          "data": {"job.yaml": yaml.safe_dump(job)}}
    pg = {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
          "metadata": {"name": "pg", "namespace": "team-nlp"}, "spec": {"queue": "training-queue"}}
    problems = check_queue_refs(_with(r, "serving", [_ray("llm", "nlp", "team-ghost"), cm, pg]))
    assert any(p.startswith("dev/serving/RayCluster/llm: metadata.labels.volcano.sh/queue-name names Volcano queue "
                            "'team-ghost', which no Queue in env dev defines") for p in problems), problems
    assert any("dev/serving/TrainJob/smoke-test: spec.runtimePatches[0]" in p and "'team-ghost'" in p for p in problems)
    assert any("dev/serving/PodGroup/pg: spec.queue names Volcano queue 'training-queue'" in p for p in problems)
    assert check_queue_refs(_with(r, "serving", [_ray("llm", "nlp", "team-nlp")])) == []


def test_queue_gpu_budgets_must_fit_the_gpu_pool(rendered, envs):
    r = rendered["dev"]  # GPU pool limit 5
    big = volcano.queue(envs["dev"], "team-nlp", envs["dev"].volcano.queues["nlp"].model_copy(
        update={"capability": envs["dev"].volcano.queues["nlp"].capability.model_copy(update={"gpus": 4})}), team="nlp")
    others = [o for o in r.components["volcano"] if o["metadata"]["name"] != "team-nlp"]
    (p,) = check_gpu_budget(_with(r, "volcano", others + [big]))
    assert p == ("dev/crosscheck: Volcano queues' GPU capabilities add up to 6 (team-nlp 4, team-research 2) but the "
                 "GPU NodePools allow 5 (gpu 5): lower the queues or the budgets, raise gpu_pool.gpu_limit, or set "
                 "volcano.gpu_overcommit")
    over = _with(r, "volcano", others + [big])
    over.env = envs["dev"].model_copy(update={"volcano": envs["dev"].volcano.model_copy(update={"gpu_overcommit": True})})
    assert check_gpu_budget(over) == []


def test_volcano_users_need_volcano(rendered):
    r = rendered["dev"]
    no_volcano = _with(r, "volcano", [], helm={k: v for k, v in r.helm.items() if v.chart != "volcano"})
    problems = volcano_checks.check_users(no_volcano)
    assert any(p.startswith("dev/crosscheck: Volcano is used (") and "does not install it (volcano.enabled)" in p
               for p in problems), problems


def test_trainer_runtimes_pair_scheduler_and_pod_group(rendered, envs):
    r = rendered["dev"]
    rt = find(kt.build(envs["dev"]), "ClusterTrainingRuntime", "torch-distributed-cpu")
    no_gang = copy.deepcopy(rt)
    del no_gang["spec"]["podGroupPolicy"]
    no_sched = copy.deepcopy(rt)
    no_sched["metadata"]["name"] = "no-sched"
    del no_sched["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["schedulerName"]
    problems = trainer_checks.check_runtimes(_with(r, "kubeflow-trainer", [no_gang, no_sched]))
    assert any("ClusterTrainingRuntime/torch-distributed-cpu: pods use schedulerName: volcano without "
               "podGroupPolicy.volcano" in p for p in problems), problems
    assert any("ClusterTrainingRuntime/no-sched: podGroupPolicy.volcano, but its pods do not say schedulerName: "
               "volcano" in p for p in problems), problems


def test_ray_handed_to_volcano_needs_kuberay_configured_for_it(rendered):
    r = rendered["dev"]
    kuberay = HelmRelease(chart="kuberay-operator", release="kuberay-operator", namespace="kuberay-system",
                          values={"batchScheduler": {"enabled": False}})
    helm = {**{k: v for k, v in r.helm.items() if v.chart != "kuberay-operator"}, "kuberay": kuberay}
    problems = kuberay_checks.check_volcano_operator(_with(r, "kuberay", [_ray("llm", "nlp", "team-nlp")], helm=helm))
    assert any(p.startswith("dev/kuberay/RayCluster/llm: handed to Volcano") and "batchScheduler.name: volcano" in p
               for p in problems), problems
    ok = HelmRelease(chart="kuberay-operator", release="kuberay-operator", namespace="kuberay-system",
                     values={"batchScheduler": {"name": "volcano"}})
    assert kuberay_checks.check_volcano_operator(
        _with(r, "kuberay", [_ray("llm", "nlp", "team-nlp")], helm={**helm, "kuberay": ok})) == []


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
    problems = check_trainjobs(_with(r, "jobs", [too_big, unknown, no_toleration]))
    assert any(p.startswith("staging/jobs/TrainJob/too-big: the gang needs 3 nvidia.com/gpu at once but queue "
                            "team-research may hold 2") for p in problems), problems
    assert "staging/jobs/TrainJob/unknown: runtimeRef ClusterTrainingRuntime/tensorflow is not a runtime of env staging" \
        in problems
    assert any(p.startswith("staging/jobs/TrainJob/eight: spec.template.spec: pod requesting 8 nvidia.com/gpu fits no "
                            "NodePool") for p in problems), problems
    # without a queue of its own the job is judged against the namespace's default queue
    no_patch = _job(r, "research", numNodes=3)
    del no_patch["spec"]["runtimePatches"]
    assert any("queue team-research may hold 2" in p for p in check_trainjobs(_with(r, "jobs", [no_patch])))


# --------------------------------------------------------------------------- a team's GPU demand in total
def test_a_teams_gpu_demand_is_checked_in_total(env_dir):
    """Issue 14 item 6: models at max (+surge), Ray at max and the largest runtime the team may use,
    together, against the team's quota; the Volcano-scheduled part against its queue."""
    p = _problem(env_dir, "gpus: 24, pods: 500", "gpus: 16, pods: 500", name="prod")
    lines = (env_dir / "prod.yaml").read_text().splitlines()
    where, msg = p.split(": ", 1)
    assert where.endswith(f"prod.yaml:{lines.index(next(x for x in lines if 'gpus: 16, pods: 500' in x)) + 1}")
    assert msg == ("teams[1].quota.gpus: team nlp can run 23 GPUs at once (model mistral-7b-instruct 7, Ray cluster 8, "
                   "training runtime torch-distributed-8gpu 8) but its quota.gpus is 16: raise it (within "
                   "compute.karpenter.gpu_pool.gpu_limit), lower max_replicas, or limit the runtime to other teams "
                   "(trainer.runtimes[].teams)")
    shutil.copy(ROOT / "environments/prod.yaml", env_dir / "prod.yaml")
    p = _problem(env_dir, "capability: {cpu: \"256\", memory: 1Ti, gpus: 16}", "capability: {cpu: \"256\", memory: 1Ti, gpus: 12}",
                 name="prod")
    assert p.split(": ", 1)[1] == (
        "volcano.queues.nlp.capability.gpus: team nlp's Volcano-scheduled work needs 16 GPUs at once (Ray cluster 8, "
        "training runtime torch-distributed-8gpu 8) but its queue may hold 12: the gangs past it would wait for each other")


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
