"""Workloads ask for shared GPUs (issue 17 part 2): notebook profiles, Ray GPU worker groups,
training runtimes and served models name a GPU pool and, on a MIG pool, a MIG profile; their pods
ask the pool's resource and tolerate and select exactly that pool. The notebook profiles are
judged by the real KubeSpawner; the refusals are planted in copies of the env files."""
import pytest

from conftest import edit, find, load_problems
from mlplatform.components.jupyterhub import objects as jh
from mlplatform.components.kubeflow_trainer import objects as trainer
from mlplatform.components.kuberay import objects as kuberay
from mlplatform.components.node_pools import gpu_asks
from mlplatform.components.node_pools import objects as node_pools
from mlplatform.components.vllm import objects as vllm
from mlplatform.config.loader import load_env
from mlplatform.kit.pods import tolerates
from hub import no_cluster  # noqa: F401  (autouse: no cluster)
from test_jupyterhub import _spawn

MIG = "nvidia.com/mig-1g.10gb"


def _pool_taints(env, pool):
    return find(node_pools.build(env), "NodePool", pool)["spec"]["template"]["spec"]["taints"]


# --------------------------------------------------------------------------- notebooks (real KubeSpawner)
def test_mig_notebook_profile_spawns_on_the_mig_pool_with_its_slice(envs):
    env = envs["prod"]
    pod = _spawn(env, ["data-scientist"], "gpu-mig-small")
    c = pod.spec.containers[0]
    assert c.resources.limits[MIG] == "1" and c.resources.requests[MIG] == "1"
    assert "nvidia.com/gpu" not in c.resources.limits  # a MIG pool advertises no whole GPUs
    assert pod.spec.node_selector == {"platform.mlops.io/node-pool": "notebooks-mig"}
    tols = [t.to_dict() if hasattr(t, "to_dict") else t for t in pod.spec.tolerations]
    tols = [{k: v for k, v in t.items() if v is not None and k != "toleration_seconds"} for t in tols]
    assert all(tolerates(tols, t) for t in _pool_taints(env, "notebooks-mig"))
    # ...and nothing lets it onto the whole-GPU pool by accident: that pool has no such resource
    ours = jh.pod_spec(env, next(p for p in env.jupyterhub.profiles if p.slug == "gpu-mig-small"))
    assert ours["nodeSelector"] == pod.spec.node_selector
    assert ours["containers"][0]["resources"]["limits"][MIG] == c.resources.limits[MIG]


def test_time_sliced_notebook_profile_spawns_on_the_shared_pool(envs):
    env = envs["staging"]
    pod = _spawn(env, ["data-scientist"], "gpu-shared")
    c = pod.spec.containers[0]
    assert c.resources.limits["nvidia.com/gpu"] == "1"  # time-slicing keeps the name Karpenter knows
    assert pod.spec.node_selector == {"platform.mlops.io/node-pool": "notebooks-shared"}
    tols = {(t.key, t.value) for t in pod.spec.tolerations}
    assert ("platform.mlops.io/gpu-sharing", "time-slicing") in tols
    # the whole-GPU profile does not tolerate the shared pool's taint
    whole = _spawn(env, ["data-scientist"], "gpu-1")
    assert ("platform.mlops.io/gpu-sharing", "time-slicing") not in {(t.key, t.value) for t in whole.spec.tolerations}
    assert whole.spec.node_selector == {"platform.mlops.io/node-pool": "gpu"}


def test_every_gpu_ask_of_the_envs_is_listed(envs):
    prod = {(a.kind, a.pool, a.resource) for a in gpu_asks(envs["prod"])}
    assert ("notebook", "notebooks-mig", MIG) in prod and ("vllm", "gpu", "nvidia.com/gpu") in prod
    staging = {(a.kind, a.pool, a.resource) for a in gpu_asks(envs["staging"])}
    assert ("notebook", "notebooks-shared", "nvidia.com/gpu") in staging


# --------------------------------------------------------------------------- Ray, runtimes, models
def test_ray_trainer_and_vllm_pods_land_on_the_pool_they_name(env_dir):
    edit(env_dir / "prod.yaml", "      gpu_workers: {replicas: 0, min_replicas: 0, max_replicas: 4, gpus: 1, shared_memory: 16Gi,",
          "      gpu_workers: {replicas: 0, min_replicas: 0, max_replicas: 4, gpus: 1, shared_memory: 16Gi,\n"
          "                    gpu_pool: notebooks-mig, mig_profile: 3g.40gb,")
    env = load_env("prod", env_dir)
    rc = find(kuberay.build(env), "RayCluster", "research")
    group = rc["spec"]["workerGroupSpecs"][-1]["template"]["spec"]
    assert group["containers"][0]["resources"]["limits"]["nvidia.com/mig-3g.40gb"] == "1"
    assert group["nodeSelector"] == {"platform.mlops.io/node-pool": "notebooks-mig"}
    assert any(t.get("key") == "platform.mlops.io/gpu-sharing" for t in group["tolerations"])
    # the other teams' groups stay on the whole-GPU pool
    other = find(kuberay.build(env), "RayCluster", "vision")["spec"]["workerGroupSpecs"][-1]["template"]["spec"]
    assert other["nodeSelector"] == {"platform.mlops.io/node-pool": "gpu"}
    assert other["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    # runtimes and models: whole GPUs on the gpu pool, selected explicitly
    for r in env.trainer.runtimes:
        if r.gpus_per_node:
            spec = trainer.pod_spec(env, r)
            assert spec["nodeSelector"] == {"platform.mlops.io/node-pool": "gpu"}
            assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == str(r.gpus_per_node)
    for m in env.serving.models:
        assert vllm.pod_spec(env, m)["nodeSelector"] == {"platform.mlops.io/node-pool": "gpu"}


def test_a_served_model_on_a_mig_slice(env_dir):
    text = (env_dir / "prod.yaml").read_text()
    first = text.index("serving:")
    name_at = text.index("    - name: ", first)
    edit(env_dir / "prod.yaml", text[name_at:text.index("\n", name_at) + 1],
          text[name_at:text.index("\n", name_at) + 1] + "      gpu_pool: notebooks-mig\n      mig_profile: 3g.40gb\n")
    # its team's quota must hold the slices (6 replicas + a surge one): test_gpu_quotas.py
    edit(env_dir / "prod.yaml", "gpus: 24, pods: 500, storage: 5Ti}", "gpus: 24, pods: 500, storage: 5Ti, mig_slices: {3g.40gb: 7}}")
    env = load_env("prod", env_dir)
    m = env.serving.models[0]
    assert m.min_gpu_memory_gib <= 40
    spec = vllm.pod_spec(env, m)
    assert spec["containers"][0]["resources"]["limits"]["nvidia.com/mig-3g.40gb"] == "1"
    assert spec["nodeSelector"] == {"platform.mlops.io/node-pool": "notebooks-mig"}


# --------------------------------------------------------------------------- refusals
_PROD_MIG_PROFILE = "gpu_pool: notebooks-mig, mig_profile: 1g.10gb,"
_STAGING_SHARED = "       gpu_pool: notebooks-shared, required_roles"


@pytest.mark.parametrize("env,old,new,field,message", [
    ("prod", _PROD_MIG_PROFILE, "gpu_pool: notebooks-mig, mig_profile: 1g.20gb,",
     "jupyterhub.profiles[2].mig_profile", "MIG slice 1g.20gb, which pool notebooks-mig does not offer"),
    ("prod", _PROD_MIG_PROFILE, "gpu_pool: notebooks-mig,",
     "jupyterhub.profiles[2].gpu_pool", "ask pool notebooks-mig for whole GPUs"),
    ("prod", _PROD_MIG_PROFILE, "gpu_pool: notebooks, mig_profile: 1g.10gb,",
     "jupyterhub.profiles[2].gpu_pool", "not a GPU pool of this env"),
    ("prod", _PROD_MIG_PROFILE, "mig_profile: 1g.10gb,",
     "jupyterhub.profiles[2].mig_profile", "pool gpu has whole GPUs, no MIG"),
    ("prod", "mem_limit: 16Gi, gpus: 1,\n       gpu_pool: notebooks-mig", "mem_limit: 16Gi, gpus: 0,\n       gpu_pool: notebooks-mig",
     "jupyterhub.profiles[2].mig_profile", "asks for no GPUs"),
    ("staging", "mem_limit: 16Gi, gpus: 1,\n" + _STAGING_SHARED, "mem_limit: 16Gi, gpus: 2,\n" + _STAGING_SHARED,
     "jupyterhub.profiles[3].gpus", "refuses more than one"),
])
def test_impossible_gpu_asks_are_refused(env_dir, env, old, new, field, message):
    edit(env_dir / f"{env}.yaml", old, new)
    problems = load_problems(env_dir, env)
    assert any(f": {field}: " in p and message in p for p in problems), problems


def _first_model_gets(env_dir, env, lines):
    text = (env_dir / f"{env}.yaml").read_text()
    at = text.index("    - name: ", text.index("serving:"))
    line = text[at:text.index("\n", at) + 1]
    edit(env_dir / f"{env}.yaml", line, line + "".join(f"      {x}\n" for x in lines))


def test_vllm_sized_by_memory_on_a_time_sliced_pool_is_refused(env_dir):
    _first_model_gets(env_dir, "staging", ["gpu_pool: notebooks-shared"])
    problems = load_problems(env_dir, "staging")
    assert any(": serving.models[0].gpu_memory_utilization: " in p and "time-sliced pool notebooks-shared" in p
               and "at most 1/4" in p for p in problems), problems


def test_vllm_with_a_memory_share_per_replica_may_time_slice(env_dir):
    edit(env_dir / "staging.yaml", "{mode: time-slicing, replicas: 4}", "{mode: time-slicing, replicas: 2}")
    _first_model_gets(env_dir, "staging", ["gpu_pool: notebooks-shared", "gpu_memory_utilization: 0.6"])
    problems = load_problems(env_dir, "staging")
    assert any("2 replicas per GPU x gpu_memory_utilization 0.6 claim more" in p for p in problems), problems
    edit(env_dir / "staging.yaml", "gpu_memory_utilization: 0.6", "gpu_memory_utilization: 0.45")
    env = load_env("staging", env_dir)
    assert env.serving.models[0].gpu_pool == "notebooks-shared"


def test_vllm_bigger_than_its_mig_slice_is_refused(env_dir):
    _first_model_gets(env_dir, "prod", ["gpu_pool: notebooks-mig", "mig_profile: 1g.10gb"])
    problems = load_problems(env_dir, "prod")
    assert any(": serving.models[0].min_gpu_memory_gib: " in p and "1g.10gb slice has 10 GiB" in p
               for p in problems), problems


def test_nccl_over_several_mig_slices_is_refused(env_dir):
    edit(env_dir / "prod.yaml", "       gpus_per_node: 1, shared_memory: 8Gi,",
          "       gpus_per_node: 2, gpu_pool: notebooks-mig, mig_profile: 3g.40gb, shared_memory: 8Gi,")
    problems = load_problems(env_dir, "prod")
    assert any(": trainer.runtimes[0].gpus_per_node: " in p and "torchrun over NCCL" in p
               and "one MIG device" in p for p in problems), problems


# --------------------------------------------------------------------------- Karpenter sees the slices
def test_node_overlays_give_karpenter_the_mig_slices_per_instance_gpu_count(envs, rendered):
    from mlplatform.components.karpenter import objects as karpenter
    prod = {o["metadata"]["name"]: o for o in node_pools.build(envs["prod"]) if o["kind"] == "NodeOverlay"}
    # notebooks-mig launches p4de.24xlarge (8 A100), p5.48xlarge (8 H100) and p5.4xlarge (1 H100)
    assert sorted(prod) == ["notebooks-mig-1gpu", "notebooks-mig-8gpu"]
    eight = prod["notebooks-mig-8gpu"]["spec"]
    assert eight["capacity"] == {"nvidia.com/mig-1g.10gb": "16", "nvidia.com/mig-2g.20gb": "8",
                                 "nvidia.com/mig-3g.40gb": "8"}
    assert {"key": "karpenter.sh/nodepool", "operator": "In", "values": ["notebooks-mig"]} in eight["requirements"]
    assert prod["notebooks-mig-1gpu"]["spec"]["capacity"]["nvidia.com/mig-1g.10gb"] == "2"
    assert not [o for e in ("dev", "staging") for o in node_pools.build(envs[e]) if o["kind"] == "NodeOverlay"]
    # the feature gate, and the chart really passes it to the controller
    assert karpenter.values(envs["prod"])["settings"]["featureGates"] == {"nodeOverlay": True}
    assert "featureGates" not in karpenter.values(envs["staging"])["settings"]
    dep = next(d.obj for d in rendered["prod"].renders.docs["karpenter"] if d.obj["kind"] == "Deployment")
    gates = next(e["value"] for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]
                 if e["name"] == "FEATURE_GATES")
    assert "NodeOverlay=true" in gates.split(",")
    # Argo CD may sync the cluster-scoped kind
    project = next(o for o in rendered["prod"].bootstrap if o["kind"] == "AppProject")
    assert {"group": "karpenter.sh", "kind": "NodeOverlay"} in project["spec"]["clusterResourceWhitelist"]


def test_node_overlays_are_validated_by_the_crd_of_the_karpenter_chart_archive(rendered):
    import copy

    from mlplatform.validate import validate
    r = copy.copy(rendered["prod"])
    assert ("karpenter.sh", "NodeOverlay") in r.renders.crds  # learnt from the archive's crds/
    assert [p for p in validate(r) if "NodeOverlay" in p] == []
    bad = copy.deepcopy([o for o in r.components["node-pools"] if o["kind"] == "NodeOverlay"][0])
    bad["metadata"]["name"] = "planted"
    bad["spec"]["capacity"]["cpu"] = "8"  # the CRD's CEL rule: extended resources only
    bad["spec"]["weight"] = 0  # schema: minimum 1
    r.components = {**r.components, "node-pools": [*r.components["node-pools"], bad]}
    found = [p for p in validate(r) if "NodeOverlay/planted" in p]
    assert any("invalid resource restricted" in p for p in found), found
    assert any("weight" in p for p in found), found


# --------------------------------------------------------------------------- inventory and envdiff
def test_inventory_and_envdiff_show_each_pools_sharing_and_resource_kinds(rendered):
    from mlplatform import envdiff, inventory
    prod, staging = inventory.markdown(rendered["prod"]), inventory.markdown(rendered["staging"])
    row = next(line for line in prod.splitlines() if line.startswith("| `notebooks-mig` |"))
    assert row.endswith("| MIG per GPU: 2 x `nvidia.com/mig-1g.10gb`, 1 x `nvidia.com/mig-2g.20gb`, "
                        "1 x `nvidia.com/mig-3g.40gb` |"), row
    assert next(line for line in prod.splitlines() if line.startswith("| `gpu` |")).endswith("| whole GPUs |")
    assert "| 1 x `nvidia.com/mig-1g.10gb` |" in next(line for line in prod.splitlines()
                                                     if line.startswith("| `gpu-mig-small` |"))
    assert "| 1 (pool `notebooks-shared`) |" in next(line for line in staging.splitlines()
                                                    if line.startswith("| `gpu-shared` |"))
    rows = {(r.section, r.item): r.values for r in envdiff.rows({n: envdiff.facts(rendered[n]) for n in ("staging", "prod")})}
    assert rows[("gpu", "nodepool notebooks-shared sharing")][0] == "time-sliced: 4 pods per `nvidia.com/gpu`"
    assert rows[("gpu", "nodepool notebooks-mig sharing")][1].startswith("MIG per GPU: 2 x `nvidia.com/mig-1g.10gb`")
