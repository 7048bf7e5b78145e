"""The `priority-classes` unit: the classes, the tenant guard, the workloads that use them, and the
admission checks (what the API server's Priority and ResourceQuota plugins would refuse) that keep
them honest."""
from __future__ import annotations

import asyncio
import copy
import pytest
from hub import User, hub_config, no_cluster  # noqa: F401
from mlplatform.components.priority_classes import PRIORITY
from mlplatform.components.priority_classes import objects as pc
from mlplatform.validate import admission
from mlplatform.validate.admission_quota import Quota, resource_quotas


def _objs(r, comp):
    return r.components.get(comp, [])


def _pod_specs(o):
    """Every pod template spec inside one of our objects (Deployments, runtimes, Ray clusters)."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            if "containers" in node and isinstance(node["containers"], list):
                out.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)
    walk(o.get("spec"))
    return out


# --- the unit's objects --------------------------------------------------------------------------
def test_three_classes_ordered_controllers_serving_default_preemptible(rendered):
    for r in rendered.values():
        classes = {o["metadata"]["name"]: o for o in _objs(r, pc.NAME) if o["kind"] == "PriorityClass"}
        assert set(classes) == {PRIORITY.controllers, PRIORITY.serving, PRIORITY.preemptible}
        c, s, p = (classes[n] for n in (PRIORITY.controllers, PRIORITY.serving, PRIORITY.preemptible))
        # below Kubernetes' own system classes (2e9), above pods without a class (0)
        assert 2_000_000_000 > c["value"] > s["value"] > 0 > p["value"]
        assert p["preemptionPolicy"] == "Never"  # batch and notebooks wait, they never evict anyone
        assert not any(o["globalDefault"] for o in classes.values())


def test_every_team_namespace_admits_no_pod_of_the_controllers_class(rendered):
    for r in rendered.values():
        guards = {o["metadata"]["namespace"]: o for o in _objs(r, pc.NAME) if o["kind"] == "ResourceQuota"}
        assert set(guards) == {r.env.team_namespace(t) for t in r.env.teams}
        for ns, q in guards.items():
            (quota,) = resource_quotas([q])[ns]
            assert quota.hard == {"pods": "0"}
            assert quota.applies_to({"priorityClassName": PRIORITY.controllers, "containers": []})
            assert not quota.applies_to({"priorityClassName": PRIORITY.serving, "containers": []})
            assert not quota.applies_to({"containers": []})


# --- the workloads that use them ---------------------------------------------------------------
def test_serving_batch_and_controllers_run_with_their_class(rendered):
    r = rendered["prod"]
    deployments = [o for o in _objs(r, "vllm") if o["kind"] == "Deployment"]
    assert deployments and all(o["spec"]["template"]["spec"]["priorityClassName"] == PRIORITY.serving
                               for o in deployments)
    runtimes = [o for o in _objs(r, "kubeflow-trainer") if o["kind"].endswith("TrainingRuntime")]
    assert runtimes and all(s.get("priorityClassName") == PRIORITY.preemptible
                            for o in runtimes for s in _pod_specs(o))
    clusters = [o for o in _objs(r, "kuberay") if o["kind"] == "RayCluster"]
    assert clusters and all(s.get("priorityClassName") == PRIORITY.preemptible for o in clusters for s in _pod_specs(o))
    services = [o for o in _objs(r, "kuberay") if o["kind"] == "RayService"]
    assert all(s.get("priorityClassName") == PRIORITY.serving for o in services for s in _pod_specs(o))
    mlflow = next(o for o in _objs(r, "mlflow") if o["kind"] == "Deployment")
    assert mlflow["spec"]["template"]["spec"]["priorityClassName"] == PRIORITY.controllers


def test_chart_made_pods_carry_the_class_their_values_ask_for(rendered):
    """The real helm renders of the pinned charts put the class on the controllers' pods (a values key
    the chart ignores would leave them at 0)."""
    r = rendered["prod"]
    want = {("airflow", "airflow-scheduler"): PRIORITY.controllers,
            ("external-secrets", "external-secrets"): PRIORITY.controllers,
            ("external-secrets", "external-secrets-webhook"): PRIORITY.controllers,
            ("external-dns", "external-dns"): PRIORITY.controllers,
            ("kuberay", "kuberay-operator"): PRIORITY.controllers,
            ("prometheus-adapter", "prometheus-adapter"): PRIORITY.controllers}
    got = {}
    for comp, docs in r.renders.docs.items():
        for d in docs:
            o = d.obj
            if o.get("kind") == "Deployment" and (comp, o["metadata"]["name"]) in want:
                got[(comp, o["metadata"]["name"])] = o["spec"]["template"]["spec"].get("priorityClassName")
    assert got == want
    prom = next(d.obj for d in r.renders.docs["monitoring"] if d.obj.get("kind") == "Prometheus")
    assert prom["spec"]["priorityClassName"] == PRIORITY.controllers
    # Airflow's task pods: the chart's pod template file (a ConfigMap) carries the batch class
    cfg = next(d.obj for d in r.renders.docs["airflow"]
               if d.obj.get("kind") == "ConfigMap" and d.obj["metadata"]["name"] == "airflow-config")
    assert f"priorityClassName: {PRIORITY.preemptible}" in cfg["data"]["pod_template_file.yaml"]


def test_notebooks_get_the_preemptible_class_from_the_real_kubespawner(envs, no_cluster):
    """Our hub config, loaded into the real KubeSpawner, puts the class on the notebook pod."""
    from jupyterhub.objects import Hub
    from kubespawner import KubeSpawner

    async def spawn():
        sp = KubeSpawner(config=hub_config(envs["prod"]), hub=Hub(), user=User(), api_token="t",
                         oauth_client_id="unused", _mock=True)
        return await sp.get_pod_manifest()
    assert asyncio.run(spawn()).spec.priority_class_name == PRIORITY.preemptible


def test_every_application_using_a_class_syncs_after_the_classes(rendered):
    for r in rendered.values():
        wave = r.waves
        for comp in ("vllm", "kuberay", "kubeflow-trainer", "jupyterhub", "airflow", "mlflow", "external-secrets"):
            if comp in wave:
                assert wave[comp] > wave[pc.NAME], (r.env.name, comp, wave[comp], wave[pc.NAME])


# --- admission: what the API server would refuse ---------------------------------------------------
def _planted(r, comp, mutate):
    r2 = copy.copy(r)
    r2.components = dict(r.components)
    objs = [copy.deepcopy(o) for o in r.components[comp]]
    mutate(objs)
    r2.components[comp] = objs
    return r2


def test_a_pod_naming_a_class_nobody_creates_is_caught(rendered):
    def mutate(objs):
        dep = next(o for o in objs if o["kind"] == "Deployment")
        dep["spec"]["template"]["spec"]["priorityClassName"] = "gold"
    r = _planted(rendered["dev"], "mlflow", mutate)
    problems = admission.check_references(r)
    assert any(p.startswith("dev/mlflow/Deployment/mlflow:") and 'PriorityClass "gold" not found' in p
               for p in problems), problems
    assert admission.check_references(rendered["dev"]) == []


def test_a_team_workload_lifting_itself_to_the_controllers_class_is_caught(rendered):
    def mutate(objs):
        dep = next(o for o in objs if o["kind"] == "Deployment")
        dep["spec"]["template"]["spec"]["priorityClassName"] = PRIORITY.controllers
    r = rendered["prod"]
    dep = next(o for o in r.components["vllm"] if o["kind"] == "Deployment")
    ns = dep["metadata"]["namespace"]
    problems = admission.check_quota(_planted(r, "vllm", mutate))
    assert any(f"ResourceQuota {ns}/{ns}-{pc.TEAM_GUARD}" in p and "pods 1 > 0" in p for p in problems), problems
    assert admission.check_quota(r) == []


@pytest.mark.parametrize("term,pod,charged", [
    ({"scopeName": "PriorityClass", "operator": "In", "values": ["a"]}, {"priorityClassName": "a"}, True),
    ({"scopeName": "PriorityClass", "operator": "In", "values": ["a"]}, {"priorityClassName": "b"}, False),
    ({"scopeName": "PriorityClass", "operator": "NotIn", "values": ["a"]}, {}, True),
    ({"scopeName": "PriorityClass", "operator": "Exists"}, {}, False),
    ({"scopeName": "PriorityClass", "operator": "DoesNotExist"}, {}, True),
    ({"scopeName": "BestEffort", "operator": "Exists"}, {"containers": [{"resources": {}}]}, True),
    ({"scopeName": "NotBestEffort", "operator": "Exists"},
     {"containers": [{"resources": {"requests": {"cpu": "1"}}}]}, True),
    ({"scopeName": "Terminating", "operator": "Exists"}, {"activeDeadlineSeconds": 60}, True),
    ({"scopeName": "NotTerminating", "operator": "Exists"}, {"activeDeadlineSeconds": 60}, False),
])
def test_quota_scopes_follow_the_quota_admission_plugin(term, pod, charged):
    assert Quota("q", {"pods": "0"}, (), (term,)).applies_to({"containers": [], **pod}) is charged
