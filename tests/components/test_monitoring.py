"""The `monitoring` unit: kube-prometheus-stack values, its secrets and login, routes and
Ingresses, and the Grafana dashboards (every query parsed by the real promtool)."""
import copy
import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlplatform.components.keycloak import checks as keycloak_checks
from mlplatform.components.keycloak import objects as keycloak
from mlplatform.components.monitoring import objects as mon
from mlplatform.components.monitoring import access as mon_access
from mlplatform.components.vllm import metrics as vllm_metrics
from mlplatform.kit import dashboards as dash
from mlplatform.kit import monitoring as kit_mon
from mlplatform.kit import routes, upstream
from mlplatform.kit.secrets import catalog
from mlplatform.validate import charts
from test_secret_scan import scan


PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def _values(r) -> dict:
    return r.helm[mon.NAME].values


def _prom_spec(r) -> dict:
    return _values(r)["prometheus"]["prometheusSpec"]


# --------------------------------------------------------------------------- values
def test_values_are_chart_keys_and_every_container_is_sized(rendered):
    for r in rendered.values():
        v = _values(r)
        assert charts.check_values(mon.CHART, v) == []
        for path in (("prometheusOperator",), ("prometheusOperator", "prometheusConfigReloader"),
                     ("kube-state-metrics",), ("prometheus-node-exporter",), ("grafana",), ("grafana", "sidecar")):
            node = v
            for k in path:
                node = node[k]
            res = node["resources"]
            assert set(res) == {"requests", "limits"} and all(set(res[p]) == {"cpu", "memory"} for p in res), path
        assert _prom_spec(r)["resources"] == r.env.monitoring.prometheus_resources.render()
        if r.env.monitoring.alertmanager:
            assert charts.check_resources(v["alertmanager"]) == []


def test_crds_and_helm_hooks_are_off(rendered):
    for r in rendered.values():
        v = _values(r)
        assert v["crds"]["enabled"] is False  # (a registry mirror may still point its unused upgrade Job image)
        op = v["prometheusOperator"]
        assert op["admissionWebhooks"]["enabled"] is False and op["admissionWebhooks"]["patch"]["enabled"] is False
        assert op["tls"] == {"enabled": False}, "without the hook-made certificate the operator must serve HTTP"
        assert v["grafana"]["testFramework"] == {"enabled": False}
        rel = r.helm[mon.NAME]
        assert {"ServiceMonitor.monitoring.coreos.com", "PrometheusRule.monitoring.coreos.com"} <= set(rel.requires_crds)
        assert r.waves[mon.NAME] > r.waves["prometheus-crds"]


def test_selectors_are_the_platform_labels_in_every_namespace(rendered):
    want = {"matchLabels": kit_mon.SELECTOR_LABELS}
    for r in rendered.values():
        spec = _prom_spec(r)
        for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
            assert spec[f"{kind}Selector"] == want, kind
            assert spec[f"{kind}SelectorNilUsesHelmValues"] is False, kind
            assert spec[f"{kind}NamespaceSelector"] == {}, kind
    assert kit_mon.SELECTOR_LABELS == {"release": mon.RELEASE}


def test_eks_control_plane_targets_and_their_rules_are_off(rendered):
    v = _values(rendered["prod"])
    for target in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert v[target] == {"enabled": False}
    rules = v["defaultRules"]["rules"]
    assert not any(rules[k] for k in ("etcd", "kubeControllerManager", "kubeSchedulerAlerting",
                                      "kubeSchedulerRecording", "kubeProxy"))
    defaults = upstream.chart_values(mon.CHART)
    assert set(rules) <= set(defaults["defaultRules"]["rules"])


def test_prometheus_follows_the_env(envs, rendered):
    for name, r in rendered.items():
        m, spec = envs[name].monitoring, _prom_spec(r)
        assert (spec["retention"], spec["replicas"], spec["scrapeInterval"], spec["evaluationInterval"]) == (
            m.retention, m.prometheus_replicas, m.scrape_interval, m.evaluation_interval)
        assert spec.get("retentionSize") == m.retention_size
        claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
        assert claim["storageClassName"] == "gp3" and claim["resources"]["requests"]["storage"] == m.storage
        assert spec["externalUrl"] == routes.url(r.env, mon_access.PROMETHEUS_ROUTE)
    assert _prom_spec(rendered["prod"])["retentionSize"] == "180GB"


def test_no_plaintext_secret_in_values(rendered, tmp_path):
    for name, r in rendered.items():
        v = _values(r)
        text = json.dumps(v)
        assert "adminPassword" not in text and "client_secret" not in text
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(v, sort_keys=True))
    assert scan(*sorted(tmp_path.glob("*.yaml"))) == {}


def test_the_secret_scan_over_values_can_fail(rendered, tmp_path):
    v = copy.deepcopy(_values(rendered["dev"]))
    v["grafana"]["adminPassword"] = "Zq7#vR2pL9!xK4mT8wB1"
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(v, sort_keys=True))
    assert scan(tmp_path / "dev.yaml") != {}


def _external_secret(r, ns, name):
    hits = [o for o in r.components["secrets"] if o["kind"] == "ExternalSecret"
            and o["metadata"]["namespace"] == ns and o["spec"]["target"]["name"] == name]
    assert len(hits) == 1, (ns, name)
    return hits[0]


def test_alertmanager_reads_its_whole_config_from_the_secret(rendered):
    for r in rendered.values():
        am = _values(r)["alertmanager"]
        ns = r.env.namespaces.monitoring_namespace
        if not r.env.monitoring.alertmanager:
            assert am == {"enabled": False}
            continue
        spec = am["alertmanagerSpec"]
        assert spec["useExistingSecret"] is True, "the chart must not render its own config Secret"
        assert spec["additionalConfig"] == {"configSecret": mon_access.ALERTMANAGER_CONFIG}
        assert spec["replicas"] == r.env.monitoring.alertmanager_replicas
        es = _external_secret(r, ns, mon_access.ALERTMANAGER_CONFIG)
        assert [(d["secretKey"], d["remoteRef"]["property"]) for d in es["spec"]["data"]] == [
            ("alertmanager.yaml", "alertmanager.yaml")]  # the key the operator reads
    assert _values(rendered["dev"])["alertmanager"] == {"enabled": False}


def test_grafana_admin_comes_from_an_external_secret_with_the_charts_keys(rendered):
    defaults = upstream.chart_values(mon.CHART)["grafana"]["admin"]
    admin = catalog()[mon_access.ADMIN]
    assert admin.properties == (defaults["userKey"], defaults["passwordKey"])
    for r in rendered.values():
        g = _values(r)["grafana"]
        assert g["admin"] == {"existingSecret": mon_access.GRAFANA_ADMIN}
        es = _external_secret(r, r.env.namespaces.monitoring_namespace, mon_access.GRAFANA_ADMIN)
        assert sorted(d["secretKey"] for d in es["spec"]["data"]) == sorted(admin.properties)
        env = g["envValueFrom"][mon.CLIENT_SECRET_ENV]
        assert env == {"secretKeyRef": {"name": mon_access.GRAFANA_OIDC, "key": "client-secret"}}
        _external_secret(r, r.env.namespaces.monitoring_namespace, mon_access.GRAFANA_OIDC)


def test_grafana_oauth_urls_are_the_routes_and_the_realm_client(rendered):
    for r in rendered.values():
        env, ini = r.env, _values(r)["grafana"]["grafana.ini"]
        oauth = ini["auth.generic_oauth"]
        assert oauth["client_id"] == "grafana" and oauth["enabled"] is True
        assert (oauth["auth_url"], oauth["token_url"], oauth["api_url"]) == tuple(
            routes.oidc_endpoint(env, w) for w in ("auth", "token", "userinfo"))
        assert ini["server"]["root_url"] == routes.url(env, mon_access.GRAFANA_ROUTE) == f"https://grafana.{env.domain}"
        assert ini["auth"]["disable_login_form"] is True
        realm = keycloak_checks.realm_of(r)
        (client,) = [c for c in realm["clients"] if c["clientId"] == "grafana"]
        assert client["redirectUris"] == [ini["server"]["root_url"] + mon.GRAFANA_CALLBACK]
        post_logout = ini["auth"]["signout_redirect_url"].split("post_logout_redirect_uri=")[1]
        from urllib.parse import unquote
        assert unquote(post_logout) in client["attributes"]["post.logout.redirect.uris"].split("##")


def _grafana_role(path: str, roles: list[str]) -> str:
    """Evaluate our role_attribute_path (`contains(roles[*], 'x') && 'Y' || ... || 'Z'`), the
    subset of JMESPath it uses: the first alternative whose role the user has."""
    for alt in path.split(" || "):
        m = re.fullmatch(r"contains\(roles\[\*\], '([^']+)'\) && '([A-Za-z]+)'", alt)
        if m is None:
            default = re.fullmatch(r"'([A-Za-z]+)'", alt)
            assert default, alt
            return default.group(1)
        if m.group(1) in roles:
            return m.group(2)
    raise AssertionError("no default role")


def test_realm_roles_map_to_grafana_roles():
    path = mon.role_attribute_path()
    assert _grafana_role(path, ["admin"]) == "Admin"
    assert _grafana_role(path, ["ml-engineer"]) == "Editor"
    assert _grafana_role(path, ["ml-engineer", "admin"]) == "Admin"
    assert _grafana_role(path, ["data-scientist"]) == _grafana_role(path, ["viewer"]) == _grafana_role(path, []) == "Viewer"
    assert {kc for kc, _ in mon.GRAFANA_ROLES} <= set(keycloak.ROLES)
    assert mon.ROLES_CLAIM in {m["config"].get("claim.name") for m in keycloak._mappers("grafana")}


def test_object_names_match_the_routes(envs, monkeypatch):
    r = mon_access.PROMETHEUS_ROUTE
    assert (r.service, r.port) == (f"{mon.FULLNAME}-prometheus", 9090)
    assert (mon_access.ALERTMANAGER_ROUTE.service, mon_access.GRAFANA_ROUTE.service) == (
        f"{mon.FULLNAME}-alertmanager", "grafana")
    v = mon.values(envs["dev"])
    assert v["fullnameOverride"] == mon.FULLNAME and v["grafana"]["fullnameOverride"] == mon.GRAFANA
    assert len(mon.FULLNAME) <= 26, "the chart truncates its fullname at 26 characters"
    monkeypatch.setattr(mon, "PROMETHEUS_ROUTE", dataclasses.replace(r, service="prometheus"))
    with pytest.raises(ValueError, match="route 'prometheus' points at monitoring/prometheus:9090"):
        mon.values(envs["dev"])


def test_dashboards_sidecar_reads_the_monitoring_namespace(rendered):
    g = _values(rendered["staging"])["grafana"]
    d = g["sidecar"]["dashboards"]
    assert (d["label"], d["labelValue"], d["searchNamespace"]) == ("grafana_dashboard", "1", "monitoring")
    assert g["sidecar"]["datasources"]["uid"] == dash.DATASOURCE_UID
    # grafana's ServiceMonitor is labelled release=<release name> by its chart (labels.release unset)
    assert g["serviceMonitor"] == {"enabled": True} and kit_mon.SELECTOR_LABELS == {"release": mon.RELEASE}


def test_ingresses_follow_the_routes_and_alertmanager(rendered):
    for r in rendered.values():
        ings = {o["metadata"]["name"]: o for o in r.components[mon.NAME] if o["kind"] == "Ingress"}
        want = {"grafana", "prometheus"} | ({"alertmanager"} if r.env.monitoring.alertmanager else set())
        assert set(ings) == want
        served = {rt.name: rt for rt in routes.for_env(r.env)}
        for name, o in ings.items():
            rt = served[name]
            backend = o["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
            assert (backend["name"], backend["port"]["number"]) == (rt.service, rt.port)
            sticky = "alb.ingress.kubernetes.io/target-group-attributes" in o["metadata"]["annotations"]
            assert sticky == (name == "grafana" and r.env.monitoring.grafana_replicas > 1)
    assert "alertmanager" not in {o["metadata"]["name"] for o in rendered["dev"].components[mon.NAME]}


def test_disabled_monitoring_renders_nothing(envs):
    env = envs["dev"].model_copy(update={
        "monitoring": envs["dev"].monitoring.model_copy(update={"enabled": False}),
        "serving": envs["dev"].serving.model_copy(update={"enabled": False})})
    assert mon.helm(env) is None and mon.build(env) == []


# --------------------------------------------------------------------------- dashboards
def test_dashboards_are_configmaps_with_valid_deterministic_json(rendered):
    r = rendered["staging"]
    cms = [o for o in r.components[mon.NAME] if o["kind"] == "ConfigMap"]
    contributed = dash.collect_dashboards(r.env)
    assert len(cms) == len(contributed) == 6
    uids = []
    for d, cm in zip(contributed, cms):
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["namespace"] == "monitoring"
        (key,) = cm["data"]
        assert key == f"{d.name}.json"
        model = json.loads(cm["data"][key])
        assert cm["data"][key] == json.dumps(model, sort_keys=True, indent=2) + "\n"
        assert model["uid"] == dash.uid(d.name) and len(model["uid"]) <= 40
        uids.append(model["uid"])
        ids = [p["id"] for p in model["panels"]]
        assert len(ids) == len(set(ids))
        for p in model["panels"]:
            assert p["gridPos"]["x"] + p["gridPos"]["w"] <= dash.WIDTH
    assert len(set(uids)) == len(uids)
    assert dash.uid("vllm") == dash.uid("vllm") != dash.uid("gpus")


def test_every_panel_uses_the_provisioned_datasource(rendered):
    uid = _values(rendered["prod"])["grafana"]["sidecar"]["datasources"]["uid"]
    for d in dash.collect_dashboards(rendered["prod"].env):
        model = dash.render(d)
        refs = [p["datasource"] for p in model["panels"]] + [t["datasource"] for p in model["panels"] for t in p["targets"]] \
            + [v["datasource"] for v in model["templating"]["list"]]
        assert refs and all(ref == {"type": "prometheus", "uid": uid} for ref in refs), d.name


def _promtool_check(exprs: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    f = tmp_path / "dashboards.rules.yaml"
    f.write_text(yaml.safe_dump(rules, sort_keys=True))
    return subprocess.run([PROMTOOL, "check", "rules", str(f)], capture_output=True, text=True)


def _all_exprs(env) -> list[str]:
    out = []
    for d in dash.collect_dashboards(env):
        out += dash.expressions(d)
        out += [v.metric for v in d.variables]  # label_values(<metric>, <label>): the metric must parse
    return out


@pytest.mark.skipif(not Path(PROMTOOL).exists(), reason="promtool is not installed")
def test_every_dashboard_query_is_promql(tmp_path, envs):
    exprs = _all_exprs(envs["staging"])
    res = _promtool_check(exprs, tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{len(exprs)} rules found" in res.stdout


@pytest.mark.skipif(not Path(PROMTOOL).exists(), reason="promtool is not installed")
def test_promtool_rejects_a_broken_query(tmp_path):
    res = _promtool_check(["sum by (model_name) (rate(vllm:generation_tokens_total[5m])"], tmp_path)
    assert res.returncode != 0


def test_dashboards_use_the_metric_names_of_our_pinned_exporters(envs):
    text = "\n".join(_all_exprs(envs["staging"]))
    assert "vllm:kv_cache_usage_perc" in text and "gpu_cache_usage_perc" not in text  # vLLM V1 name
    for metric in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE",
                   "DCGM_FI_DEV_XID_ERRORS", "jupyterhub_running_servers", "jupyterhub_server_spawn_duration_seconds_bucket",
                   "airflow_scheduler_heartbeat", "airflow_pool_open_slots", "karpenter_nodeclaims_created_total",
                   "karpenter_nodepools_usage", "karpenter_nodepools_limit", "kube_horizontalpodautoscaler_spec_max_replicas",
                   "ray_node_cpu_utilization"):
        assert metric in text, metric
    assert vllm_metrics.QUEUE_SERIES in text and vllm_metrics.MODEL_LABEL in text
