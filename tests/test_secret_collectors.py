"""The credential collectors (`kit/secrets.py`): the catalog and the wanted Secrets are collected
from every unit in unit order -- two fake units stand in for the registry -- and a duplicate, an
unknown credential or a Secret wanted twice is refused."""
import pytest

from mlplatform.components.secrets import objects as sec
from mlplatform.kit.secrets import catalog


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
