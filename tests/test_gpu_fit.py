"""The rendered-side GPU fit per resource kind (issue 17 part 2): `kit/pods` counts MIG slices as
their own resources, and `kit/nodepools` fits a pod asking for a slice only to a pool whose
NodeOverlays (what Karpenter simulates an instance with) advertise that slice, as many as one node
has; a pool partitioned by MIG runs no whole-GPU pod. Pools and overlays are the node-pools unit's
real objects for the envs."""
from decimal import Decimal

import pytest

from mlplatform.components import node_pools
from mlplatform.components.node_pools import gpu_placements
from mlplatform.kit.nodepools import node_pools as kit_pools, unschedulable
from mlplatform.kit.pods import pod_gpu_resources, pod_gpus


def _pod(resources: dict, env=None, pool: str | None = None) -> dict:
    spec: dict = {"containers": [{"name": "main", "resources": {"limits": dict(resources)}}]}
    if pool is not None:
        p = gpu_placements(env)[pool]
        spec["tolerations"] = [dict(t) for t in p.tolerations]
        spec["nodeSelector"] = dict(p.node_selector)
    return spec


def _judge(env, spec):
    pools = kit_pools({"node-pools": node_pools.build(env)}, env.name)
    return unschedulable(env.name, pools, [("w", "Deployment", "spec.template.spec", spec)])


def test_pod_gpu_resources_keep_each_kind_apart():
    spec = {"containers": [{"name": "a", "resources": {"limits": {"nvidia.com/mig-1g.10gb": "2", "cpu": "1"}}},
                           {"name": "b", "resources": {"requests": {"nvidia.com/mig-1g.10gb": "1"},
                                                       "limits": {"nvidia.com/mig-1g.10gb": "1"}}}],
            "initContainers": [{"name": "i", "resources": {"limits": {"nvidia.com/mig-3g.40gb": "1"}}}]}
    assert pod_gpu_resources(spec) == {"nvidia.com/mig-1g.10gb": Decimal(3), "nvidia.com/mig-3g.40gb": Decimal(1)}
    assert pod_gpus(spec) == 0  # a slice is not an nvidia.com/gpu
    assert pod_gpu_resources({"containers": [{"name": "a"}]}) == {}


def test_the_mig_pool_fits_a_pod_asking_for_a_slice_it_offers(envs):
    env = envs["prod"]
    assert _judge(env, _pod({"nvidia.com/mig-1g.10gb": "1"}, env, "notebooks-mig")) == []
    # 8 GPUs (p5.48xlarge) x 2 instances of 1g.10gb per GPU
    assert _judge(env, _pod({"nvidia.com/mig-1g.10gb": "16"}, env, "notebooks-mig")) == []


@pytest.mark.parametrize("resources,pool,why", [
    ({"nvidia.com/mig-1g.5gb": "1"}, "notebooks-mig",
     "NodePool notebooks-mig: its nodes advertise no nvidia.com/mig-1g.5gb (its MIG slices: nvidia.com/mig-1g.10gb, "
     "nvidia.com/mig-2g.20gb, nvidia.com/mig-3g.40gb)"),
    ({"nvidia.com/mig-1g.10gb": "17"}, "notebooks-mig",
     "NodePool notebooks-mig: one pod needs 17 nvidia.com/mig-1g.10gb but a node of the pool advertises at most 16"),
    ({"nvidia.com/gpu": "1"}, "notebooks-mig",
     "NodePool notebooks-mig: its GPUs are partitioned into MIG slices (nvidia.com/mig-1g.10gb, nvidia.com/mig-2g.20gb, "
     "nvidia.com/mig-3g.40gb): its nodes advertise no nvidia.com/gpu"),
    ({"nvidia.com/mig-1g.10gb": "1"}, "gpu",
     "NodePool gpu: its nodes advertise no nvidia.com/mig-1g.10gb (no NodeOverlay gives it MIG slices)"),
])
def test_a_slice_pod_no_pool_advertises_is_refused(envs, resources, pool, why):
    env = envs["prod"]
    problems = _judge(env, _pod(resources, env, pool))
    assert len(problems) == 1 and why in problems[0], problems
    assert problems[0].startswith(f"w: spec.template.spec: pod requesting {next(iter(resources.values()))} "
                                  f"{next(iter(resources))} fits no NodePool: ")


def test_a_time_sliced_env_offers_no_slices(envs):
    env = envs["staging"]
    shared = [n for n, p in gpu_placements(env).items() if p.mode == "time-slicing"]
    assert shared
    problems = _judge(env, _pod({"nvidia.com/mig-1g.10gb": "1"}, env, shared[0]))
    assert problems and "its nodes advertise no nvidia.com/mig-1g.10gb (no NodeOverlay gives it MIG slices)" in problems[0]
    assert _judge(env, _pod({"nvidia.com/gpu": "1"}, env, shared[0])) == []
