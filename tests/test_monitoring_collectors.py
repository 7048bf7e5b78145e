"""The monitoring collectors (kit/rules.py, kit/dashboards.py, kit/metrics.py and the
`prometheus-rules` / `prometheus-adapter` units) emit what registered units contribute, without
naming a unit: two fake units stand in for the real registry. Rules get the selector labels and a
runbook URL stamped on every alert; an alert the on-call could not act on (no severity, summary,
description or runbook line) is refused. Against the real registry: each area ships with the unit
whose software emits its metrics."""
from __future__ import annotations

import ast
import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlplatform import components
from mlplatform.components.prometheus_adapter import objects as adapter
from mlplatform.components.prometheus_rules import objects as prometheus_rules
from mlplatform.kit import component, dashboards, metrics, monitoring, rules
from mlplatform.kit.component import Component, no_objects
from mlplatform.kit.dashboards import Dashboard, Panel, Query
from mlplatform.kit.metrics import Exporter, Metric
from mlplatform.kit.monitoring import PodMetric
from mlplatform.kit.rules import Alert, Record, RuleArea

PKG = Path(components.__file__).parent
ENV = SimpleNamespace(
    name="test", gitops=SimpleNamespace(repo_url="git@github.com:example-org/gitops.git", revision="v7"),
    namespaces=SimpleNamespace(monitoring_namespace="watch"))


def _alert(name: str, **change) -> Alert:
    a = Alert(name, "up == 0", "warning", f"{name} summary", f"{name} description",
              "what it means for whoever is paged", "what to look at first when it fires",
              "what to do to make it stop firing", for_="5m", labels={"team": "a"})
    return replace(a, **change)


ALPHA = Component(
    "alpha", "a fake exporter with recording rules, an alert, a dashboard, a custom metric and facts",
    no_objects,
    rules=lambda env: [RuleArea("alpha", [Record("job:alpha_up:sum", "sum by (job) (alpha_up)")],
                                [_alert("AlphaDown")])],
    dashboards=lambda env: [Dashboard("alpha", "Alpha", "the alpha board",
                                      (Panel("Up", (Query("sum(alpha_up)", "up"),)),))],
    custom_metrics=lambda env: [PodMetric("alpha_queue", "alpha_waiting", (("namespace", "a"), ("model", "m")))],
    metrics=(Exporter("alpha-exporter", "", "", "1.0", ("job", "pod")),
             Metric("alpha_up", "alpha-exporter", ("shard",), "fake", True),
             Metric("up", "alpha-exporter", (), "fake", True, every_target=True)),
)
BETA = Component(
    "beta", "a fake exporter with alerts only", no_objects,
    rules=lambda env: [RuleArea("beta", (), [_alert("BetaSlow"), _alert("BetaDown", severity="critical")])],
    dashboards=lambda env: [Dashboard("beta", "Beta", "the beta board", (Panel("Slow", (Query("beta_slow"),)),))],
    metrics=(Exporter("beta-exporter", "", "", "1.0", ("instance",)),),
)
QUIET = Component("quiet", "contributes nothing", no_objects)


@pytest.fixture
def fake_units():
    """The registry replaced by the fake units (restored afterwards)."""
    boot = component.contributors()[len(component.units()):]

    def use(*units):
        component.register(units, boot)
    with component.registered((ALPHA, QUIET, BETA)):
        yield use


# ------------------------------------------------------------------------------ rules
def test_rules_collector_emits_each_contributed_area_in_registry_order(fake_units):
    objs = prometheus_rules.build(SimpleNamespace(**vars(ENV), monitoring=SimpleNamespace(enabled=True)))
    assert [o["metadata"]["name"] for o in objs] == ["ml-platform-alpha", "ml-platform-beta"]
    for o in objs:
        assert o["kind"] == "PrometheusRule" and o["metadata"]["namespace"] == "watch"
        assert monitoring.SELECTOR_LABELS.items() <= o["metadata"]["labels"].items()
        assert o["metadata"]["labels"]["platform.mlops.io/component"] == prometheus_rules.NAME
    alpha, beta = (o["spec"]["groups"] for o in objs)
    assert [g["name"] for g in alpha] == ["ml-platform.alpha.recording", "ml-platform.alpha.alerts"]
    assert alpha[0]["rules"] == [{"record": "job:alpha_up:sum", "expr": "sum by (job) (alpha_up)"}]
    assert [g["name"] for g in beta] == ["ml-platform.beta.alerts"]
    assert [r["alert"] for r in beta[0]["rules"]] == ["BetaSlow", "BetaDown"]
    assert beta[0]["rules"][1]["labels"] == {"severity": "critical", "team": "a"}


def test_every_contributed_alert_gets_the_runbook_url_and_the_runbook_lines(fake_units):
    alerts = [r for o in rules.build_prometheus_rules(ENV, "collector") for g in o["spec"]["groups"] for r in g["rules"]
              if "alert" in r]
    assert len(alerts) == 3
    url = "https://github.com/example-org/gitops/blob/v7/README.md#alerts-and-runbooks"
    for a in alerts:
        assert a["annotations"]["runbook_url"] == url
        assert a["annotations"]["runbook"].split("\n")[0] == "Means: what it means for whoever is paged"
        assert a["for"] == "5m"


@pytest.mark.parametrize("change, says", [
    ({"severity": ""}, "severity '' is not one of critical, warning, info"),
    ({"severity": "page"}, "severity 'page' is not one of"),
    ({"summary": ""}, "no summary"),
    ({"description": "  "}, "no description"),
    ({"do": ""}, "no do"),
])
def test_an_alert_the_on_call_cannot_act_on_is_refused(fake_units, change, says):
    broken = replace(BETA, rules=lambda env: [RuleArea("beta", (), [_alert("BetaSlow", **change)])])
    fake_units(ALPHA, broken)
    with pytest.raises(ValueError) as e:
        rules.build_prometheus_rules(ENV, "collector")
    assert "test/collector: rule area 'beta', alert 'BetaSlow'" in str(e.value) and says in str(e.value)


def test_an_area_contributed_twice_is_refused(fake_units):
    fake_units(ALPHA, replace(BETA, rules=ALPHA.rules))
    with pytest.raises(ValueError, match="rule areas contributed twice: alpha"):
        rules.build_prometheus_rules(ENV, "collector")


def test_nothing_without_monitoring(fake_units):
    assert prometheus_rules.build(SimpleNamespace(**vars(ENV), monitoring=SimpleNamespace(enabled=False))) == []


# ------------------------------------------------------------------------------ dashboards
def test_dashboards_collector_ships_each_contribution_as_a_sidecar_configmap(fake_units):
    cms = dashboards.build_configmaps(ENV, "watch", "collector")
    assert [cm["metadata"]["name"] for cm in cms] == ["dashboard-alpha", "dashboard-beta"]
    for cm, name in zip(cms, ("alpha", "beta")):
        assert cm["metadata"]["labels"][dashboards.SIDECAR_LABEL] == dashboards.SIDECAR_LABEL_VALUE
        model = json.loads(cm["data"][f"{name}.json"])
        assert model["uid"] == dashboards.uid(name)
    fake_units(ALPHA, replace(BETA, dashboards=ALPHA.dashboards))
    with pytest.raises(ValueError, match="dashboards contributed twice"):
        dashboards.build_configmaps(ENV, "watch", "collector")


# ------------------------------------------------------------------------------ custom metrics
def test_the_adapter_serves_each_contributed_custom_metric_per_pod(fake_units):
    assert adapter.rules(ENV) == [{
        "seriesQuery": 'alpha_waiting{namespace="a",model="m",pod!=""}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": "^alpha_waiting$", "as": "alpha_queue"},
        "metricsQuery": 'sum by (<<.GroupBy>>) (alpha_waiting{namespace="a",model="m",<<.LabelMatchers>>})',
    }]


# ------------------------------------------------------------------------------ metric facts
def test_metric_facts_are_collected_from_the_units(fake_units):
    assert metrics.lookup("alpha_up") == (ALPHA.metrics[1], ("shard", "job", "pod"))
    up, labels = metrics.lookup("up")
    assert labels == ("instance", "job", "pod") + ("job", "pod")  # every target's labels, then its own exporter's
    assert metrics.lookup("beta_slow") is None
    assert metrics.collect_facts().owners == {"alpha-exporter": "alpha", "beta-exporter": "beta"}


def test_metric_facts_refuse_a_row_twice_or_a_row_without_its_exporter(fake_units):
    fake_units(ALPHA, replace(BETA, metrics=(ALPHA.metrics[1],)))
    with pytest.raises(ValueError, match="alpha_up is contributed twice"):
        metrics.collect_facts()
    fake_units(replace(BETA, metrics=(ALPHA.metrics[1],)))
    with pytest.raises(ValueError, match="names exporter 'alpha-exporter', which no unit contributes"):
        metrics.collect_facts()


# ------------------------------------------------------------------------------ no collector names a unit
@pytest.mark.parametrize("collector", ["prometheus_rules", "prometheus_adapter"])
def test_collector_units_import_no_other_unit(collector):
    """A collector never names a unit it collects from. It may read a published fact about itself from
    a unit that contributes nothing to any collector (priority-classes: the class its own pods run with)."""
    units = {p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    contributors = {u.name.replace("-", "_") for u in component.units()
                    if u.rules or u.dashboards or u.custom_metrics or u.metrics}
    for path in (PKG / collector).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                named = {node.module} if node.module else {a.name for a in node.names}
                assert not named & (contributors - {collector}), f"{path.name} imports {named & contributors}"
                assert not named & (units - {collector}) - {"priority_classes"}, f"{path.name} imports {named & units}"


# ------------------------------------------------------------------------------ the real registry
def test_each_area_ships_with_the_unit_that_emits_its_metrics(envs):
    env = envs["staging"]
    areas = {a.name: u.name for u in component.units() if u.rules for a in u.rules(env)}
    assert areas == {"gpu": "gpu-operator", "vllm": "vllm", "jupyterhub": "jupyterhub", "airflow": "airflow",
                     "ray": "kuberay", "karpenter": "karpenter", "workloads": "monitoring"}
    boards = {d.name: u.name for u in component.units() if u.dashboards for d in u.dashboards(env)}
    assert boards == {"gpus": "gpu-operator", "vllm": "vllm", "jupyterhub": "jupyterhub", "airflow": "airflow",
                      "ray": "kuberay", "karpenter": "karpenter"}
    assert [u.name for u in component.units() if u.custom_metrics] == ["vllm"]
