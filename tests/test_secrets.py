"""Secrets by reference only: a real secret scanner over everything we commit or emit."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from mlplatform.components.airflow import access as airflow_access
from mlplatform.components.secrets import objects as sec
from mlplatform.kit.secrets import DATABASE_PROPERTIES, catalog

SCANNER = Path(sys.executable).with_name("detect-secrets")
# The keyword plugin flags any value of a key containing "secret" (`credentials_secret`,
# `secrets_manager_prefix`, `external_secrets` role): ours are Secrets Manager *names* and IAM
# ARNs -- references by design. Exactly those value shapes are exempt; anything else fails.
REFERENCE = r"^(arn:aws[a-z-]*:[^\s]+|[a-z0-9-]+/([a-z0-9-]+/?)*)$"
# Lines that *name* a secret: an ExternalSecret's target keys, the Keycloak CR's bootstrap-admin
# Secret name, a Secret volume's `secretName`, chart values naming a Secret (`existingSecret`, `credentialsSecret`, `image_pull_secret`,
# `metadataSecretName`, ...: a DNS-label value, which the cross-checks require an ExternalSecret
# to create), our content hashes (`platform.mlops.io/<what>-sha256`, flagged for entropy), and
# the Hugging Face commit ids that pin served model weights (`revision:`, `--revision=`).
# (The scanner's YAML reader quotes values before matching, hence the optional quotes.)
NAMING_LINES = (r'^\s*(- )?secretKey: "?[-._a-zA-Z0-9]+"?$|^\s*secret: "?[a-z0-9-]+"?$'
                r'|^\s*[A-Za-z_]*[Ss]ecret(Name)?: "?[a-z0-9]([-a-z0-9]*[a-z0-9])?"?$'
                r'|^\s*platform\.mlops\.io/[a-z0-9-]+-sha256: "?[0-9a-f]{64}"?$'
                r'|^\s*(- )?"?(--)?revision[:=] ?"?[0-9a-f]{40}"?(\s+#.*)?$')


def scan(*paths: Path) -> dict[str, list[dict]]:
    base = paths[0].parent  # the scanner skips paths outside its working directory
    out = subprocess.run([str(SCANNER), "scan", "--all-files", "--exclude-secrets", REFERENCE,
                          "--exclude-lines", NAMING_LINES, *(str(p.relative_to(base)) for p in paths)],
                         cwd=base, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["results"]


def test_no_secret_in_dist_argocd_or_environments():
    found = scan(ROOT / "dist", ROOT / "argocd", ROOT / "environments")
    assert found == {}, {f: [(x["type"], x["line_number"]) for x in v] for f, v in found.items()}


def test_scanner_catches_a_planted_secret(tmp_path):
    """The scan above can fail: a literal credential in an env file is found."""
    d = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", d)
    (d / "dev.yaml").write_text((d / "dev.yaml").read_text() + 'db_password: "Str0ngP0stge-pas_w0rd"\n'
                                "aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    found = scan(d)
    assert any(f.endswith("dev.yaml") for f in found), found


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


def test_airflow_connection_is_templated_from_fetched_credentials(envs):
    objs = sec.build(envs["staging"])
    (es,) = [o for o in objs if o["kind"] == "ExternalSecret" and o["metadata"]["name"] == airflow_access.AIRFLOW_DB]
    conn = es["spec"]["target"]["template"]["data"]["connection"]
    db = envs["staging"].infrastructure.databases["airflow"]
    assert conn.startswith("postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}@")
    assert f"@{db.host}:{db.port}/{db.database}" in conn


def test_unknown_credential_is_a_builder_error():
    from mlplatform.kit.secrets import external_secret
    with pytest.raises(KeyError, match="not in the catalog"):
        external_secret("x", namespace="n", component="c", env="dev", prefix="p/", refresh="1h",
                        data={"k": ("nope/none", "value")})


# ------------------------------------------------------------------------------ the collectors
def _unit(name, credentials=(), wants=None):
    from mlplatform.kit.component import Component, no_objects
    return Component(name, f"fake unit {name}", no_objects, credentials=tuple(credentials),
                     secrets=None if wants is None else (lambda env: list(wants)))


def _fakes():
    from mlplatform.kit.secrets import Credential, SecretWant
    alpha = _unit("alpha", [Credential("alpha/key", ("value",), "alpha's key")],
                  [SecretWant("alpha-key", "alpha", {"key": ("alpha/key", "value")}),
                   SecretWant("alpha-db", "alpha", {"username": ("rds/alpha", "username")})])
    beta = _unit("beta", [Credential("beta/token", ("token",), "beta's token", optional=True)],
                 [SecretWant("token", "team-a", {"token": ("beta/token", "token")}, per_namespace=True),
                  SecretWant("token", "team-b", {"token": ("beta/token", "token")}, per_namespace=True)])
    return alpha, beta


def test_catalog_and_wants_are_collected_from_every_unit_in_unit_order():
    from mlplatform.kit.secrets import catalog, collect_wants
    alpha, beta = _fakes()
    quiet = _unit("quiet")
    assert list(catalog((alpha, quiet, beta))) == ["alpha/key", "beta/token"]
    assert [w.name for w in collect_wants(None, (alpha, quiet, beta))] == [
        "alpha-key", "alpha-db", "team-a-token", "team-b-token"]


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


def test_a_duplicate_credential_key_is_refused():
    from mlplatform.kit.secrets import Credential, catalog
    alpha, _ = _fakes()
    beta = _unit("beta", [Credential("alpha/key", ("value",), "a second owner")])
    with pytest.raises(ValueError, match="credential 'alpha/key' is declared by both 'alpha' and 'beta'"):
        catalog((alpha, beta))


def test_a_want_of_an_unknown_credential_or_property_is_refused():
    from mlplatform.kit.secrets import SecretWant, collect_wants
    alpha, _ = _fakes()
    stray = _unit("beta", wants=[SecretWant("x", "beta", {"k": ("nope/none", "value")})])
    with pytest.raises(KeyError, match="unit 'beta' wants Secret beta/x from credential 'nope/none', which no unit declares"):
        collect_wants(None, (alpha, stray))
    wrong = _unit("beta", wants=[SecretWant("x", "beta", {"k": ("alpha/key", "password")})])
    with pytest.raises(KeyError, match="from property 'password' of credential 'alpha/key'"):
        collect_wants(None, (alpha, wrong))


def test_a_secret_wanted_twice_is_refused():
    from mlplatform.kit.secrets import SecretWant, collect_wants
    alpha, _ = _fakes()
    again = _unit("beta", wants=[SecretWant("alpha-key", "beta", {"key": ("alpha/key", "value")})])
    with pytest.raises(ValueError, match="ExternalSecret 'alpha-key' is already wanted by 'alpha'"):
        collect_wants(None, (alpha, again))


def test_every_catalog_row_has_one_owner_and_argo_cd_contributes_its_own(envs):
    from mlplatform.kit.component import contributors, units
    from mlplatform.kit.secrets import catalog
    owners = {c.key: u.name for u in contributors() for c in u.credentials}
    assert set(owners) == set(catalog())
    assert owners["oidc/argocd"] == "argocd" and "argocd" not in {u.name for u in units()}
    assert {w.secret for w in sec.wanted(envs["dev"])} >= {"argocd-oidc"}
