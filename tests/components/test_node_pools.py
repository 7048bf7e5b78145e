"""The `node-pools` unit: Karpenter's EC2NodeClass and NodePools (default and GPU) from the env's
compute config, validated against the pinned CRDs, and the compute config's refusals."""
import re

import pytest

from conftest import find
from mlplatform.components.node_pools import objects as node_pools
from mlplatform.config.loader import EnvError, load_env
from mlplatform.kit import versions
from mlplatform.kit.quantity import parse
from mlplatform.validate import crd, validate


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
