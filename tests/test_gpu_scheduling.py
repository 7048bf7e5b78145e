"""The GPU scheduling check (`validate/scheduling.py`): every GPU pod of the rendered env -- in
Deployments or inside custom resources -- fits a NodePool, tolerates its taint and asks for no
more GPUs than a node has; each with a planted case."""
import copy

import pytest

from mlplatform.config.loader import EnvError, load_env
from mlplatform.kit.pods import pod_specs
from mlplatform.validate.scheduling import check_gpu_scheduling


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
