"""The `gpu-operator` unit: the NVIDIA GPU operator's chart values, and no release (nor GPU pool)
when the env turns it off."""
from mlplatform.components.gpu_operator import objects as gpu_operator
from mlplatform.components.gpu_operator.config import GpuConfig
from mlplatform.components.node_pools import objects as node_pools
from mlplatform.config.models import ComputeConfig
from mlplatform.validate import charts
from mlplatform.kit.pods import tolerates


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
