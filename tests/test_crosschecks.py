"""Cross-checks over a whole rendered env (`validate/crosschecks.py`): hosts and certificates,
redirects, secret stores and references, chart container sizes, and sync waves -- each with a
planted case it must catch."""
import copy
import json

from conftest import find
from mlplatform.components.keycloak import checks as keycloak_checks
from mlplatform.components.keycloak import objects as keycloak
from mlplatform.validate import crosschecks, validate


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
