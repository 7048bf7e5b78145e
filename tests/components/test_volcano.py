"""The `volcano` unit: chart values, a queue per team with its admission policy, the certified
Kubernetes minors, and its checks (`components/volcano/checks.py`: queue references, GPU budgets,
Volcano users), each with a planted case."""
import copy
import shutil

import pytest
import yaml

from test_kubeflow_trainer import _examples
from test_kuberay import _ray
from conftest import ROOT, find, one_problem, with_objects
from mlplatform.components.kubeflow_trainer import checks as trainer_checks
from mlplatform.components.kubeflow_trainer import objects as kt
from mlplatform.components.kuberay import checks as kuberay_checks
from mlplatform.components.volcano import checks as volcano_checks
from mlplatform.components.volcano.checks import check_gpu_budget, check_queue_refs
from mlplatform.components.volcano import objects as volcano
from mlplatform.components.volcano.config import VolcanoConfig
from mlplatform.config.loader import EnvError, load_env
from mlplatform.kit import versions
from mlplatform.kit.checks import embedded
from mlplatform.validate import charts, validate


OURS = ("/volcano/", "/kubeflow-trainer/")


QUEUE = "scheduling.volcano.sh/queue-name"


def check_training(r):
    """The checks of the units this module is about (Volcano, Trainer, KubeRay's Volcano hand-off)."""
    return volcano_checks.checks(r) + trainer_checks.checks(r) + kuberay_checks.checks(r)


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
            # plus one entry per MIG slice kind the env's pools offer (test_gpu_quotas.py)
            assert {k: v for k, v in q["spec"]["capability"].items() if "/mig-" not in k} == {
                "cpu": cfg.capability.cpu, "memory": cfg.capability.memory, "nvidia.com/gpu": str(cfg.capability.gpus)}
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


# --------------------------------------------------------------------------- config errors
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


def test_guarantee_within_capability(env_dir):
    p = one_problem(env_dir, 'gpus: 16}, guarantee: {gpus: 4}}', 'gpus: 16}, guarantee: {gpus: 17}}', name="prod")
    assert "volcano.queues.nlp" in p and "guarantee exceeds capability: gpus" in p, p


# --------------------------------------------------------------------------- cross-checks: failing cases
def test_unknown_queues_are_reported_wherever_they_are_named(rendered):
    r = rendered["dev"]
    job = copy.deepcopy(_examples(r)[0])
    job["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["metadata"]["annotations"][QUEUE] = "team-ghost"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "team-nlp"},
          "data": {"job.yaml": yaml.safe_dump(job)}}
    pg = {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
          "metadata": {"name": "pg", "namespace": "team-nlp"}, "spec": {"queue": "training-queue"}}
    problems = check_queue_refs(with_objects(r, "serving", [_ray("llm", "nlp", "team-ghost"), cm, pg]))
    assert any(p.startswith("dev/serving/RayCluster/llm: metadata.labels.volcano.sh/queue-name names Volcano queue "
                            "'team-ghost', which no Queue in env dev defines") for p in problems), problems
    assert any("dev/serving/TrainJob/smoke-test: spec.runtimePatches[0]" in p and "'team-ghost'" in p for p in problems)
    assert any("dev/serving/PodGroup/pg: spec.queue names Volcano queue 'training-queue'" in p for p in problems)
    assert check_queue_refs(with_objects(r, "serving", [_ray("llm", "nlp", "team-nlp")])) == []


def test_queue_gpu_budgets_must_fit_the_gpu_pool(rendered, envs):
    r = rendered["dev"]  # GPU pool limit 5
    big = volcano.queue(envs["dev"], "team-nlp", envs["dev"].volcano.queues["nlp"].model_copy(
        update={"capability": envs["dev"].volcano.queues["nlp"].capability.model_copy(update={"gpus": 4})}), team="nlp")
    others = [o for o in r.components["volcano"] if o["metadata"]["name"] != "team-nlp"]
    (p,) = check_gpu_budget(with_objects(r, "volcano", others + [big]))
    assert p == ("dev/crosscheck: Volcano queues' GPU capabilities add up to 6 (team-nlp 4, team-research 2) but the "
                 "GPU NodePools allow 5 (gpu 5): lower the queues or the budgets, raise gpu_pool.gpu_limit, or set "
                 "volcano.gpu_overcommit")
    over = with_objects(r, "volcano", others + [big])
    over.env = envs["dev"].model_copy(update={"volcano": envs["dev"].volcano.model_copy(update={"gpu_overcommit": True})})
    assert check_gpu_budget(over) == []


def test_volcano_users_need_volcano(rendered):
    r = rendered["dev"]
    no_volcano = with_objects(r, "volcano", [], helm={k: v for k, v in r.helm.items() if v.chart != "volcano"})
    problems = volcano_checks.check_users(no_volcano)
    assert any(p.startswith("dev/crosscheck: Volcano is used (") and "does not install it (volcano.enabled)" in p
               for p in problems), problems


# --------------------------------------------------------------------------- a team's GPU demand in total
def test_a_teams_gpu_demand_is_checked_in_total(env_dir):
    """Issue 14 item 6: models at max (+surge), Ray at max and the largest runtime the team may use,
    together, against the team's quota; the Volcano-scheduled part against its queue."""
    p = one_problem(env_dir, "gpus: 24, pods: 500", "gpus: 16, pods: 500", name="prod")
    lines = (env_dir / "prod.yaml").read_text().splitlines()
    where, msg = p.split(": ", 1)
    assert where.endswith(f"prod.yaml:{lines.index(next(x for x in lines if 'gpus: 16, pods: 500' in x)) + 1}")
    assert msg == ("teams[1].quota.gpus: team nlp can run 23 GPUs at once (model mistral-7b-instruct 7, Ray cluster 8, "
                   "training runtime torch-distributed-8gpu 8) but its quota.gpus is 16: raise it (within "
                   "compute.karpenter.gpu_pool.gpu_limit), lower max_replicas, or limit the runtime to other teams "
                   "(trainer.runtimes[].teams)")
    shutil.copy(ROOT / "environments/prod.yaml", env_dir / "prod.yaml")
    p = one_problem(env_dir, "capability: {cpu: \"256\", memory: 1Ti, gpus: 16}", "capability: {cpu: \"256\", memory: 1Ti, gpus: 12}",
                 name="prod")
    assert p.split(": ", 1)[1] == (
        "volcano.queues.nlp.capability.gpus: team nlp's Volcano-scheduled work needs 16 GPUs at once (Ray cluster 8, "
        "training runtime torch-distributed-8gpu 8) but its queue may hold 12: the gangs past it would wait for each other")
