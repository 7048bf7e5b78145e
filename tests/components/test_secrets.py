"""The `secrets` unit: one ExternalSecret per wanted Secret, reading catalogued names under the env's
prefix, and the ClusterSecretStore serving only the namespaces that need it."""
from mlplatform.components.secrets import objects as sec
from test_secret_collectors import _fakes
from mlplatform.kit.secrets import DATABASE_PROPERTIES, catalog


def test_every_external_secret_reads_a_catalogued_name_under_the_env_prefix(rendered):
    for name, r in rendered.items():
        prefix = r.env.infrastructure.secrets_manager_prefix
        objs = r.components["secrets"]
        known = catalog()
        for es in (o for o in objs if o["kind"] == "ExternalSecret"):
            assert es["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}
            for item in es["spec"]["data"]:
                key = item["remoteRef"]["key"]
                assert key.startswith(prefix), (name, key)
                short = key[len(prefix):]
                props = known[short].properties if short in known else DATABASE_PROPERTIES
                assert short in known or short.startswith("rds/"), short
                assert item["remoteRef"]["property"] in props


def test_every_platform_credential_is_an_external_secret(rendered):
    """Keycloak admin and DB, OIDC clients, Airflow keys, JupyterHub hub secrets, DB passwords,
    the Hugging Face token: each catalogued credential lands in at least one Secret."""
    known = catalog()
    optional, used_somewhere = {k for k, c in known.items() if c.optional}, set()
    for r in rendered.values():
        used = {item["remoteRef"]["key"][len(r.env.infrastructure.secrets_manager_prefix):]
                for o in r.components["secrets"] if o["kind"] == "ExternalSecret" for item in o["spec"]["data"]}
        assert set(known) - optional <= used
        assert {f"rds/{db}" for db in r.env.infrastructure.databases} <= used
        used_somewhere |= used
    assert optional <= used_somewhere, "an optional credential no env reads: drop it from the catalog"


def test_store_serves_only_the_namespaces_that_need_it(rendered):
    r = rendered["prod"]
    (store,) = [o for o in r.components["secrets"] if o["kind"] == "ClusterSecretStore"]
    (cond,) = store["spec"]["conditions"]
    wanted = {o["metadata"]["namespace"] for o in r.components["secrets"] if o["kind"] == "ExternalSecret"}
    assert set(cond["namespaces"]) == wanted
    assert "auth" not in store["spec"]["provider"]["aws"], "the operator's IRSA role, no static keys"


# ------------------------------------------------------------------------------ two fake units
def test_the_secrets_unit_emits_what_the_units_want_without_naming_them(envs, monkeypatch):
    from mlplatform.kit import secrets as kit_secrets
    alpha, beta = _fakes()
    monkeypatch.setattr(sec, "contributors", lambda: (alpha, beta))
    monkeypatch.setattr(kit_secrets, "contributors", lambda: (alpha, beta))
    objs = sec.build(envs["dev"])
    (store,) = [o for o in objs if o["kind"] == "ClusterSecretStore"]
    assert store["spec"]["conditions"] == [{"namespaces": ["alpha", "team-a", "team-b"]}]
    es = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ExternalSecret"}
    assert list(es) == ["alpha-key", "alpha-db", "team-a-token", "team-b-token"]
    assert es["team-b-token"]["spec"]["target"]["name"] == "token"
    assert es["alpha-key"]["spec"]["data"][0]["remoteRef"]["key"].endswith("alpha/key")
