"""The `karpenter` unit: the controller's chart values (IRSA, interruption queue, system nodes)."""
from mlplatform.components.karpenter import objects as karpenter
from mlplatform.kit import upstream
from mlplatform.validate import charts


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
