"""Issue 14 item 13: every metric and label a rule, dashboard or adapter query uses is in the
facts table (each unit's rows, collected by kit/metrics.py), checked at synth (validate/metrics.py);
the dashboards that could never show what they claim (JupyterHub active users, Airflow executor,
pool="" series) are fixed."""
import copy
import dataclasses
import json

import pytest

from conftest import find
from mlplatform.components.airflow import monitoring as airflow_mon
from mlplatform.components.airflow import values as af_values
from mlplatform.components.jupyterhub import monitoring as jupyterhub_mon
from mlplatform.kit import dashboards as dash
from mlplatform.kit import metrics, promql, versions
from mlplatform.validate import metrics as vmetrics


def _with_query(r, expr: str):
    """The rendered env with one more panel query on the JupyterHub dashboard ConfigMap."""
    r2 = dataclasses.replace(r, components=copy.deepcopy(r.components))
    cm = find(r2.components["monitoring"], "ConfigMap", dash.configmap_name(jupyterhub_mon.JUPYTERHUB))
    d = json.loads(cm["data"]["jupyterhub.json"])
    d["panels"][0]["targets"].append({"refId": "Z", "expr": expr})
    cm["data"]["jupyterhub.json"] = json.dumps(d)
    return r2


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_every_query_of_every_env_is_in_the_facts_table(rendered, name):
    r = rendered[name]
    qs = list(vmetrics.queries(r))
    kinds = {w.split(": ")[0].split("/")[2] for w, _, _ in qs}
    assert {"PrometheusRule", "ConfigMap"} <= kinds, kinds
    if name != "dev" or any(rel.chart == "prometheus-adapter" for rel in r.helm.values()):
        assert any("seriesQuery" in w for w, _, _ in qs)
    assert vmetrics.check(r) == []


@pytest.mark.parametrize("expr, says", [
    ("max(jupyterhub_daily_active_users)", "metric jupyterhub_daily_active_users is not in the facts table"),
    ('max(jupyterhub_active_users{window="24h"})', "label 'window' of jupyterhub_active_users"),
    ("sum by (executor) (airflow_executor_running_tasks)", "label 'executor': no series of the query has it"),
    ('sum(rate(vllm:gpu_cache_usage_perc[5m]))', "metric vllm:gpu_cache_usage_perc is not in the facts table"),
    ('sum by (le) (rate(jupyterhub_server_spawn_duration_seconds_bucket{status="success"}[5m]))', None),
    ('label_replace(DCGM_FI_DEV_GPU_UTIL, "node", "$1", "Hostname", "(.+)")', None),
    ('avg by (node) (label_replace(DCGM_FI_DEV_GPU_UTIL, "node", "$1", "hostname", "(.+)"))', "label 'hostname'"),
])
def test_a_query_outside_the_table_is_a_synth_problem(rendered, expr, says):
    probs = vmetrics.check(_with_query(rendered["staging"], expr))
    if says is None:
        assert probs == []
    else:
        assert len(probs) == 1 and says in probs[0], probs
        assert probs[0].startswith("staging/monitoring/ConfigMap/dashboard-jupyterhub: jupyterhub.json panel")


def test_a_pin_bump_fails_until_the_rows_are_rechecked(rendered, monkeypatch):
    jh = versions.CHARTS["jupyterhub"]
    monkeypatch.setitem(versions.CHARTS, "jupyterhub", dataclasses.replace(jh, app_version="5.6.0"))
    probs = vmetrics.check(rendered["staging"])
    assert len(probs) == 1 and "jupyterhub: pinned at 5.6.0" in probs[0] and "checked at 5.5.0" in probs[0], probs
    assert "jupyterhub_active_users" in probs[0]


def test_every_exporter_is_checked_at_its_pin_and_every_row_names_its_source():
    assert metrics.stale_pins() == []
    table = metrics.collect_facts()
    for m in table.metrics.values():
        assert m.exporter in table.exporters and m.source
        assert m.verified or "not re-read" in m.source, m.name


def test_the_tokenizer_finds_metrics_and_labels():
    u = promql.uses('sum by (a) (rate(x_total{b="1",c=~"y|z"}[5m])) / on (d) group_left() max(y) > bool 3')
    assert u.metrics == {"x_total", "y"}
    assert u.selector_labels == {("x_total", "b"), ("x_total", "c")}
    assert u.other_labels == {"a", "d"}
    u = promql.uses('sum by (<<.GroupBy>>) (q{n="x",<<.LabelMatchers>>})')
    assert u.metrics == {"q"} and u.other_labels == {"pod"}


# ----------------------------------------------------------------------------- the three dashboards
def test_jupyterhub_active_users_reads_the_gauge_jupyterhub_emits():
    exprs = dash.expressions(jupyterhub_mon.JUPYTERHUB)
    assert 'max(jupyterhub_active_users{period="24h"})' in exprs
    assert not any("daily_active_users" in e for e in exprs)


def test_airflow_executor_panel_does_not_group_by_a_label_a_single_executor_lacks():
    exprs = [e for e in dash.expressions(airflow_mon.AIRFLOW) if "executor" in e]
    assert exprs and all("executor)" not in e and "by (executor" not in e for e in exprs)


def _statsd_map(mappings: list[dict], name: str):
    """statsd-exporter's glob mapping (first match wins; `*` is one dot-free component):
    (metric name, labels) or None when dropped; unmatched names get the default escaping."""
    parts = name.split(".")
    for m in mappings:
        glob = m["match"].split(".")
        if len(glob) != len(parts) or not all(g in ("*", p) for g, p in zip(glob, parts)):
            continue
        if m.get("action") == "drop":
            return None
        stars = [p for g, p in zip(glob, parts) if g == "*"]
        labels = {k: v.replace("$1", stars[0]) if stars else v for k, v in (m.get("labels") or {}).items()}
        return m["name"], labels
    return name.replace(".", "_"), {}


def test_unsuffixed_pool_gauges_do_not_become_a_pool_without_name(rendered):
    """Airflow 3.2 sends every pool gauge as pool.<g>.<pool> and as unsuffixed pool.<g>; after
    the chart's mapping and ours, every airflow_pool_* series has a non-empty pool label."""
    v = rendered["staging"].helm["airflow"].values
    chart_defaults = [{"match": f"airflow.pool.{g}.*", "name": f"airflow_pool_{g}", "labels": {"pool": "$1"}}
                      for g in ("open_slots", "used_slots", "starving_tasks")]  # files/statsd-mappings.yml
    mappings = chart_defaults + v["statsd"]["extraMappings"]
    for g in af_values.AIRFLOW_POOL_GAUGES:
        assert _statsd_map(mappings, f"airflow.pool.{g}") is None, g
        if f"airflow_pool_{g}" in metrics.collect_facts().metrics:  # the ones our queries read
            assert _statsd_map(mappings, f"airflow.pool.{g}.default_pool") == (
                f"airflow_pool_{g}", {"pool": "default_pool"}), g
