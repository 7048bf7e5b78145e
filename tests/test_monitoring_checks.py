"""The monitoring checks over a whole rendered env (`validate/monitoring.py`): every
ServiceMonitor, PodMonitor and PrometheusRule -- ours and the charts' -- carries the Prometheus
selector labels and finds its Services, pods and ports; each with a planted case."""
import copy
import dataclasses

from conftest import find
from mlplatform.components.airflow import names as af_names
from mlplatform.components.gpu_operator import objects as gpu_operator
from mlplatform.components.jupyterhub import objects as jupyterhub
from mlplatform.components.karpenter import objects as karpenter
from mlplatform.components.kuberay import operator as ray_operator
from mlplatform.components.monitoring import objects as mon
from mlplatform.components.spark_operator import objects as spark_operator
from mlplatform.kit import monitoring as kit_mon
from mlplatform.kit import selectors
from mlplatform.validate import monitoring as vmon


# --------------------------------------------------------------------------- scrape wiring
def test_every_monitor_we_emit_carries_the_selector_labels(rendered):
    seen = set()
    for r in rendered.values():
        for comp, objs in r.components.items():
            for o in objs:
                if o["kind"] in ("ServiceMonitor", "PodMonitor", "PrometheusRule"):
                    seen.add((comp, o["kind"]))
                    labels = o["metadata"].get("labels") or {}
                    assert kit_mon.SELECTOR_LABELS.items() <= labels.items(), (comp, o["metadata"]["name"])
    assert {("jupyterhub", "ServiceMonitor"), ("airflow", "ServiceMonitor"), ("kuberay", "PodMonitor")} <= seen


def test_chart_monitors_carry_the_selector_labels(envs):
    env = envs["prod"]
    sel = kit_mon.SELECTOR_LABELS
    assert gpu_operator.values(env)["dcgmExporter"]["serviceMonitor"]["additionalLabels"] == sel
    assert ray_operator.values(env)["metrics"]["serviceMonitor"]["additionalLabels"] == sel
    assert spark_operator.values(env)["prometheus"]["podMonitor"]["labels"] == sel
    k = karpenter.values(env)["serviceMonitor"]
    assert k == {"enabled": True, "additionalLabels": sel}
    assert "ServiceMonitor.monitoring.coreos.com" in karpenter.helm(env).requires_crds
    v = mon.values(env)
    assert v["kube-state-metrics"]["releaseLabel"] is True and v["prometheus-node-exporter"]["releaseLabel"] is True
    from mlplatform.components.gpu_operator.config import GpuConfig
    from mlplatform.components.kuberay.config import RayConfig
    from mlplatform.components.spark_operator.config import SparkConfig
    for field, model in (("service_monitor_labels", GpuConfig), ("pod_monitor_labels", SparkConfig),
                         ("service_monitor_labels", RayConfig)):
        assert field not in model.model_fields, f"{model.__name__}.{field}: the labels are kit/monitoring.py's"


# --------------------------------------------------------------------------- cross-checks
def test_committed_envs_pass_the_monitoring_checks(rendered):
    for r in rendered.values():
        assert vmon.check(r) == []


def _mutated(r, comp, kind, name, fn):
    r2 = dataclasses.replace(r, components=copy.deepcopy(r.components))
    fn(find(r2.components[comp], kind, name))
    return r2


def test_a_monitor_without_the_selector_labels_is_reported(rendered):
    r = rendered["staging"]
    r2 = _mutated(r, "airflow", "ServiceMonitor", af_names.STATSD_MONITOR,
                  lambda o: o["metadata"]["labels"].pop("release"))
    (msg,) = vmon.check(r2)
    assert msg.startswith(f"staging/airflow/ServiceMonitor/{af_names.STATSD_MONITOR}: its labels ")
    assert msg.endswith("don't satisfy Prometheus's serviceMonitorSelector {'matchLabels': {'release': "
                        "'kube-prometheus-stack'}} (kube-prometheus-stack values): Prometheus ignores it")


def test_the_selector_is_read_from_the_values_not_the_constant(rendered):
    r = rendered["staging"]
    rel = r.helm[mon.NAME]
    values = copy.deepcopy(rel.values)
    values["prometheus"]["prometheusSpec"]["podMonitorSelector"] = {"matchLabels": {"prometheus": "platform"}}
    r2 = dataclasses.replace(r, helm={**r.helm, mon.NAME: dataclasses.replace(rel, values=values)})
    found = vmon.check(r2)
    pms = [o for o in r.components["kuberay"] if o["kind"] == "PodMonitor"]
    assert pms and len(found) == len(pms) and all("podMonitorSelector" in p for p in found)
    values["prometheus"]["prometheusSpec"]["ruleNamespaceSelector"] = {"matchLabels": {"monitored": "yes"}}
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "x", "namespace": "monitoring", "labels": dict(kit_mon.SELECTOR_LABELS)},
            "spec": {"groups": []}}
    r3 = dataclasses.replace(r2, components={**r2.components, "prometheus-rules": [rule]})
    assert "staging/prometheus-rules/PrometheusRule/x: namespace monitoring is outside Prometheus's " \
           "ruleNamespaceSelector {'matchLabels': {'monitored': 'yes'}}" in vmon.check(r3)


def test_a_service_monitor_must_find_one_of_our_services_and_its_port(rendered):
    r = rendered["staging"]
    (vsm,) = [o for o in r.components["vllm"] if o["kind"] == "ServiceMonitor"][:1]
    name = vsm["metadata"]["name"]
    r2 = _mutated(r, "vllm", "ServiceMonitor", name, lambda o: o["spec"]["endpoints"][0].update(port="metrics"))
    assert [p for p in vmon.check(r2)] == [
        f"staging/vllm/ServiceMonitor/{name}: endpoints[0].port 'metrics' is not a port of the selected Services (http)"]
    r3 = _mutated(r, "vllm", "ServiceMonitor", name,
                  lambda o: o["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/instance": "nope"}))
    (msg,) = vmon.check(r3)
    assert msg.startswith(f"staging/vllm/ServiceMonitor/{name}: no Service in ") and "would scrape nothing" in msg


def test_chart_made_services_are_skipped_only_for_a_chart_release(rendered):
    r = rendered["staging"]
    r2 = _mutated(r, "jupyterhub", "ServiceMonitor", jupyterhub.HUB_MONITOR,
                  lambda o: o["spec"]["selector"]["matchLabels"].update(release="not-a-release"))
    assert vmon.check(r2) == [
        f"staging/jupyterhub/ServiceMonitor/{jupyterhub.HUB_MONITOR}: no Service in jupyterhub carries its selector "
        "labels {'app': 'jupyterhub', 'component': 'hub', 'release': 'not-a-release'}: Prometheus would scrape nothing"]


def test_a_pod_monitor_must_find_pods_and_their_port(rendered):
    r = rendered["staging"]
    name = next(o["metadata"]["name"] for o in r.components["kuberay"] if o["kind"] == "PodMonitor")
    r2 = _mutated(r, "kuberay", "PodMonitor", name, lambda o: o["spec"]["podMetricsEndpoints"][0].update(port="prom"))
    (msg,) = vmon.check(r2)
    assert msg.startswith(f"staging/kuberay/PodMonitor/{name}: podMetricsEndpoints[0].port 'prom' is no container port")
    r3 = _mutated(r, "kuberay", "PodMonitor", name,
                  lambda o: o["spec"]["selector"]["matchLabels"].update({"ray.io/is-ray-node": "no"}))
    (msg,) = vmon.check(r3)
    assert "no pod template in" in msg


def test_label_selector_semantics():
    labels = {"a": "1", "b": "2"}
    assert selectors.matches({}, labels) and selectors.matches({"matchLabels": {"a": "1"}}, labels)
    assert not selectors.matches({"matchLabels": {"a": "2"}}, labels)
    assert selectors.matches({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "3"]}]}, labels)
    assert not selectors.matches({"matchExpressions": [{"key": "b", "operator": "NotIn", "values": ["2"]}]}, labels)
    assert selectors.matches({"matchExpressions": [{"key": "c", "operator": "DoesNotExist"}]}, labels)
    assert not selectors.matches({"matchExpressions": [{"key": "c", "operator": "Exists"}]}, labels)


def test_a_volume_size_is_not_judged_as_a_container_size():
    from mlplatform.validate.charts import check_resources
    assert check_resources({"storageSpec": {"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": "50Gi"}}}}}}) == []
    assert check_resources({"prometheusSpec": {"resources": {"requests": {"cpu": "1"}}}}) != []
