"""Airflow (Keycloak login, KubernetesExecutor, RDS, pools): chart values, the generated
`webserver_config.py` run against stand-ins for FAB, pools, DAGs and logs, metrics and security."""
from __future__ import annotations

import ast
import copy
import fnmatch
import json
import socket
import sys
import types
from pathlib import Path

import hcl2
import pytest
from hcl2 import SerializationOptions

from conftest import ENVS, ROOT, find
from mlplatform.components.airflow import objects as airflow
from mlplatform.components.airflow import login as af_login
from mlplatform.components.airflow import names as af_names
from mlplatform.components.airflow import values as af_values
from mlplatform.components.keycloak import objects as keycloak
from mlplatform.components.spark_operator import objects as spark_operator
from mlplatform.components.storage import objects as storage
from mlplatform.components.airflow import access as airflow_access
from mlplatform.components.secrets import objects as sec
from mlplatform.config.loader import EnvError, load_env
from mlplatform.kit import refs, routes
from mlplatform.validate import charts, crosschecks, validate


IRSA = "eks.amazonaws.com/role-arn"


def _values(r, comp="airflow"):
    return r.helm[comp].values


def _external_secrets(r) -> dict[tuple[str, str], dict]:
    """(namespace, Secret name) -> {key: (credential, property) or template}."""
    out = {}
    for o in r.components["secrets"]:
        if o["kind"] != "ExternalSecret":
            continue
        t = o["spec"]["target"]
        keys = {d["secretKey"] for d in o["spec"]["data"]} | set((t.get("template") or {}).get("data") or {})
        out[(o["metadata"]["namespace"], t["name"])] = keys
    return out


def _with(env, **airflow_changes):
    return env.model_copy(update={"airflow": env.airflow.model_copy(update=airflow_changes)})


# --------------------------------------------------------------------------- chart values
@pytest.mark.parametrize("env_name", ENVS)
def test_values_pass_the_chart_schema_known_keys_and_resources(rendered, env_name):
    r = rendered[env_name]
    for comp, chart in (("airflow", "airflow"), ("spark-operator", "spark-operator")):
        rel = r.helm[comp]
        assert rel.chart == chart
        assert charts.check_values(chart, rel.values) == [], comp
        assert charts.check_resources(rel.values) == [], comp
    assert [p for p in validate(r) if "/airflow/" in p or "/spark-operator/" in p] == []


def test_a_typo_in_airflow_values_is_caught(envs):
    v = af_values.values(envs["dev"])
    v["scheduler"]["replica"] = 2  # strict section of the schema
    v["config"]["core"]["parallelism"] = {"nested": "no"}
    v["dags"]["gitSync"]["credentialSecret"] = "x"
    problems = charts.check_values("airflow", v)
    assert any("scheduler" in p and "replica" in p for p in problems), problems
    assert any("credentialSecret" in p for p in problems), problems


@pytest.mark.parametrize("env_name", ENVS)
def test_kubernetes_executor_rds_and_no_bundled_database_or_broker(rendered, env_name):
    v = _values(rendered[env_name])
    assert v["executor"] == "KubernetesExecutor"
    assert v["postgresql"] == {"enabled": False} and v["redis"] == {"enabled": False}
    assert v["data"] == {"metadataSecretName": airflow_access.AIRFLOW_DB}
    assert v["airflowVersion"] == v["defaultAirflowTag"] == "3.2.0"


# --------------------------------------------------------------------------- secrets by reference
@pytest.mark.parametrize("env_name", ENVS)
def test_every_secret_the_values_name_is_made_by_an_external_secret_with_the_keys_read(rendered, env_name):
    r = rendered[env_name]
    v = _values(r)
    made = _external_secrets(r)
    # The keys each chart value reads (chart 1.21.0 values.yaml comments / _helpers.yaml).
    expected = {
        ("fernetKeySecretName",): "fernet-key",
        ("apiSecretKeySecretName",): "api-secret-key",
        ("jwtSecretName",): "jwt-secret",
        ("webserverSecretKeySecretName",): "webserver-secret-key",
        ("data", "metadataSecretName"): "connection",
    }
    for path, key in expected.items():
        node = v
        for p in path:
            node = node[p]
        assert (af_names.NAMESPACE, node) in made, path
        assert key in made[(af_names.NAMESPACE, node)], (path, key)
    # env references (OIDC client secret) and the git-sync credentials too
    names = refs.value_secret_refs(v) | ({v["dags"]["gitSync"]["credentialsSecret"]}
                                         if v["dags"]["gitSync"].get("credentialsSecret") else set())
    assert names, "values name no Secret at all?"
    for name in names:
        assert (af_names.NAMESPACE, name) in made, name
    oidc = [e for e in v["apiServer"]["env"] if e["name"] == af_login.CLIENT_SECRET_ENV]
    assert oidc == [{"name": af_login.CLIENT_SECRET_ENV,
                     "valueFrom": {"secretKeyRef": {"name": airflow_access.AIRFLOW_OIDC, "key": "client-secret"}}}]
    assert "client-secret" in made[(af_names.NAMESPACE, airflow_access.AIRFLOW_OIDC)]
    # no literal secret material handed to the chart
    for literal in ("fernetKey", "apiSecretKey", "jwtSecret", "webserverSecretKey"):
        assert literal not in v
    assert "metadataConnection" not in v["data"]
    assert crosschecks.check_secrets(r) == []


def test_git_sync_credentials_come_from_the_catalog_in_every_name_git_sync_reads(rendered):
    r = rendered["prod"]
    (es,) = [o for o in r.components["secrets"] if o["kind"] == "ExternalSecret"
             and o["metadata"]["name"] == airflow_access.AIRFLOW_GIT_SYNC]
    prefix = r.env.infrastructure.secrets_manager_prefix
    got = {d["secretKey"]: (d["remoteRef"]["key"], d["remoteRef"]["property"]) for d in es["spec"]["data"]}
    assert got == {f"{p}_{k.upper()}": (f"{prefix}airflow/git-sync", k)
                   for p in ("GITSYNC", "GIT_SYNC") for k in ("username", "password")}
    assert airflow_access.AIRFLOW_GIT_SYNC not in {o["metadata"]["name"] for o in rendered["dev"].components["secrets"]}, \
        "dev reads DAGs from EFS: no git credentials there"


# --------------------------------------------------------------------------- Argo CD
@pytest.mark.parametrize("env_name", ENVS)
def test_no_helm_hooks_and_no_default_user(rendered, env_name):
    v = _values(rendered[env_name])
    assert v["createUserJob"] == {"enabled": False, "useHelmHooks": False, "applyCustomEnv": False}
    assert v["webserver"]["defaultUser"] == {"enabled": False}
    m = v["migrateDatabaseJob"]
    assert m["useHelmHooks"] is False and m["applyCustomEnv"] is False
    # an Argo CD Sync hook: re-run (idempotent) each sync, never a PostSync that waits on healthy pods
    assert m["jobAnnotations"] == {"argocd.argoproj.io/hook": "Sync",
                                   "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation"}


def test_one_application_with_the_chart_and_our_objects(rendered):
    r = rendered["staging"]
    app = find(r.components["argocd-apps"], "Application", "staging-airflow")
    chart, ours = app["spec"]["sources"]
    assert chart["chart"] == "airflow" and chart["targetRevision"] == "1.21.0"
    assert ours["path"] == "dist/staging/airflow"
    assert r.waves["airflow"] > r.waves["secrets"] and r.waves["airflow"] > r.waves["prometheus-crds"]
    spark = find(r.components["argocd-apps"], "Application", "staging-spark-operator")
    assert "ServerSideApply=true" in spark["spec"]["syncPolicy"]["syncOptions"]
    ignored = {(d["kind"], d["name"]) for d in spark["spec"]["ignoreDifferences"]}
    assert ignored == {("Secret", "spark-operator-webhook-certs"),
                       ("MutatingWebhookConfiguration", "spark-operator-webhook"),
                       ("ValidatingWebhookConfiguration", "spark-operator-webhook")}


# --------------------------------------------------------------------------- login
@pytest.mark.parametrize("env_name", ENVS)
def test_oauth_callback_is_what_the_keycloak_client_allows(envs, env_name):
    env = envs[env_name]
    (client,) = [c for c in keycloak.realm(env)["clients"] if c["clientId"] == "airflow"]
    assert client["redirectUris"] == [af_names.callback_url(env)]
    assert af_names.callback_url(env) == f"https://platform.{env.domain}/airflow/auth/oauth-authorized/keycloak"
    v = af_values.values(env)
    assert v["config"]["api"]["base_url"] == f"https://platform.{env.domain}/airflow" == client["rootUrl"]
    assert v["config"]["fab"]["enable_proxy_fix"] == "True"
    assert v["config"]["core"]["auth_manager"] == "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    assert "--proxy-headers" in v["apiServer"]["args"][-1]
    assert {"name": "FORWARDED_ALLOW_IPS", "value": env.infrastructure.vpc_cidr} in v["apiServer"]["env"]


def test_a_route_that_disagrees_with_fab_is_a_build_error(envs, monkeypatch):
    r = airflow_access.ROUTE
    bad = type(r)(**{**r.__dict__, "callbacks": ("/airflow/oauth-authorized/keycloak",)})
    monkeypatch.setattr(af_values, "ROUTE", bad)
    with pytest.raises(ValueError, match="not FAB's OAuth callback"):
        af_values.values(envs["dev"])


def _run_login_config(src: str) -> types.ModuleType:
    """Execute the generated webserver_config.py against stand-ins for FAB, with the network off."""
    class FabAirflowSecurityManagerOverride:  # stand-in base class
        def get_oauth_user_info(self, provider, resp):
            return {"base": provider}

    fake = {
        "airflow": types.ModuleType("airflow"),
        "airflow.providers": types.ModuleType("airflow.providers"),
        "airflow.providers.fab": types.ModuleType("airflow.providers.fab"),
        "airflow.providers.fab.auth_manager": types.ModuleType("airflow.providers.fab.auth_manager"),
        "airflow.providers.fab.auth_manager.security_manager":
            types.ModuleType("airflow.providers.fab.auth_manager.security_manager"),
        "airflow.providers.fab.auth_manager.security_manager.override":
            types.ModuleType("airflow.providers.fab.auth_manager.security_manager.override"),
        "flask_appbuilder": types.ModuleType("flask_appbuilder"),
        "flask_appbuilder.const": types.ModuleType("flask_appbuilder.const"),
    }
    fake["airflow.providers.fab.auth_manager.security_manager.override"].FabAirflowSecurityManagerOverride = \
        FabAirflowSecurityManagerOverride
    fake["flask_appbuilder.const"].AUTH_OAUTH = 4
    saved = {k: sys.modules.get(k) for k in fake}
    real_socket = socket.socket

    def no_network(*a, **k):
        raise AssertionError("webserver_config.py opened a socket at import time")

    try:
        sys.modules.update(fake)
        socket.socket = no_network  # type: ignore[misc]
        mod = types.ModuleType("webserver_config")
        exec(compile(src, "webserver_config.py", "exec"), mod.__dict__)
        return mod
    finally:
        socket.socket = real_socket  # type: ignore[misc]
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


@pytest.mark.parametrize("env_name", ENVS)
def test_login_config_compiles_and_targets_our_realm_client_and_roles(envs, env_name):
    env = envs[env_name]
    src = af_login.login_config(env)
    tree = ast.parse(src)
    compile(src, "webserver_config.py", "exec")
    assert "{{" not in src, "the chart renders apiServerConfig through tpl: no Go template delimiters"
    assert routes.issuer(env) in src and f"/realms/{env.keycloak.realm}" in src
    assert not any(isinstance(n, (ast.Import, ast.ImportFrom)) and any(
        a.name.split(".")[0] in ("requests", "urllib", "http", "jwt") for a in n.names) for n in ast.walk(tree)), \
        "no HTTP client at import time (the book fetched the realm key there)"
    mod = _run_login_config(src)
    assert mod.ISSUER == routes.issuer(env) and mod.CLIENT_ID == "airflow"
    assert mod.AUTH_TYPE == 4 and mod.AUTH_ROLES_SYNC_AT_LOGIN is True
    assert mod.AUTH_USER_REGISTRATION_ROLE == "Public"
    assert mod.AUTH_ROLES_MAPPING == {"admin": ["Admin"], "ml-engineer": ["Op"], "data-scientist": ["User"],
                                      "viewer": ["Viewer"]}
    assert {r for roles in mod.AUTH_ROLES_MAPPING.values() for r in roles} == {"Admin", "Op", "User", "Viewer"}
    assert set(mod.AUTH_ROLES_MAPPING) == set(keycloak.ROLES)
    (provider,) = mod.OAUTH_PROVIDERS
    app = provider["remote_app"]
    assert provider["name"] == af_names.OAUTH_PROVIDER and app["client_id"] == "airflow"
    assert app["server_metadata_url"] == routes.issuer(env) + "/.well-known/openid-configuration"
    assert app["access_token_url"] == routes.oidc_endpoint(env, "token")
    assert app["authorize_url"] == routes.oidc_endpoint(env, "auth")
    assert "openid" in app["client_kwargs"]["scope"].split()
    # the token's realm roles become FAB role keys; another provider is left to FAB
    sm = mod.SECURITY_MANAGER_CLASS()
    info = sm.get_oauth_user_info("keycloak", {"userinfo": {
        "iss": routes.issuer(env), "preferred_username": "ada", "email": "ada@example.com",
        "given_name": "Ada", "family_name": "L", "roles": ["ml-engineer", "offline_access"], "groups": ["x"]}})
    assert info == {"username": "ada", "email": "ada@example.com", "first_name": "Ada", "last_name": "L",
                    "role_keys": ["ml-engineer", "offline_access"]}
    assert sm.get_oauth_user_info("github", {}) == {"base": "github"}
    with pytest.raises(ValueError, match="unexpected issuer"):
        sm.get_oauth_user_info("keycloak", {"userinfo": {"iss": "https://evil.example.com/realms/x"}})


def test_login_config_reaches_the_api_server_only(rendered):
    v = _values(rendered["dev"])
    assert v["apiServer"]["apiServerConfig"] == af_login.login_config(rendered["dev"].env)
    assert all(e.get("name") != af_login.CLIENT_SECRET_ENV for e in v.get("env", [])), \
        "the client secret must not reach task pods (top-level env is copied into them)"
    assert "secret" not in v


def test_role_mapping_follows_the_env_file(envs):
    env = _with(envs["dev"], role_mapping={"admin": "Admin", "data-scientist": "Op"})
    mod = _run_login_config(af_login.login_config(env))
    assert mod.AUTH_ROLES_MAPPING == {"admin": ["Admin"], "data-scientist": ["Op"]}


# --------------------------------------------------------------------------- pools
@pytest.mark.parametrize("env_name", ENVS)
def test_pools_are_rendered_from_config(rendered, env_name):
    r = rendered[env_name]
    objs = r.components["airflow"]
    cm = find(objs, "ConfigMap", af_names.POOLS_CONFIGMAP)
    pools = json.loads(cm["data"][af_names.POOLS_FILE])
    assert pools == {p.name: {"slots": p.slots, "description": p.description, "include_deferred": False}
                     for p in r.env.airflow.pools}
    assert pools, "every env declares pools"
    job = find(objs, "Job", af_names.POOLS_JOB)
    assert job["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Force=true,Replace=true"
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert "airflow db check-migrations" in script and f"airflow pools import /pools/{af_names.POOLS_FILE}" in script
    assert ("airflow pools delete" in script) is r.env.airflow.prune_pools
    assert "ttlSecondsAfterFinished" not in job["spec"], "a vanished Job would be re-created (and re-run) by Argo CD"


def test_the_pools_job_reruns_exactly_when_the_pools_change(envs):
    env = envs["staging"]

    def digest(e):
        job = find(airflow.build(e), "Job", af_names.POOLS_JOB)
        return job["spec"]["template"]["metadata"]["annotations"][af_names.LABEL_POOLS_HASH]

    h = digest(env)
    assert digest(env) == h
    assert digest(_with(env, parallelism=7)) == h
    more = [*env.airflow.pools, env.airflow.pools[0].model_copy(update={"name": "extra"})]
    assert digest(_with(env, pools=more)) != h
    assert digest(_with(env, prune_pools=False)) != h


def test_no_pools_declared_imports_nothing_and_prunes_to_the_default_pool(envs):
    env = _with(envs["dev"], pools=[])
    job = find(airflow.build(env), "Job", af_names.POOLS_JOB)
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert "pools import" not in script and "airflow pools delete" in script and "default_pool" in script
    assert json.loads(find(airflow.build(env), "ConfigMap", af_names.POOLS_CONFIGMAP)["data"][af_names.POOLS_FILE]) == {}


# --------------------------------------------------------------------------- DAGs, logs, IRSA
def test_dev_reads_dags_and_writes_logs_on_the_shared_efs_volume(rendered):
    v = _values(rendered["dev"])
    claim = storage.claim_name("airflow")
    assert v["dags"]["gitSync"] == {"enabled": False}
    assert v["dags"]["persistence"] == {"enabled": True, "existingClaim": claim, "subPath": "airflow_home/dags"}
    assert v["logs"]["persistence"] == {"enabled": True, "existingClaim": claim, "subPath": "airflow_home/logs"}
    assert "logging" not in v["config"]
    assert find(rendered["dev"].components["storage"], "PersistentVolumeClaim", claim)["metadata"]["namespace"] \
        == "airflow"


@pytest.mark.parametrize("env_name", ["staging", "prod"])
def test_staging_and_prod_sync_dags_from_git_and_log_to_s3_with_irsa(rendered, env_name):
    r = rendered[env_name]
    v, a = _values(r), r.env.airflow
    g = v["dags"]["gitSync"]
    assert v["dags"]["persistence"] == {"enabled": False}
    assert g["enabled"] is True and g["repo"] == a.dags.git_sync.repo == "https://github.com/example-org/ml-platform-dags.git"
    assert g["branch"] == g["ref"] == a.dags.git_sync.branch and g["subPath"] == "dags"
    assert g["credentialsSecret"] == airflow_access.AIRFLOW_GIT_SYNC
    assert g["securityContexts"]["container"]["allowPrivilegeEscalation"] is False
    logging = v["config"]["logging"]
    assert logging["remote_logging"] == "True"
    assert logging["remote_base_log_folder"] == f"s3://{a.logs.s3_bucket}/{a.logs.s3_prefix}"
    conn = {e["name"]: e["value"] for e in v["env"]}[f"AIRFLOW_CONN_{af_names.LOGS_CONN_ID.upper()}"]
    assert json.loads(conn) == {"conn_type": "aws", "extra": {"region_name": r.env.infrastructure.region}}
    role = r.env.infrastructure.roles.workloads_s3
    for section in ("workers", "scheduler", "apiServer", "triggerer", "dagProcessor"):
        assert v[section]["serviceAccount"]["annotations"] == {IRSA: role}, section
    assert v["logs"]["persistence"] == {"enabled": False}
    assert v["triggerer"]["persistence"] == {"enabled": False}
    assert v["apiServer"]["replicas"] >= 2 and v["apiServer"]["podDisruptionBudget"]["enabled"] is True


def test_only_task_pods_get_the_bucket_role_when_logs_stay_on_efs(rendered):
    v = _values(rendered["dev"])
    assert v["workers"]["serviceAccount"] == {"create": True, "name": af_names.WORKER_SA,
                                              "annotations": {IRSA: rendered["dev"].env.infrastructure.roles.workloads_s3}}
    for section in ("scheduler", "apiServer", "triggerer", "dagProcessor"):
        assert "annotations" not in v[section]["serviceAccount"], section


def _tf_default(variable: str) -> list[str]:
    opts = SerializationOptions(with_comments=False, strip_string_quotes=True, explicit_blocks=False)
    with (ROOT / "terraform" / "variables.tf").open() as f:
        doc = hcl2.load(f, serialization_options=opts)
    return {n: b for blk in doc["variable"] for n, b in blk.items()}[variable]["default"]


def _trusted(patterns: list[str], namespace: str, sa: str) -> bool:
    return any(fnmatch.fnmatchcase(f"{namespace}:{sa}", p) for p in patterns)


@pytest.mark.parametrize("env_name", ENVS)
def test_terraform_trusts_every_service_account_we_annotate(rendered, env_name):
    r = rendered[env_name]
    infra = r.env.infrastructure
    trust = {infra.roles.workloads_s3: _tf_default("workloads_s3_service_accounts"),
             infra.roles.spark: _tf_default("spark_service_accounts")}
    found = 0
    for comp, rel in r.helm.items():
        if comp not in ("airflow", "spark-operator"):
            continue
        stack = [rel.values]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                sa = node.get("serviceAccount")
                if isinstance(sa, dict) and (sa.get("annotations") or {}).get(IRSA) in trust:
                    role = sa["annotations"][IRSA]
                    namespaces = r.env.spark.job_namespaces if comp == "spark-operator" else [rel.namespace]
                    for ns in namespaces:
                        assert _trusted(trust[role], ns, sa["name"]), f"Terraform does not trust {ns}:{sa['name']}"
                        found += 1
                stack += list(node.values())
            elif isinstance(node, list):
                stack += node
    assert found >= 2


# --------------------------------------------------------------------------- ingress, metrics, security
def test_ingress_and_service_monitor(rendered):
    r = rendered["prod"]
    objs = r.components["airflow"]
    ing = find(objs, "Ingress", "airflow")
    (path,) = ing["spec"]["rules"][0]["http"]["paths"]
    assert ing["metadata"]["namespace"] == "airflow" and ing["spec"]["rules"][0]["host"] == f"platform.{r.env.domain}"
    assert path["path"] == "/airflow"
    assert path["backend"]["service"] == {"name": af_names.API_SERVER_SERVICE, "port": {"number": 8080}}
    assert ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/healthcheck-path"] == "/airflow/api/v2/monitor/health"
    sm = find(objs, "ServiceMonitor", af_names.STATSD_MONITOR)
    assert sm["spec"]["selector"]["matchLabels"] == {"tier": "airflow", "component": "statsd", "release": "airflow"}
    assert sm["spec"]["endpoints"][0]["port"] == "statsd-scrape"
    assert _values(r)["statsd"]["enabled"] is True


@pytest.mark.parametrize("env_name", ENVS)
def test_pods_meet_the_restricted_profile_of_the_namespace(rendered, env_name):
    v = _values(rendered[env_name])
    pod, container = v["securityContexts"]["pod"], v["securityContexts"]["containers"]
    assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["allowPrivilegeEscalation"] is False and container["capabilities"] == {"drop": ["ALL"]}
    assert v["statsd"]["securityContexts"]["pod"]["runAsNonRoot"] is True
    ns = find(rendered[env_name].components["namespaces"], "Namespace", "airflow")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_task_pod_resources_come_from_config(envs):
    env = envs["prod"]
    v = af_values.values(env)
    assert v["workers"]["kubernetes"]["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"},
                                                       "limits": {"cpu": "2", "memory": "4Gi"}}
    assert v["config"]["core"]["parallelism"] == "128"
    assert v["config"]["core"]["execution_api_server_url"] == \
        "http://airflow-api-server.airflow.svc.cluster.local:8080/airflow/execution/"


def test_disabled_airflow_renders_nothing(envs):
    env = _with(envs["dev"], enabled=False)
    assert af_values.helm(env) is None and airflow.build(env) == []
    assert airflow_access.AIRFLOW_GIT_SYNC not in {w.secret for w in sec.wanted(env)}
    assert spark_operator.build(env) == [], "no Airflow, nobody to bind"


# --------------------------------------------------------------------------- config errors
def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _problems(env_dir: Path, env: str = "dev") -> list[str]:
    with pytest.raises(EnvError) as e:
        load_env(env, env_dir)
    return e.value.problems


@pytest.mark.parametrize("old,new,message", [
    ("- {name: etl, slots: 4,", "- {name: etl, slots: 0,", "greater than or equal to 1"),
    ("- {name: training, slots: 2,", "- {name: etl, slots: 2,", "pools listed twice: etl"),
    ("dags: {source: efs, efs_sub_path: airflow_home/dags}", "dags: {source: git_sync}", "needs git_sync.repo"),
    ("dags: {source: efs, efs_sub_path: airflow_home/dags}", "dags: {source: git_sync, git_sync: {branch: main}}",
     "airflow.dags.git_sync.repo"),
    ("dags: {source: efs, efs_sub_path: airflow_home/dags}",
     "dags: {source: git_sync, git_sync: {repo: 'git@github.com:x/y.git'}}", "airflow.dags.git_sync.repo"),
    ("logs: {target: efs, efs_sub_path: airflow_home/logs}", "logs: {target: s3}", "target s3 needs s3_bucket"),
    ("logs: {target: efs, efs_sub_path: airflow_home/logs}", "logs: {target: efs, efs_sub_path: /var/log}",
     "relative path"),
    ("  parallelism: 16\n", "  parallelism: 16\n  role_mapping: {admin: Superuser}\n", "airflow.role_mapping.admin"),
    ("  parallelism: 16\n", "  parallelism: 16\n  role_mapping: {root: Admin}\n", "airflow.role_mapping.root"),
    ("  parallelism: 16\n", "  parallelism: 16\n  role_mapping: {viewer: Viewer}\n", "nobody could administer"),
    ("  parallelism: 16\n", "  parallelism: 16\n  executor: CeleryExecutor\n", "airflow.executor"),
    ("  job_namespaces: [airflow]", "  job_namespaces: [airflow, airflow]", "job_namespaces listed twice"),
    ("  job_namespaces: [airflow]", "  job_namespaces: []", "spark.job_namespaces"),
])
def test_impossible_airflow_and_spark_settings_are_refused(env_dir, old, new, message):
    _edit(env_dir / "dev.yaml", old, new)
    problems = _problems(env_dir)
    assert any(message in p for p in problems), problems
    assert all(p.startswith(str(env_dir / "dev.yaml")) or "dev.yaml" in p for p in problems), problems


def test_efs_dags_without_the_airflow_efs_mount_fail_the_synth(envs):
    from mlplatform.plan import render
    env = envs["dev"]
    env = env.model_copy(update={"storage": env.storage.model_copy(update={"efs_mounts": []})})
    r = render(env)
    assert any("dev/airflow: build failed" in p and "efs_mounts" in p for p in r.problems), r.problems


def test_the_component_copies_nothing_between_envs(rendered):
    dev, prod = _values(rendered["dev"]), _values(rendered["prod"])
    assert dev["config"]["api"]["base_url"] != prod["config"]["api"]["base_url"]
    assert copy.deepcopy(dev) == af_values.values(rendered["dev"].env), "values are a pure function of the env"


def test_airflow_pool_gauges_get_a_pool_label(rendered):
    v = rendered["staging"].helm["airflow"].values
    maps = {m["match"]: m for m in v["statsd"]["extraMappings"]}
    assert maps["airflow.pool.running_slots.*"] == {
        "match": "airflow.pool.running_slots.*", "name": "airflow_pool_running_slots", "labels": {"pool": "$1"}}
    assert charts.check_values("airflow", v) == []


def test_airflow_connection_is_templated_from_fetched_credentials(envs):
    objs = sec.build(envs["staging"])
    (es,) = [o for o in objs if o["kind"] == "ExternalSecret" and o["metadata"]["name"] == airflow_access.AIRFLOW_DB]
    conn = es["spec"]["target"]["template"]["data"]["connection"]
    db = envs["staging"].infrastructure.databases["airflow"]
    assert conn.startswith("postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}@")
    assert f"@{db.host}:{db.port}/{db.database}" in conn
