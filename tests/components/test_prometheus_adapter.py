"""The `prometheus-adapter` unit: one custom-metrics rule per contributed pod metric (today each
served model's vLLM queue), per pod and never summed per namespace, and what the pinned chart makes
of the values (the real helm render of the synth)."""
import pytest
import yaml

from conftest import ENVS
from mlplatform.components.prometheus_adapter import objects as prometheus_adapter
from mlplatform.kit.monitoring import PodMetric
from mlplatform.validate.charts import check_resources, check_values


def _doc(r, kind, name):
    (d,) = [d.obj for d in r.renders.docs[prometheus_adapter.NAME]
            if d.obj["kind"] == kind and d.obj["metadata"]["name"] == name]
    return d


def test_a_rule_serves_one_series_per_pod_under_the_hpas_metric_name():
    m = PodMetric(series="app:queue_depth", matchers=(("namespace", "team-a"), ("model_name", "m1")), name="queue_m1")
    rule = prometheus_adapter.adapter_rule(m)
    assert rule["seriesQuery"] == 'app:queue_depth{namespace="team-a",model_name="m1",pod!=""}'
    assert rule["name"] == {"matches": r"^app:queue_depth$", "as": "queue_m1"}
    assert rule["resources"]["overrides"] == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    assert rule["metricsQuery"] == 'sum by (<<.GroupBy>>) (app:queue_depth{namespace="team-a",model_name="m1",<<.LabelMatchers>>})'


def test_the_adapter_values_pass_the_chart_and_reach_prometheus_through_the_operators_service(envs):
    for env in envs.values():
        v = prometheus_adapter.values(env)
        assert check_values("prometheus-adapter", v) == []
        assert v["prometheus"] == {"url": "http://prometheus-operated.monitoring.svc", "port": 9090}


def test_values_serve_exactly_the_contributed_metrics_and_scale_with_the_config(envs):
    for env in envs.values():
        v = prometheus_adapter.values(env)
        assert check_resources(v) == []
        assert v["rules"]["default"] is False and v["rules"]["external"] == []
        assert [r["name"]["as"] for r in v["rules"]["custom"]] == [r["name"]["as"] for r in prometheus_adapter.rules(env)]
        if env.serving.enabled:
            assert len(v["rules"]["custom"]) == len(env.serving.models) > 0
        n = env.monitoring.adapter_replicas
        assert v["replicas"] == n and v["podDisruptionBudget"]["enabled"] is (n > 1)
    off = envs["dev"].model_copy(update={"monitoring": envs["dev"].monitoring.model_copy(update={"enabled": False})})
    assert prometheus_adapter.helm(off) is None


@pytest.mark.parametrize("name", ENVS)
def test_the_chart_renders_our_rules_and_queries_the_operators_prometheus(rendered, name):
    r = rendered[name]
    config = yaml.safe_load(_doc(r, "ConfigMap", "prometheus-adapter")["data"]["config.yaml"])
    assert config == {"rules": prometheus_adapter.rules(r.env)}, "the chart's default and external rules are off"
    (c,) = _doc(r, "Deployment", "prometheus-adapter")["spec"]["template"]["spec"]["containers"]
    assert "--prometheus-url=http://prometheus-operated.monitoring.svc:9090" in c["args"]
    assert f"--metrics-relist-interval={prometheus_adapter.METRICS_RELIST}" in c["args"]
    api = _doc(r, "APIService", "v1beta1.custom.metrics.k8s.io")
    assert api["spec"]["service"]["name"] == "prometheus-adapter"
