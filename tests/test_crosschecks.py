"""Cluster base: ALB ingress + DNS, storage, Keycloak and the cross-checks between them."""
import copy
import json

import pytest

from conftest import find
from mlplatform.components.external_dns import objects as external_dns
from mlplatform.components.ingress import objects as ingress
from mlplatform.components.jupyterhub import access as jupyterhub_access
from mlplatform.components.keycloak import checks as keycloak_checks
from mlplatform.components.keycloak import objects as keycloak
from mlplatform.components.mlflow import access as mlflow_access
from mlplatform.components.storage import objects as storage
from mlplatform.components.aws_load_balancer_controller import objects as lbc
from mlplatform.kit import routes
from mlplatform.validate import crosschecks, validate


def _objs(r, comp):
    return r.components.get(comp, [])


def _all(r):
    return [o for objs in r.components.values() for o in objs]


# --------------------------------------------------------------------------- ingress + dns
def test_one_shared_alb_per_env_with_tls_and_https_redirect(rendered):
    for name, r in rendered.items():
        infra = r.env.infrastructure
        params = find(_objs(r, "ingress"), "IngressClassParams", r.env.ingress.class_name)["spec"]
        assert params["group"] == {"name": f"{infra.cluster_name}-platform"}
        assert params["scheme"] == "internet-facing" and params["targetType"] == "ip"
        assert params["certificateArn"] == [infra.certificate_arn]
        assert params["sslRedirectPort"] == "443" and params["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
        assert len(params["loadBalancerName"]) <= 32
        cls = find(_objs(r, "ingress"), "IngressClass", r.env.ingress.class_name)
        assert cls["spec"]["controller"] == "ingress.k8s.aws/alb"
        for ing in (o for o in _all(r) if o["kind"] == "Ingress"):
            assert ing["spec"]["ingressClassName"] == r.env.ingress.class_name
            assert "alb.ingress.kubernetes.io/healthcheck-path" in ing["metadata"]["annotations"]
            assert all(rule["host"] in ing["spec"]["tls"][0]["hosts"] for rule in ing["spec"]["rules"])


def test_ingress_annotations_are_generated_not_scattered(envs):
    """ALB-login routes get the OIDC action pointing at the realm; app-login routes don't."""
    env = envs["staging"]
    from mlplatform.kit.ingress import annotations
    alb = annotations(env, mlflow_access.ROUTE)
    oidc = json.loads(alb["alb.ingress.kubernetes.io/auth-idp-oidc"])
    assert oidc["issuer"] == f"https://auth.{env.domain}/realms/{env.keycloak.realm}"
    assert oidc["tokenEndpoint"].endswith("/protocol/openid-connect/token")
    assert alb["alb.ingress.kubernetes.io/auth-on-unauthenticated-request"] == "authenticate"
    app = annotations(env, jupyterhub_access.ROUTE)
    assert "alb.ingress.kubernetes.io/auth-type" not in app


def test_alb_controller_and_external_dns_use_irsa_and_the_env_zone(envs):
    for env in envs.values():
        infra = env.infrastructure
        v = lbc.helm(env).values
        assert v["clusterName"] == infra.cluster_name and v["vpcId"] == infra.vpc_id
        assert v["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == infra.roles.load_balancer_controller
        assert v["createIngressClassResource"] is False, "the IngressClass is ours, in dist/"
        assert v["clusterSecretsPermissions"]["allowAllSecrets"] is False
        d = external_dns.helm(env).values
        assert d["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == infra.roles.external_dns
        assert d["domainFilters"] == [env.domain] and d["txtOwnerId"] == infra.cluster_name
        assert f"--zone-id-filter={infra.route53_zone_id}" in d["extraArgs"]
        assert d["sources"] == ["ingress"]


def test_alb_controller_webhook_certificates_do_not_churn(rendered):
    """The chart signs its webhook cert at render time: Argo CD must keep the live one."""
    app = find(_objs(rendered["dev"], "argocd-apps"), "Application", "dev-aws-load-balancer-controller")
    kinds = {d["kind"] for d in app["spec"]["ignoreDifferences"]}
    assert kinds == {"Secret", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
    assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]


def test_only_route_namespaces_and_teams_may_join_the_alb(envs):
    env = envs["prod"]
    sel = find(ingress.build(env), "IngressClassParams", env.ingress.class_name)["spec"]["namespaceSelector"]
    (expr,) = sel["matchExpressions"]
    assert set(expr["values"]) == {r.namespace for r in routes.for_env(env)} | {env.team_namespace(t) for t in env.teams}


# --------------------------------------------------------------------------- storage
def test_storage_classes_and_volumes_are_defined_once(rendered):
    for r in rendered.values():
        all_objs = _all(r)
        classes = [o for o in all_objs if o["kind"] == "StorageClass"]
        assert sorted(c["metadata"]["name"] for c in classes) == ["efs-sc", "gp3"]
        defaults = [c for c in classes if c["metadata"].get("annotations", {}).get(
            "storageclass.kubernetes.io/is-default-class") == "true"]
        assert [c["metadata"]["name"] for c in defaults] == ["gp3"]
        pvs = [o["metadata"]["name"] for o in all_objs if o["kind"] == "PersistentVolume"]
        assert len(pvs) == len(set(pvs)) == len(r.env.storage.efs_mounts)


def test_gp3_is_encrypted_and_zone_aware(envs):
    gp3 = find(storage.build(envs["prod"]), "StorageClass", "gp3")
    assert gp3["parameters"]["encrypted"] == "true" and gp3["parameters"]["type"] == "gp3"
    assert gp3["volumeBindingMode"] == "WaitForFirstConsumer" and gp3["allowVolumeExpansion"] is True


def test_efs_volumes_are_prebound_retained_and_use_the_terraform_access_point(envs):
    for env in envs.values():
        objs = storage.build(env)
        efs = env.infrastructure.efs
        for m in env.storage.efs_mounts:
            pv = find(objs, "PersistentVolume", storage.pv_name(m.namespace))
            pvc = find(objs, "PersistentVolumeClaim", storage.claim_name(m.namespace))
            assert pv["spec"]["csi"]["volumeHandle"] == f"{efs.file_system_id}::{efs.access_point_id}"
            assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
            assert pv["spec"]["accessModes"] == ["ReadWriteMany"] == pvc["spec"]["accessModes"]
            assert pv["spec"]["claimRef"]["namespace"] == m.namespace == pvc["metadata"]["namespace"]
            assert pv["spec"]["claimRef"]["name"] == pvc["metadata"]["name"]
            assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
            assert "Delete=false" in pvc["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]


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


# --------------------------------------------------------------------------- waves
def test_sync_waves_follow_real_dependencies(rendered):
    w = rendered["prod"].waves
    assert w["namespaces"] < w["keycloak-operator"] < w["keycloak"]
    assert w["external-secrets"] < w["secrets"] < w["keycloak"], "Keycloak mounts Secrets made by ExternalSecrets"
    assert w["aws-load-balancer-controller"] < w["ingress"]


# --------------------------------------------------------------------------- cross-checks
def test_cross_checks_pass_for_every_env(rendered):
    for r in rendered.values():
        assert crosschecks.check(r) == []


def _mutated(r):
    r2 = copy.copy(r)
    r2.components = copy.deepcopy(r.components)
    return r2


def test_host_outside_domain_or_certificate_is_caught(rendered):
    r = _mutated(rendered["dev"])
    ing = find(r.components["keycloak"], "Ingress", "keycloak")
    ing["spec"]["rules"][0]["host"] = "auth.example.org"
    problems = crosschecks.check_hosts(r)
    assert any("not under the env domain" in p for p in problems)
    assert any("not covered by the certificate" in p for p in problems)
    deep = _mutated(rendered["dev"])
    ing = find(deep.components["keycloak"], "Ingress", "keycloak")
    ing["spec"]["rules"][0]["host"] = ing["spec"]["tls"][0]["hosts"][0] = f"a.auth.{r.env.domain}"
    assert any("not covered by the certificate" in p for p in crosschecks.check_hosts(deep)), "a wildcard covers one label"


def test_redirect_without_ingress_route_is_caught(rendered):
    r = _mutated(rendered["dev"])
    cm = find(r.components["keycloak"], "ConfigMap", keycloak.REALM_CONFIGMAP)
    realm = json.loads(cm["data"]["realm.json"])
    realm["clients"][0]["redirectUris"].append(f"https://platform.{r.env.domain}/notebooks/callback")
    cm["data"]["realm.json"] = json.dumps(realm)
    assert any("matches no ingress host and path" in p for p in keycloak_checks.check_redirects(r))


def test_missing_store_and_dangling_secret_reference_are_caught(rendered):
    r = _mutated(rendered["dev"])
    es = find(r.components["secrets"], "ExternalSecret", "keycloak-db")
    es["spec"]["secretStoreRef"]["name"] = "vault"
    kc = find(r.components["keycloak"], "Keycloak", "keycloak")
    kc["spec"]["db"]["passwordSecret"]["name"] = "keycloak-db-typo"
    problems = crosschecks.check_secrets(r)
    assert any("store ClusterSecretStore/vault does not exist" in p for p in problems)
    assert any("Secret keycloak/keycloak-db-typo, which no ExternalSecret creates" in p for p in problems)


def test_validate_reports_cross_check_problems(rendered):
    r = _mutated(rendered["staging"])
    find(r.components["ingress"], "IngressClass", r.env.ingress.class_name)  # still there
    for o in r.components["secrets"]:
        if o["kind"] == "ClusterSecretStore":
            o["metadata"]["name"] = "renamed"
    assert any("/crosscheck: " in p and "does not exist" in p for p in validate(r))


def test_chart_value_naming_a_missing_secret_is_caught(rendered):
    from mlplatform.kit.component import HelmRelease
    r = _mutated(rendered["dev"])
    r.helm = dict(r.helm)
    r.helm["fake"] = HelmRelease("airflow", "mlflow", "mlflow", {
        "backendStore": {"existingDatabaseSecret": {"name": "mlflow-db"}},  # made by an ExternalSecret
        "artifactRoot": {"s3": {"existingSecret": {"name": "mlflow-s3"}}},  # made by nobody
        "auth": {"existingAdminSecret": "mlflow-admin", "fernetKeySecretName": "mlflow-db"},
    })
    problems = crosschecks.check_secrets(r)
    assert problems == ["fake/HelmRelease/mlflow: values name Secret mlflow/mlflow-admin, which no ExternalSecret creates",
                        "fake/HelmRelease/mlflow: values name Secret mlflow/mlflow-s3, which no ExternalSecret creates"]


def test_chart_container_sizes_need_requests_and_limits():
    from mlplatform.validate.charts import check_resources
    assert check_resources({"a": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                                "limits": {"cpu": "1", "memory": "1Gi"}}}}) == []
    assert check_resources({"webhook": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                                      "limits": {"memory": "1Gi"}}}}) == [
        "webhook.resources: no limits.cpu (requests and limits for cpu and memory on every container)"]


def test_every_chart_we_size_has_requests_and_limits(rendered):
    from mlplatform.validate.charts import check_resources
    for r in rendered.values():
        for rel in r.helm.values():
            assert check_resources(rel.values) == [], rel.chart
