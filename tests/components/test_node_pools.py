"""Compute: Karpenter (controller, EC2NodeClass, NodePools), the NVIDIA GPU operator, and the
cross-check that every GPU pod fits a NodePool."""
import copy
import re

import pytest

from conftest import find
from mlplatform.components.gpu_operator import objects as gpu_operator
from mlplatform.components.gpu_operator.config import GpuConfig
from mlplatform.components.karpenter import objects as karpenter
from mlplatform.components.node_pools import objects as node_pools
from mlplatform.config.loader import EnvError, load_env
from mlplatform.config.models import ComputeConfig
from mlplatform.kit import upstream, versions
from mlplatform.kit.quantity import parse
from mlplatform.validate import charts, crd, validate
from mlplatform.kit.pods import pod_specs, tolerates
from mlplatform.validate.scheduling import check_gpu_scheduling

OURS = ("/karpenter/", "/node-pools/", "/gpu-operator/")


def _reqs(pool):
    return {r["key"]: r for r in pool["spec"]["template"]["spec"]["requirements"]}


# --------------------------------------------------------------------------- node pools
def test_node_pools_put_limits_disruption_weight_under_spec(envs):
    """The book's listing 3.3 nests limits/disruption/weight in spec.template.spec."""
    for env in envs.values():
        objs = node_pools.build(env)
        for name in ("default", "gpu"):
            pool = find(objs, "NodePool", name)
            assert pool["apiVersion"] == "karpenter.sh/v1"
            assert "namespace" not in pool["metadata"]
            spec, tspec = pool["spec"], pool["spec"]["template"]["spec"]
            assert {"limits", "disruption", "weight"} <= set(spec)
            assert not {"limits", "disruption", "weight"} & set(tspec)
            assert tspec["expireAfter"] and "expireAfter" not in spec
            assert tspec["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"}
            assert {"karpenter.k8s.aws/instance-category", "karpenter.sh/capacity-type", "kubernetes.io/arch",
                    "kubernetes.io/os"} <= set(_reqs(pool))
            assert pool["spec"]["template"]["metadata"]["labels"]["platform.mlops.io/node-pool"] == name


def test_book_shape_fails_the_pinned_crd():
    book = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "gpu"},
            "spec": {"template": {"spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                "requirements": [{"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": ["g", "p"]}],
                "limits": {"cpu": 1000}, "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "60s"},
                "weight": 20}}}}
    errors = list(crd.schema_for("karpenter.sh/v1", "NodePool").validator.iter_errors(book))
    assert errors and any("limits" in e.message or "weight" in e.message for e in errors)


def test_gpu_pool_is_tainted_and_limited_from_config(envs):
    for env in envs.values():
        cfg = env.compute.karpenter.gpu_pool
        objs = node_pools.build(env)
        gpu, default = find(objs, "NodePool", "gpu"), find(objs, "NodePool", "default")
        assert gpu["spec"]["template"]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
        assert "taints" not in default["spec"]["template"]["spec"]
        assert gpu["spec"]["limits"]["nvidia.com/gpu"] == str(cfg.gpu_limit)
        assert parse(gpu["spec"]["limits"]["cpu"]) > 0 and "nvidia.com/gpu" not in default["spec"]["limits"]
        reqs = _reqs(gpu)
        assert set(reqs["karpenter.k8s.aws/instance-category"]["values"]) <= {"g", "p"}
        assert reqs["karpenter.k8s.aws/instance-gpu-manufacturer"]["values"] == ["nvidia"]
        assert not {"g", "p"} & set(_reqs(default)["karpenter.k8s.aws/instance-category"]["values"])
        assert gpu["spec"]["weight"] > default["spec"]["weight"]


def test_pools_differ_per_env(envs):
    pools = {n: {p["metadata"]["name"]: p for p in node_pools.build(e) if p["kind"] == "NodePool"} for n, e in envs.items()}
    cap = {n: _reqs(p["default"])["karpenter.sh/capacity-type"]["values"] for n, p in pools.items()}
    assert "spot" in cap["dev"] and cap["prod"] == ["on-demand"]
    dev_gpu = _reqs(pools["dev"]["gpu"])
    assert dev_gpu["karpenter.k8s.aws/instance-category"]["values"] == ["g"]
    assert all(f.startswith("g") for f in dev_gpu["karpenter.k8s.aws/instance-family"]["values"])
    assert set(_reqs(pools["prod"]["gpu"])["karpenter.k8s.aws/instance-category"]["values"]) == {"g", "p"}
    limit = {n: int(p["gpu"]["spec"]["limits"]["nvidia.com/gpu"]) for n, p in pools.items()}
    assert 2 <= limit["dev"] <= 5 and limit["dev"] < limit["staging"] < limit["prod"]
    after = {n: parse(p["gpu"]["spec"]["disruption"]["consolidateAfter"].rstrip("m")) for n, p in pools.items()}
    assert after["dev"] < after["prod"]
    prod_budgets = pools["prod"]["default"]["spec"]["disruption"]["budgets"]
    assert any(b.get("schedule") and b["nodes"] == "0" and b.get("duration") for b in prod_budgets)


def test_gpu_limit_covers_team_gpu_quotas(envs):
    for env in envs.values():
        assert env.compute.karpenter.gpu_pool.gpu_limit >= sum(t.quota.gpus for t in env.teams), env.name


def test_ec2_node_class(envs):
    env = envs["prod"]
    nc = find(node_pools.build(env), "EC2NodeClass", "default")
    assert nc["apiVersion"] == "karpenter.k8s.aws/v1" and "namespace" not in nc["metadata"]
    spec, infra = nc["spec"], env.infrastructure
    assert spec["amiSelectorTerms"] == [{"alias": versions.NODE_AMIS["al2023"]}]
    assert re.fullmatch(r"al2023@v20\d{6}", versions.NODE_AMIS["al2023"])
    assert spec["role"] == infra.karpenter_node_role
    assert spec["subnetSelectorTerms"] == [{"tags": infra.private_subnet_tags}]
    assert spec["securityGroupSelectorTerms"] == [{"tags": infra.node_security_group_tags}]
    (root,) = spec["blockDeviceMappings"]
    assert root["rootVolume"] and root["ebs"]["encrypted"] is True and root["ebs"]["volumeType"] == "gp3"
    assert root["ebs"]["volumeSize"] == f"{env.compute.karpenter.root_volume_gib}Gi"
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert ("ami", "al2023", versions.NODE_AMIS["al2023"].split("@")[1]) in [r[:3] for r in versions.bom_rows()]


def test_everything_we_emit_validates(rendered):
    for r in rendered.values():
        ours = [p for p in validate(r) if any(c in p for c in OURS)]
        assert ours == [], ours


def test_node_pools_sync_after_the_karpenter_chart(rendered):
    for r in rendered.values():
        assert r.waves["node-pools"] > r.waves["karpenter"]
        assert "karpenter" not in r.components  # the chart's Application syncs only the chart
        for o in r.components["node-pools"]:
            assert "SkipDryRunOnMissingResource=true" in o["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]


# --------------------------------------------------------------------------- karpenter chart
def test_karpenter_values(envs):
    for env in envs.values():
        rel = karpenter.helm(env)
        assert (rel.chart, rel.release, rel.namespace) == ("karpenter", "karpenter", "kube-system")
        v, infra = rel.values, env.infrastructure
        assert v["settings"]["clusterName"] == infra.cluster_name
        assert v["settings"]["interruptionQueue"] == infra.karpenter_interruption_queue
        assert v["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": infra.roles.karpenter}
        assert v["replicas"] == env.compute.karpenter.replicas
        assert set(v["controller"]["resources"]) == {"requests", "limits"}
        assert v["nodeSelector"] == infra.system_node_labels
        assert "affinity" not in v  # the chart's default keeps the controller off Karpenter nodes
        assert upstream.chart_values("karpenter")["affinity"]["nodeAffinity"]
        assert charts.check_values("karpenter", v) == []
    assert envs["dev"].compute.karpenter.replicas == 1 and envs["prod"].compute.karpenter.replicas >= 2


def test_chart_value_typos_are_caught():
    assert charts.check_values("karpenter", {"settings": {"clusterNmae": "x"}})
    assert charts.check_values("gpu-operator", {"dcgmExporter": {"serviceMonitr": {}}})


# --------------------------------------------------------------------------- gpu operator
def test_gpu_operator_values(envs):
    for env in envs.values():
        rel = gpu_operator.helm(env)
        assert (rel.chart, rel.release, rel.namespace) == ("gpu-operator", "gpu-operator", "gpu-operator")
        v = rel.values
        assert v["driver"]["enabled"] is False and v["toolkit"]["enabled"] is False
        assert v["devicePlugin"]["enabled"] and v["gfd"]["enabled"] and v["nfd"]["enabled"]
        assert v["operator"]["upgradeCRD"] is False
        assert v["operator"]["nodeSelector"] == env.infrastructure.system_node_labels
        for tolerations in (v["daemonsets"]["tolerations"], v["node-feature-discovery"]["worker"]["tolerations"]):
            assert tolerates(tolerations, node_pools.GPU_TAINT)
        for part in ("operator", "devicePlugin", "gfd", "migManager", "validator", "dcgmExporter"):
            res = v[part]["resources"]
            assert {"cpu", "memory"} <= set(res["requests"]) and "memory" in res["limits"], part
        sm = v["dcgmExporter"]["serviceMonitor"]
        assert sm["enabled"] and sm["interval"] == env.compute.gpu.dcgm_interval
        assert rel.requires_crds == ("ServiceMonitor.monitoring.coreos.com",)
        assert charts.check_values("gpu-operator", v) == []
    assert gpu_operator.helm(envs["dev"]).values["mig"]["strategy"] == "none"
    assert gpu_operator.helm(envs["prod"]).values["migManager"]["enabled"] is True


def test_gpu_operator_off_means_no_release_and_no_gpu_pool(envs):
    env = envs["dev"]
    k = env.compute.karpenter.model_copy(update={"gpu_pool": None})
    off = env.model_copy(update={"compute": ComputeConfig(karpenter=k, gpu=GpuConfig(enabled=False))})
    assert gpu_operator.helm(off) is None
    assert [o["metadata"]["name"] for o in node_pools.build(off) if o["kind"] == "NodePool"] == ["default"]


# --------------------------------------------------------------------------- config errors
def _problems(env_dir, name="dev"):
    with pytest.raises(EnvError) as e:
        load_env(name, env_dir)
    return e.value.problems


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("old,new,field,message", [
    ("      instance_categories: [g]\n", "      instance_categories: []\n",
     "compute.karpenter.gpu_pool.instance_categories", "at least 1 item"),
    ("      instance_categories: [g]\n", "      instance_categories: [c]\n",
     "compute.karpenter.gpu_pool", "without NVIDIA GPUs"),
    ("      instance_families: [g5, g6]", "      instance_families: [g5, p5]",
     "compute.karpenter.gpu_pool", "instance_families outside instance_categories (g): p5"),
    ("      consolidate_after: 2m", "      consolidate_after: 2 minutes",
     "compute.karpenter.gpu_pool.consolidate_after", "should match pattern"),
    ("      gpu_limit: 5", "      gpu_limit: 0", "compute.karpenter.gpu_pool.gpu_limit", "greater than or equal to 1"),
    ("      max_gpus_per_node: 1", "      max_gpus_per_node: 8", "compute.karpenter.gpu_pool", "exceeds gpu_limit"),
    ("      capacity_types: [spot, on-demand]", "      capacity_types: [spot, preemptible]",
     "compute.karpenter.default_pool.capacity_types[1]", "'on-demand' or 'spot'"),
    ("      cpu_limit: \"64\"\n      memory_limit: 256Gi\n      consolidate_after: 1m",
     "      cpu_limit: \"0\"\n      memory_limit: 256Gi\n      consolidate_after: 1m",
     "compute.karpenter.default_pool", "cpu_limit must be positive"),
    ("    mig_strategy: none", "    mig_strategy: none\n    mig_manager: true", "compute.gpu", "mig_manager needs"),
    ("    mig_strategy: none", "    mig_strategy: none\n    enabled: false", "compute", "gpu_pool needs gpu.enabled"),
    ("    replicas: 1 ", "    replica: 1 ", "compute.karpenter.replica", "unknown field"),
])
def test_impossible_compute_config_is_refused(env_dir, old, new, field, message):
    _edit(env_dir / "dev.yaml", old, new)
    problems = _problems(env_dir)
    assert any(f": {field}: " in p and message in p and "environments/dev.yaml:" in p for p in problems), problems


def test_default_pool_refuses_gpu_categories(env_dir):
    _edit(env_dir / "prod.yaml", "      consolidate_after: 15m\n", "      consolidate_after: 15m\n      instance_categories: [m, g]\n")
    (p,) = _problems(env_dir, "prod")
    assert ": compute.karpenter.default_pool: " in p and "GPU instance categories belong in gpu_pool" in p, p


def test_budget_window_needs_schedule_and_duration(env_dir):
    _edit(env_dir / "prod.yaml", 'schedule: "0 12 * * mon-fri", duration: 10h, reasons: [Underutilized, Drifted]',
          'schedule: "0 12 * * mon-fri", reasons: [Underutilized, Drifted]')
    (p,) = _problems(env_dir, "prod")
    assert ": compute.karpenter.default_pool.budgets[1]: " in p and "schedule and duration go together" in p, p


# --------------------------------------------------------------------------- GPU scheduling
def _gpu_pod(name, *, gpus=1, tolerate=True, node_selector=None, affinity=None, kind="Deployment"):
    spec = {"containers": [{"name": "main", "image": "vllm/vllm-openai:v0.15.1",
                            "resources": {"requests": {"cpu": "4", "memory": "16Gi"},
                                          "limits": {"memory": "16Gi", "nvidia.com/gpu": str(gpus)}}}]}
    if tolerate:
        spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    if node_selector:
        spec["nodeSelector"] = node_selector
    if affinity:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": affinity}}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "team-nlp"},
            "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def _with(r, *objs):
    r = copy.copy(r)
    r.components = {**r.components, "serving": list(objs)}
    return r


def test_committed_envs_have_no_gpu_scheduling_problems(rendered):
    for r in rendered.values():
        assert check_gpu_scheduling(r) == []


def test_a_gpu_deployment_that_fits_passes(rendered):
    ok = [_gpu_pod("fits"),
          _gpu_pod("by-family", node_selector={"karpenter.k8s.aws/instance-family": "g6",
                                               "platform.mlops.io/node-pool": "gpu"}),
          _gpu_pod("by-type", node_selector={"node.kubernetes.io/instance-type": "g5.2xlarge"}),
          _gpu_pod("any-term", affinity=[
              {"matchExpressions": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}]},
              {"matchExpressions": [{"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "Lt", "values": ["2"]}]}]),
          _gpu_pod("dcgm-like", gpus=0, kind="DaemonSet", node_selector={"nvidia.com/gpu.present": "true"})]
    assert check_gpu_scheduling(_with(rendered["dev"], *ok)) == []


def test_gpu_pod_without_the_toleration(rendered):
    (p,) = check_gpu_scheduling(_with(rendered["dev"], _gpu_pod("no-toleration", tolerate=False)))
    assert p.startswith("dev/serving/Deployment/no-toleration: spec.template.spec: pod requesting 1 nvidia.com/gpu fits no NodePool")
    assert "NodePool gpu: does not tolerate the pool's taint nvidia.com/gpu:NoSchedule" in p
    assert "NodePool default: launches no NVIDIA GPU instances" in p


def test_gpu_pod_asking_for_more_gpus_than_the_pool_allows(rendered):
    (p,) = check_gpu_scheduling(_with(rendered["dev"], _gpu_pod("eight-gpus", gpus=8)))
    assert "one pod needs 8 nvidia.com/gpu but the pool's limit is 5" in p
    assert "largest instance has 1 (karpenter.k8s.aws/instance-gpu-count)" in p
    # prod's pool (64 GPUs, p5 8-GPU nodes) takes it
    assert check_gpu_scheduling(_with(rendered["prod"], _gpu_pod("eight-gpus", gpus=8))) == []


def test_gpus_per_node_without_an_explicit_cap_come_from_the_instance_families(rendered, env_dir):
    """Issue 14 item 5: prod's GPU pool sets no max_gpus_per_node; its families' largest instances
    have 8 GPUs, so a 16-GPU pod fits no node -- at synth (the rendered NodePool) and at load time
    (a runtime's gpus_per_node, a Ray GPU group, a model's tensor_parallel_size: file:line)."""
    (p,) = check_gpu_scheduling(_with(rendered["prod"], _gpu_pod("sixteen-gpus", gpus=16)))
    assert "one pod needs 16 nvidia.com/gpu but the pool's largest instance has 8 (largest instances of its " \
           "families: g5.48xlarge, g6.48xlarge, g6e.48xlarge, ...)" in p, p
    f = env_dir / "prod.yaml"
    text = f.read_text()
    lines = text.splitlines()
    f.write_text(text.replace("gpus_per_node: 8, shared_memory: 64Gi", "gpus_per_node: 16, shared_memory: 64Gi")
                 .replace("max_replicas: 4, gpus: 2,", "max_replicas: 4, gpus: 16,"))
    with pytest.raises(EnvError) as e:
        load_env("prod", env_dir)
    line = {p.split(": ")[1]: int(p.split(": ")[0].rsplit(":", 1)[1]) for p in e.value.problems}
    assert set(line) == {"trainer.runtimes[1].gpus_per_node", "ray.clusters.nlp.gpu_workers.gpus"}, e.value.problems
    assert "gpus_per_node: 8" in lines[line["trainer.runtimes[1].gpus_per_node"] - 1]
    assert "gpus: 2," in lines[line["ray.clusters.nlp.gpu_workers.gpus"] - 1]
    assert all("ask one node for 16 nvidia.com/gpu but no GPU node has more than 8 "
               "(compute.karpenter.gpu_pool.instance_families: " in p for p in e.value.problems)
    # limiting the pool to sizes of at most 4 GPUs lowers the cap with them
    f.write_text(text.replace("instance_families: [g5, g6, g6e, p4d, p5]",
                              "instance_families: [g5, g6]\n      instance_sizes: [xlarge, 12xlarge]"))
    with pytest.raises(EnvError, match=r"trainer.runtimes\[1\].gpus_per_node: .* no GPU node has more than 4 "
                                       r"\(compute.karpenter.gpu_pool.instance_families: largest instances of its "
                                       r"families: g5.12xlarge, g6.12xlarge\)"):
        load_env("prod", env_dir)


@pytest.mark.parametrize("selector,reason", [
    ({"kubernetes.io/arch": "arm64"}, "kubernetes.io/arch=arm64: the pool requires kubernetes.io/arch In ['amd64']"),
    ({"karpenter.k8s.aws/instance-family": "p5"}, "the pool requires karpenter.k8s.aws/instance-family In ['g5', 'g6']"),
    ({"nvidia.com/gpu.product": "NVIDIA-A10G"}, "set by GPU/node feature discovery after a node joins"),
    ({"team": "nlp"}, "team is neither a label of the pool's nodes nor a well-known node label"),
    ({"platform.mlops.io/node-pool": "default"}, "the pool's nodes are labelled platform.mlops.io/node-pool=gpu"),
])
def test_gpu_pod_with_a_node_selector_no_pool_satisfies(rendered, selector, reason):
    (p,) = check_gpu_scheduling(_with(rendered["dev"], _gpu_pod("picky", node_selector=selector)))
    assert "fits no NodePool" in p and reason in p, p


def test_gpu_pod_with_no_gpu_pool(rendered):
    r = _with(rendered["dev"], _gpu_pod("orphan"))
    r.components["node-pools"] = [o for o in r.components["node-pools"] if o["metadata"]["name"] != "gpu"]
    problems = check_gpu_scheduling(r)
    (p,) = [x for x in problems if "orphan" in x]
    assert "no NodePool in env dev launches NVIDIA GPU instances" in p
    # the JupyterHub GPU profile (a pod the chart makes from our values) is caught the same way
    assert any("HelmRelease/jupyterhub: profile gpu-1" in x and "launches NVIDIA GPU" in x for x in problems)


def test_pod_templates_inside_custom_resources_are_checked(rendered):
    ray = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "llm", "namespace": "team-nlp"},
           "spec": {"headGroupSpec": {"template": {"spec": {"containers": [{"name": "head", "image": "rayproject/ray:2.52.0"}]}}},
                    "workerGroupSpecs": [{"groupName": "gpu", "template": _gpu_pod("w", gpus=2, tolerate=False)["spec"]["template"]}]}}
    assert [p for p, _ in pod_specs(ray)] == ["spec.headGroupSpec.template.spec", "spec.workerGroupSpecs[0].template.spec"]
    (p,) = check_gpu_scheduling(_with(rendered["staging"], ray))
    assert p.startswith("staging/serving/RayCluster/llm: spec.workerGroupSpecs[0].template.spec: pod requesting 2")
