"""The `keycloak` unit: the Keycloak CR on RDS, HA in prod, the dedicated realm with a client per
app, the realm sync Job and the admin console kept off the ALB."""
import pytest

from conftest import find
from mlplatform.components.keycloak import objects as keycloak


# --------------------------------------------------------------------------- keycloak
def test_keycloak_uses_rds_and_external_secrets(envs):
    for env in envs.values():
        objs = keycloak.build(env)
        kc = find(objs, "Keycloak", "keycloak")["spec"]
        db = env.infrastructure.databases["keycloak"]
        assert kc["db"]["host"] == db.host and kc["db"]["vendor"] == "postgres"
        assert kc["db"]["passwordSecret"]["name"] == "keycloak-db"
        assert kc["bootstrapAdmin"]["user"]["secret"] == "keycloak-bootstrap-admin"
        assert kc["hostname"]["hostname"] == f"https://auth.{env.domain}"
        assert kc["instances"] == env.keycloak.instances
        assert kc["ingress"]["enabled"] is False


def test_prod_runs_keycloak_ha_with_a_drain_friendly_pdb(envs):
    objs = keycloak.build(envs["prod"])
    assert find(objs, "Keycloak", "keycloak")["spec"]["instances"] >= 2
    assert find(objs, "PodDisruptionBudget", "keycloak")["spec"] == {
        "maxUnavailable": 1, "selector": {"matchLabels": {"app": "keycloak", "app.kubernetes.io/instance": "keycloak"}}}


def test_realm_is_dedicated_with_rbac_roles_and_a_client_per_app(envs):
    env = envs["dev"]
    realm = keycloak.realm(env)
    assert realm["realm"] != "master"
    assert {r["name"] for r in realm["roles"]["realm"]} == {"admin", "ml-engineer", "data-scientist", "viewer"}
    clients = {c["clientId"]: c for c in realm["clients"]}
    # one client per app, the shared ALB login, and one ALB login per team with UIs (Ray dashboards)
    assert set(clients) == {"jupyterhub", "airflow", "grafana", "argocd", "platform-ui", "team-research-ui"}
    for c in clients.values():
        owner = "platform-ui" if c["clientId"].endswith("-ui") else c["clientId"]  # team UIs share its secret
        assert c["publicClient"] is False and c["secret"] == f"$(file:UTF-8:{keycloak.CLIENTS_DIR}/{owner})"
        assert all(u.startswith("https://") and "*" not in u for u in c["redirectUris"])
    assert clients["jupyterhub"]["redirectUris"] == [f"https://platform.{env.domain}/jupyter/hub/oauth_callback"]
    assert f"https://mlflow.{env.domain}/oauth2/idpresponse" in clients["platform-ui"]["redirectUris"]


def test_master_realm_is_refused(tmp_path, env_dir):
    from mlplatform.config.loader import EnvError, load_env
    f = env_dir / "dev.yaml"
    f.write_text(f.read_text() + "keycloak:\n  realm: master\n")
    with pytest.raises(EnvError, match="master"):
        load_env("dev", env_dir)


def test_realm_sync_job_reruns_exactly_when_the_realm_changes(envs):
    env = envs["staging"]
    job = find(keycloak.build(env), "Job", keycloak.REALM_JOB)
    assert job["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Force=true,Replace=true"
    h = job["spec"]["template"]["metadata"]["annotations"][keycloak.LABEL_REALM_HASH]
    assert h == keycloak.realm_sha256(env) == keycloak.realm_sha256(env)
    changed = env.model_copy(update={"keycloak": env.keycloak.model_copy(update={"access_token_lifespan_seconds": 600})})
    job2 = find(keycloak.build(changed), "Job", keycloak.REALM_JOB)
    assert job2["spec"]["template"]["metadata"]["annotations"][keycloak.LABEL_REALM_HASH] != h
    cm = find(keycloak.build(env), "ConfigMap", keycloak.REALM_CONFIGMAP)
    assert f"$(file:UTF-8:{keycloak.CLIENTS_DIR}/jupyterhub)" in cm["data"]["realm.json"]
    # credentials reach keycloak-config-cli as files, never as env vars
    pod = job["spec"]["template"]["spec"]
    env_vars = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert not [e for e in env_vars.values() if "valueFrom" in e]
    assert env_vars["SPRING_CONFIG_IMPORT"]["value"] == f"configtree:{keycloak.ADMIN_DIR}/"
    secrets = {v["secret"]["secretName"]: v["secret"]["items"] for v in pod["volumes"] if "secret" in v}
    assert {i["path"] for i in secrets["keycloak-bootstrap-admin"]} == {"keycloak.user", "keycloak.password"}
    # every client's secret file is mounted (team UI clients read platform-ui's)
    assert {i["key"] for i in secrets["keycloak-oidc-clients"]} == {
        c["secret"].rsplit("/", 1)[1].rstrip(")") for c in keycloak.clients(env)}


def test_admin_console_is_blocked_at_the_alb_unless_configured(envs):
    env = envs["prod"]
    ing = find(keycloak.build(env), "Ingress", "keycloak")
    paths = ing["spec"]["rules"][0]["http"]["paths"]
    assert paths[0]["path"] == "/admin" and paths[0]["backend"]["service"]["port"] == {"name": "use-annotation"}
    public = env.model_copy(update={"keycloak": env.keycloak.model_copy(update={"public_admin_console": True})})
    ing = find(keycloak.build(public), "Ingress", "keycloak")
    assert [p["path"] for p in ing["spec"]["rules"][0]["http"]["paths"]] == ["/"]
