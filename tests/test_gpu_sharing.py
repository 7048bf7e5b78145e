"""GPU sharing per pool (issue 17 part 2): the MIG facts per GPU model, the sharing config's
refusals, the NodePools' labels and taints, and the device-plugin / MIG-manager configs as the
pinned gpu-operator chart renders them (real helm, through the synth's renders)."""
import pytest
import yaml

from conftest import edit, find, load_problems
from mlplatform.components.node_pools import gpu_ask_problems, gpu_placements
from mlplatform.components.node_pools import objects as node_pools
from mlplatform.kit.instances import mig_layout_problems, mig_profiles
from mlplatform.kit.pods import tolerates


def _doc(r, comp, kind, name):
    hits = [d.obj for d in r.renders.docs[comp] if d.obj["kind"] == kind and d.obj["metadata"]["name"] == name]
    assert len(hits) == 1, f"{comp}: {kind}/{name}: {len(hits)} found"
    return hits[0]


# --------------------------------------------------------------------------- MIG facts
def test_mig_profiles_per_gpu_model():
    assert mig_profiles("g5") is None and mig_profiles("g6e") is None  # A10G, L40S: no MIG
    assert "1g.5gb" in mig_profiles("p4d") and "1g.5gb" not in mig_profiles("p4de")  # A100 40 vs 80 GB
    assert mig_profiles("p4de") == mig_profiles("p5")  # A100 80GB and H100 80GB share profile names
    assert "1g.18gb" in mig_profiles("p5e")


@pytest.mark.parametrize("family,layout,why", [
    ("g5", {"1g.10gb": 7}, "has no MIG"),
    ("p4d", {"1g.10gb": 7}, "at most 4 x 1g.10gb"),
    ("p5", {"1g.5gb": 1}, "no MIG profile 1g.5gb"),
    ("p5", {"3g.40gb": 2, "1g.10gb": 1}, "7/7 compute and 9/8 memory"),
    ("p5", {"4g.40gb": 1, "2g.20gb": 2}, "8/7 compute"),
])
def test_impossible_mig_layouts(family, layout, why):
    assert any(why in p for p in mig_layout_problems(family, layout)), mig_layout_problems(family, layout)


@pytest.mark.parametrize("family,layout", [
    ("p5", {"1g.10gb": 7}), ("p4de", {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1}),
    ("p4d", {"3g.20gb": 1, "4g.20gb": 1}), ("p5en", {"7g.141gb": 1}),
])
def test_documented_mig_layouts_pass(family, layout):
    assert mig_layout_problems(family, layout) == []


# --------------------------------------------------------------------------- config refusals
_STAGING_SHARED = "        sharing: {mode: time-slicing, replicas: 4}"
_PROD_MIG = "          mig_devices: {1g.10gb: 2, 2g.20gb: 1, 3g.40gb: 1}"


@pytest.mark.parametrize("env,old,new,field,message", [
    ("prod", "        instance_families: [p4de, p5]", "        instance_families: [g6e, p5]",
     "compute.karpenter.gpu_pools.notebooks-mig", "g6e (L40S) has no MIG"),
    ("prod", _PROD_MIG, "          mig_devices: {1g.10gb: 7, 3g.40gb: 1}",
     "compute.karpenter.gpu_pools.notebooks-mig", "10/7 compute"),
    ("prod", "        instance_families: [p4de, p5]", "        instance_families: [p4d, p5]",
     "compute.karpenter.gpu_pools.notebooks-mig", "p4d (A100-SXM4-40GB) has no MIG profile 2g.20gb"),
    ("prod", "        instance_families: [p4de, p5]     #", "        #",
     "compute.karpenter.gpu_pools.notebooks-mig", "sharing.mode mig needs instance_families"),
    ("prod", "    mig_strategy: mixed ", "    mig_strategy: single ",
     "compute", "gpu_pools.notebooks-mig partition GPUs with MIG"),
    ("prod", "          mode: mig\n", "          mode: time-slicing\n          replicas: 2\n",
     "compute.karpenter.gpu_pools.notebooks-mig.sharing", "mig_devices goes with mode mig"),
    ("staging", _STAGING_SHARED, "        sharing: {mode: whole, replicas: 4}",
     "compute.karpenter.gpu_pools.notebooks-shared.sharing", "replicas goes with mode time-slicing"),
    ("staging", "      consolidate_after: 10m\n    gpu_pools:",
     "      consolidate_after: 10m\n      sharing: {mode: time-slicing, replicas: 2}\n    gpu_pools:",
     "serving.models[0].gpu_memory_utilization", "vLLM sizes its KV cache from the GPU memory it measures"),
])
def test_impossible_sharing_is_refused(env_dir, env, old, new, field, message):
    edit(env_dir / f"{env}.yaml", old, new)
    problems = load_problems(env_dir, env)
    assert any(f": {field}: " in p and message in p for p in problems), problems


def test_pool_names_of_the_fixed_pools_are_refused(env_dir):
    edit(env_dir / "staging.yaml", "      notebooks-shared:\n", "      gpu:\n")
    assert any("gpu_pools names taken by the default and gpu NodePools: gpu" in p for p in load_problems(env_dir, "staging"))


# --------------------------------------------------------------------------- NodePools and placement
def test_shared_pools_label_and_taint_their_nodes(envs):
    prod, staging = node_pools.build(envs["prod"]), node_pools.build(envs["staging"])
    mig = find(prod, "NodePool", "notebooks-mig")["spec"]["template"]
    assert mig["metadata"]["labels"] == {"nvidia.com/mig.config": "notebooks-mig",
                                         "platform.mlops.io/node-pool": "notebooks-mig"}
    assert {"key": "platform.mlops.io/gpu-sharing", "value": "mig", "effect": "NoSchedule"} in mig["spec"]["taints"]
    ts = find(staging, "NodePool", "notebooks-shared")["spec"]["template"]
    assert ts["metadata"]["labels"]["nvidia.com/device-plugin.config"] == "notebooks-shared"
    whole = find(prod, "NodePool", "gpu")["spec"]["template"]
    assert whole["metadata"]["labels"] == {"platform.mlops.io/node-pool": "gpu"}
    assert [t["key"] for t in whole["spec"]["taints"]] == ["nvidia.com/gpu"]
    assert [n for n, _ in node_pools.gpu_pools(envs["dev"])] == ["gpu"]


def test_placement_tolerates_exactly_its_pool(envs):
    pools = {o["metadata"]["name"]: o for o in node_pools.build(envs["prod"]) if o["kind"] == "NodePool"}
    places = gpu_placements(envs["prod"])
    assert places["notebooks-mig"].resources == ("nvidia.com/mig-1g.10gb", "nvidia.com/mig-2g.20gb",
                                                  "nvidia.com/mig-3g.40gb")
    for name, place in places.items():
        for other, pool in pools.items():
            taints = pool["spec"]["template"]["spec"].get("taints") or []
            ok = all(tolerates(list(place.tolerations), t) for t in taints)
            shared = any(t["key"] == "platform.mlops.io/gpu-sharing" for t in taints)
            # whole-GPU pods never tolerate a shared pool; a pod tolerates its own pool's taints
            assert ok == (other == name or not shared), (name, other)
        assert dict(place.node_selector) == {"platform.mlops.io/node-pool": name}


@pytest.mark.parametrize("env,pool,profile,count,message", [
    ("prod", "notebooks", None, 1, "not a GPU pool of this env"),
    ("prod", "notebooks-mig", None, 1, "ask for a slice (mig_profile: one of 1g.10gb, 2g.20gb, 3g.40gb)"),
    ("prod", "notebooks-mig", "1g.20gb", 1, "which pool notebooks-mig does not offer"),
    ("prod", "gpu", "1g.10gb", 1, "has whole GPUs, no MIG"),
    ("prod", "notebooks-mig", "3g.40gb", 9, "has at most 8 (8 GPUs x 1)"),
    ("staging", "notebooks-shared", None, 2, "refuses more than one"),
])
def test_gpu_asks_no_pool_offers_are_refused(envs, env, pool, profile, count, message):
    problems = gpu_ask_problems(envs[env], ("x", 0, "gpus"), "profile x", pool, profile, count)
    assert any(message in m for _, m in problems), problems


def test_gpu_asks_a_pool_offers_pass(envs):
    assert gpu_ask_problems(envs["prod"], ("x", 0, "gpus"), "x", "notebooks-mig", "1g.10gb", 2) == []
    assert gpu_ask_problems(envs["staging"], ("x", 0, "gpus"), "x", "notebooks-shared", None, 1) == []
    assert gpu_ask_problems(envs["dev"], ("x", 0, "gpus"), "x", "gpu", None, 1) == []


# --------------------------------------------------------------------------- the rendered chart
def test_rendered_cluster_policy_wires_the_mig_manager_config(rendered):
    r = rendered["prod"]
    spec = _doc(r, "gpu-operator", "ClusterPolicy", "cluster-policy")["spec"]
    assert spec["mig"]["strategy"] == "mixed"
    assert spec["migManager"]["enabled"] is True
    assert spec["migManager"]["config"] == {"name": "mig-parted-config", "default": "all-disabled"}
    cm = _doc(r, "gpu-operator", "ConfigMap", "mig-parted-config")
    configs = yaml.safe_load(cm["data"]["config.yaml"])["mig-configs"]
    assert configs == {"all-disabled": [{"devices": "all", "mig-enabled": False}],
                       "notebooks-mig": [{"devices": "all", "mig-enabled": True,
                                          "mig-devices": {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1}}]}
    assert "config" not in spec["devicePlugin"]  # no time-sliced pool in prod


def test_rendered_cluster_policy_wires_the_device_plugin_config(rendered):
    r = rendered["staging"]
    spec = _doc(r, "gpu-operator", "ClusterPolicy", "cluster-policy")["spec"]
    assert spec["devicePlugin"]["config"] == {"name": "device-plugin-config", "default": "default"}
    data = _doc(r, "gpu-operator", "ConfigMap", "device-plugin-config")["data"]
    assert sorted(data) == ["default", "notebooks-shared"]
    assert yaml.safe_load(data["default"]) == {"version": "v1", "flags": {"migStrategy": "none"}}
    ts = yaml.safe_load(data["notebooks-shared"])["sharing"]["timeSlicing"]
    assert ts == {"renameByDefault": False, "failRequestsGreaterThanOne": True,
                  "resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}


def test_whole_gpu_env_keeps_the_chart_defaults(rendered):
    spec = _doc(rendered["dev"], "gpu-operator", "ClusterPolicy", "cluster-policy")["spec"]
    assert "config" not in spec["devicePlugin"] and spec["migManager"]["config"].get("name") is None
