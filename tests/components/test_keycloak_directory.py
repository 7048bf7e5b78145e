"""Existing identities (issue 17 part 1): Keycloak federates the organisation's LDAP/AD, and
notebooks run as the user's own POSIX identity.

The realm is checked against the pinned RealmRepresentation schema (KeycloakRealmImport CRD); the
hub hooks run in the real KubeSpawner with a fake user whose auth state holds the userinfo claims,
in JupyterHub's order (pre_spawn_hook, profile load, get_pod_manifest, modify_pod_hook); the
passwd/group script runs in a real sh + awk; the resulting pod goes through Pod Security admission.
"""
import asyncio
import copy
import json
import subprocess
from unittest.mock import Mock

import pytest
from jupyterhub.objects import Hub, Server
from kubernetes_asyncio.client import ApiClient
from kubespawner import KubeSpawner
from traitlets.config import Config

from hub import User as _User, hub_config as _hub_config, no_cluster  # noqa: F401  (autouse: no cluster)
from conftest import find
from mlplatform.components.jupyterhub import identity
from mlplatform.components.jupyterhub import objects as jh
from mlplatform.components.jupyterhub.posix_identity import PosixIdentity
from mlplatform.components.keycloak import access as kc_access
from mlplatform.components.keycloak import checks as kc_checks
from mlplatform.components.keycloak import federation
from mlplatform.components.keycloak import objects as keycloak
from mlplatform.config.loader import EnvError, load_env
from mlplatform.validate.admission_pss import check_pod_spec

DIRECTORY = """\
  directory:
    vendor: ldap
    connection_url: ldap://ldap.example.org:389
    start_tls: true
    bind_dn: cn=keycloak,ou=services,dc=example,dc=org
    users_dn: ou=people,dc=example,dc=org
    groups_dn: ou=groups,dc=example,dc=org
    group_roles: [{group: scientists, roles: [data-scientist]}]
"""


def _dev_with(env_dir, keycloak_block: str, extra: str = ""):
    f = env_dir / "dev.yaml"
    text = f.read_text()
    assert "keycloak: {instances: 1}\n" in text
    f.write_text(text.replace("keycloak: {instances: 1}\n", "keycloak:\n  instances: 1\n" + keycloak_block) + extra)
    return load_env("dev", env_dir)


# --------------------------------------------------------------------------- the realm
def test_prod_realm_federates_the_directory_with_posix_and_group_mappers(envs):
    env = envs["prod"]
    realm = keycloak.realm(env)
    (ldap,) = realm["components"][federation.PROVIDER_TYPE]
    cfg = {k: v[0] if v else "" for k, v in ldap["config"].items()}
    assert ldap["providerId"] == "ldap" and cfg["vendor"] == "ad" and cfg["editMode"] == "READ_ONLY"
    assert cfg["connectionUrl"].split() == ["ldaps://dc1.corp.example.org:636", "ldaps://dc2.corp.example.org:636"]
    assert cfg["usernameLDAPAttribute"] == "sAMAccountName" and cfg["uuidLDAPAttribute"] == "objectGUID"
    assert cfg["useTruststoreSpi"] == "always"
    # the bind password is a keycloak-config-cli placeholder of the mounted secret file, not a value
    assert cfg["bindCredential"] == "$(file:UTF-8:/run/secrets/directory/bind-password)"
    mappers = {m["name"]: m for m in ldap["subComponents"][federation.MAPPER_TYPE]}
    assert mappers["uid number"]["config"]["ldap.attribute"] == ["uidNumber"]
    assert mappers["uid number"]["config"]["user.model.attribute"] == ["uid_number"]
    assert mappers["gid number"]["config"]["user.model.attribute"] == ["gid_number"]
    assert mappers["supplementary gids"]["config"]["ldap.attribute"] == ["mlpProjectGidNumber"]
    assert "MSAD account controls" in mappers
    groups = mappers["directory groups"]["config"]
    assert groups["groups.path"] == ["/directory"] and groups["mode"] == ["READ_ONLY"]
    # only the mapped groups are imported, so keycloak-config-cli never deletes one the directory needs
    assert groups["groups.ldap.filter"] == [
        "(|(cn=data-science)(cn=ml-engineering)(cn=ml-platform-admins)(cn=research-staff))"]
    (directory,) = [g for g in realm["groups"] if g["name"] == "directory"]
    assert {s["name"]: s["realmRoles"] for s in directory["subGroups"]} == {
        "data-science": ["data-scientist"], "ml-engineering": ["ml-engineer"],
        "ml-platform-admins": ["admin"], "research-staff": ["viewer"]}
    assert kc_checks.realm_schema_problems(realm) == [] and kc_checks.federation_problems(realm) == []


def test_posix_claims_go_to_jupyterhub_userinfo_only(envs):
    clients = {c["clientId"]: c for c in keycloak.realm(envs["prod"])["clients"]}
    jh_mappers = {m["name"]: m["config"] for m in clients["jupyterhub"]["protocolMappers"]}
    for name, claim, multi in (("uid number", "uid_number", "false"), ("gid number", "gid_number", "false"),
                               ("supplementary gids", "supplementary_gids", "true")):
        c = jh_mappers[name]
        assert c["claim.name"] == claim and c["user.attribute"] == claim and c["multivalued"] == multi
        assert c["userinfo.token.claim"] == "true" and c["jsonType.label"] == "long"
    for cid, c in clients.items():
        if cid != "jupyterhub":
            assert not any(m["name"] == "uid number" for m in c["protocolMappers"]), cid


@pytest.mark.parametrize("env_name", ["dev", "staging"])
def test_envs_without_a_directory_keep_the_realm_and_notebooks_as_they_were(envs, env_name):
    env = envs[env_name]
    realm = keycloak.realm(env)
    assert "components" not in realm and all(g["name"] != "directory" for g in realm["groups"])
    assert identity.extra_config(env, jh.HOME) == {}
    assert list(jh.values(env)["hub"]["extraConfig"]) == ["10-role-gated-profiles"]
    assert jh.values(env)["singleuser"]["uid"] == 1000 and jh.values(env)["singleuser"]["fsGid"] == 100
    assert kc_access.directory_secrets(env) == []


def test_realm_schema_check_catches_misspelt_and_mistyped_fields(envs):
    realm = keycloak.realm(envs["prod"])
    bad = copy.deepcopy(realm)
    bad["components"][federation.PROVIDER_TYPE][0]["confg"] = {}
    bad["clients"][0]["protocolMappers"][0]["config"]["multivalued"] = True  # must be a string
    problems = kc_checks.realm_schema_problems(bad)
    assert any("confg" in p for p in problems) and any("multivalued" in p for p in problems), problems


def test_federation_check_catches_a_bind_password_in_git_and_plain_ldap(envs):
    realm = keycloak.realm(envs["prod"])
    bad = copy.deepcopy(realm)
    cfg = bad["components"][federation.PROVIDER_TYPE][0]["config"]
    cfg["bindCredential"] = ["hunter2"]
    cfg["connectionUrl"] = ["ldap://dc1.corp.example.org"]
    problems = kc_checks.federation_problems(bad)
    assert any("bindCredential" in p for p in problems) and any("neither ldaps" in p for p in problems), problems


def test_bind_password_and_ca_reach_the_realm_sync_and_keycloak_from_external_secrets(envs):
    env = envs["prod"]
    wants = {w.secret: w for w in kc_access.secrets(env)}
    assert wants["keycloak-directory"].data == {"bind-password": ("keycloak/directory-bind", "password")}
    assert wants["keycloak-directory-ca"].data == {"directory-ca.pem": ("keycloak/directory-ca", "certificate")}
    objs = keycloak.build(env)
    pod = find(objs, "Job", keycloak.REALM_JOB)["spec"]["template"]["spec"]
    vol = next(v for v in pod["volumes"] if v["name"] == "directory")
    assert vol["secret"]["secretName"] == "keycloak-directory"
    assert {"name": "directory", "mountPath": "/run/secrets/directory", "readOnly": True} in \
        pod["containers"][0]["volumeMounts"]
    cr = find(objs, "Keycloak", keycloak.INSTANCE)
    assert cr["spec"]["truststores"] == {"directory-ca": {"secret": {"name": "keycloak-directory-ca"}}}
    # the realm ConfigMap carries no secret value
    cm = find(objs, "ConfigMap", keycloak.REALM_CONFIGMAP)
    assert "$(file:UTF-8:/run/secrets/directory/bind-password)" in cm["data"]["realm.json"]


def test_the_synthesized_prod_env_has_no_realm_problems(rendered):
    assert kc_checks.checks(rendered["prod"]) == []


@pytest.mark.parametrize("block, message", [
    (DIRECTORY.replace("    start_tls: true\n", ""), "plain LDAP"),
    (DIRECTORY.replace("ldap://ldap.example.org:389", "ldaps://ldap.example.org"), "already TLS"),
    (DIRECTORY.replace("    groups_dn: ou=groups,dc=example,dc=org\n", ""), "group_roles needs groups_dn"),
    (DIRECTORY + "    user_filter: objectClass=person\n", "balanced parentheses"),
    (DIRECTORY.replace("ou=people,dc=example,dc=org", "people"), "users_dn"),
])
def test_impossible_directories_are_config_errors(env_dir, block, message):
    with pytest.raises(EnvError) as e:
        _dev_with(env_dir, block)
    assert any(message in p and "keycloak" in p for p in e.value.problems), e.value.problems


def test_root_profiles_and_a_fallback_outside_the_bounds_are_refused_with_a_directory(envs):
    from mlplatform.config.models import Env
    from pydantic import ValidationError
    data = envs["prod"].model_dump()
    data["jupyterhub"]["profiles"][0]["run_as_root"] = True
    for ns in data["namespaces"]["platform"]:
        if ns["name"] == "jupyterhub":  # a namespace that would admit root: only the directory refuses it
            ns.update(pod_security="baseline", pod_security_reason="root notebooks for apt-get installs")
    with pytest.raises(ValidationError, match="runs as root, but keycloak.directory gives notebooks"):
        Env.model_validate(data)
    data = envs["prod"].model_dump()
    data["jupyterhub"]["posix_identity"].update(missing_uid="default", min_uid=10000)
    with pytest.raises(ValidationError, match="missing_uid: default runs as uid 1000"):
        Env.model_validate(data)
    data["jupyterhub"]["posix_identity"].update(min_uid=20000, max_uid=10000)
    with pytest.raises(ValidationError, match="min_uid must not exceed max_uid"):
        Env.model_validate(data)


def test_identity_clients_must_be_realm_clients(env_dir):
    env = _dev_with(env_dir, DIRECTORY + "    identity_clients: [jupyterhubb]\n")
    realm = keycloak.realm(env)
    assert federation.problems(env, {c["clientId"] for c in realm["clients"]}) == [
        f"keycloak.directory.identity_clients: 'jupyterhubb' is not an OIDC client of the realm "
        f"({', '.join(sorted(c['clientId'] for c in realm['clients']))})"]


# --------------------------------------------------------------------------- the hub
def _spawn(env, claims: dict | None, profile: str = "small", roles=("data-scientist",), name="alice"):
    """JupyterHub's order: pre_spawn_hook, KubeSpawner loads the profile, builds the pod, then
    modify_pod_hook. Returns the pod as the API would receive it."""
    async def run():
        user = _User()
        user.name = name
        user.groups = [Mock() for _ in roles]
        for g, r in zip(user.groups, roles):
            g.name = r

        async def get_auth_state():
            return None if claims is None else {"access_token": "fake", "oauth_user": claims}
        user.get_auth_state = get_auth_state
        sp = KubeSpawner(config=_hub_config(env), hub=Hub(), user=user, api_token="t",
                         oauth_client_id="unused", _mock=True)
        sp.user_options = {"profile": profile}
        await sp.run_pre_spawn_hook()
        await sp.load_user_options()
        pod = await sp.get_pod_manifest()
        if sp.modify_pod_hook:
            pod = await sp.modify_pod_hook(sp, pod)
        return ApiClient().sanitize_for_serialization(pod)
    return asyncio.run(run())


CLAIMS = {"preferred_username": "alice", "roles": ["data-scientist"], "uid_number": 123456, "gid_number": 5000,
          "supplementary_gids": [5001, 5002, 5000]}


def test_notebook_runs_as_the_users_posix_identity(envs):
    pod = _spawn(envs["prod"], CLAIMS)
    spec = pod["spec"]
    (nb,) = spec["containers"]
    assert nb["securityContext"]["runAsUser"] == 123456 and nb["securityContext"]["runAsGroup"] == 5000
    assert nb["securityContext"]["runAsNonRoot"] is True and nb["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["securityContext"]["fsGroup"] == 5000 and spec["securityContext"]["supplementalGroups"] == [5001, 5002]
    env = {e["name"]: e.get("value") for e in nb["env"]}
    assert env["HOME"] == "/home/jovyan" and env["NB_USER"] == env["USER"] == "alice"
    assert env["NB_UID"] == "123456" and env["NB_GID"] == "5000"
    assert "MLFLOW_TRACKING_URI" in env  # the hub-wide environment is kept
    (init,) = spec["initContainers"]
    assert init["image"] == nb["image"]  # the profile's image, applied after the pre-spawn hook
    assert init["securityContext"]["runAsUser"] == 123456 and init["securityContext"]["readOnlyRootFilesystem"]
    mounts = {m["mountPath"]: m for m in nb["volumeMounts"]}
    assert mounts["/etc/passwd"]["subPath"] == "passwd" and mounts["/etc/passwd"]["readOnly"] is True
    assert mounts["/etc/group"]["subPath"] == "group" and "/home/shared" in mounts  # the others are kept
    assert any(v["name"] == PosixIdentity.VOLUME and "emptyDir" in v for v in spec["volumes"])
    assert check_pod_spec(spec, "restricted") == []


def test_gpu_profile_keeps_its_placement_and_the_identity(envs):
    pod = _spawn(envs["prod"], CLAIMS, profile="gpu-1")
    nb = pod["spec"]["containers"][0]
    assert nb["resources"]["limits"]["nvidia.com/gpu"] == "1" and nb["securityContext"]["runAsUser"] == 123456
    assert pod["spec"]["initContainers"][0]["image"] == nb["image"] != _spawn(envs["prod"], CLAIMS)["spec"][
        "containers"][0]["image"]


@pytest.mark.parametrize("claims, message", [
    ({"uid_number": 0, "gid_number": 100}, "uid 0 is root"),
    ({"uid_number": "0", "gid_number": 100}, "uid 0 is root"),
    ({"uid_number": 999, "gid_number": 100}, "uid 999 is outside"),
    ({"uid_number": 2**31, "gid_number": 100}, "outside"),
    ({"uid_number": -5, "gid_number": 100}, "outside"),
    ({"uid_number": "12x", "gid_number": 100}, "is not a number"),
    ({"uid_number": 123456, "gid_number": 0}, "gid 0 is root"),
    ({"uid_number": 123456}, "no valid gid"),
    ({"uid_number": 123456, "gid_number": 5000, "supplementary_gids": [0]}, "supplementary gid 0"),
    ({"uid_number": [1, 2], "gid_number": 100}, "2 uids"),
    ({"preferred_username": "alice"}, "has no POSIX uid"),
    (None, "has no POSIX uid"),
])
def test_root_missing_and_out_of_range_ids_are_refused_at_spawn(envs, claims, message):
    with pytest.raises(Exception, match=message) as e:
        _spawn(envs["prod"], claims)
    assert type(e.value).__name__ == "Refused"  # the hub module's own exception (exec'd from extraConfig)


def test_missing_uid_may_fall_back_to_the_platform_default_when_configured(env_dir):
    env = _dev_with(env_dir, DIRECTORY + "    posix: {uid_number: uidNumber, gid_number: gidNumber}\n",
                    "")
    f = env_dir / "dev.yaml"
    text = f.read_text()
    f.write_text(text.replace("jupyterhub:", "jupyterhub:\n  posix_identity: {missing_uid: default}", 1))
    env = load_env("dev", env_dir)
    pod = _spawn(env, {"preferred_username": "alice"}, profile="small")
    nb = pod["spec"]["containers"][0]
    assert nb["securityContext"]["runAsUser"] == 1000 and nb["securityContext"]["runAsGroup"] == 100
    assert pod["spec"]["securityContext"]["fsGroup"] == 100
    with pytest.raises(Exception, match="uid 0 is root"):  # a present uid is still checked
        _spawn(env, {"uid_number": 0, "gid_number": 100})


def test_unix_unsafe_usernames_get_a_uid_name_in_passwd(envs):
    pod = _spawn(envs["prod"], CLAIMS, name="Alice:0:0")
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["NB_USER"] == "u123456"


def test_init_script_writes_passwd_and_group_entries(tmp_path):
    """The init container's script, run by a real sh + awk over an image-like /etc."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\njovyan:x:1000:100::/home/jovyan:/bin/bash\n"
                                "alice:x:777:777::/home/alice:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\nusers:x:100:\nproj:x:5001:bob\n")
    out = tmp_path / "out"
    out.mkdir()
    hooks = PosixIdentity(identity.settings(load_env("prod"), "/home/jovyan"))
    _, init, _ = hooks.pod_patch({"name": "alice", "uid": 123456, "gid": 5000, "groups": [100, 5001, 5002]}, "img")
    env = {e["name"]: e["value"] for e in init["env"]} | {"OUT": str(out), "PATH": "/usr/bin:/bin"}
    script = init["command"][2].replace("/etc/", f"{etc}/")
    subprocess.run(["/bin/sh", "-c", script], env=env, check=True)
    passwd = (out / "passwd").read_text().splitlines()
    assert passwd[:2] == ["root:x:0:0:root:/root:/bin/bash", "jovyan:x:1000:100::/home/jovyan:/bin/bash"]
    assert passwd[2:] == ["alice:x:123456:5000:alice:/home/jovyan:/bin/bash"]  # the image's alice replaced
    group = (out / "group").read_text().splitlines()
    assert group[:3] == ["root:x:0:", "users:x:100:alice", "proj:x:5001:bob,alice"]
    assert sorted(group[3:]) == ["alice:x:5000:", "g5002:x:5002:alice"]


def test_extra_config_is_the_module_verbatim_plus_its_install_line(envs):
    code = jh.values(envs["prod"])["hub"]["extraConfig"][identity.EXTRA_CONFIG_KEY]
    source = identity.MODULE.read_text()
    assert code.startswith(source.rstrip("\n"))
    install = code[len(source.rstrip("\n")):].strip()
    assert install.startswith("PosixIdentity.install(c, ")
    settings = json.loads(install[len("PosixIdentity.install(c, "):-1])
    assert settings == identity.settings(envs["prod"], jh.HOME)
    assert settings["min_uid"] == 1000 and settings["missing_uid"] == "refuse"


def test_pod_security_admission_sees_the_directory_users_pod(envs, rendered):
    release = jh.helm(envs["prod"])
    specs = dict(release.pod_specs)
    ident = specs["profile small (directory identity)"]
    assert ident["initContainers"][0]["name"] == PosixIdentity.INIT
    assert all(check_pod_spec(s, "restricted") == [] for s in specs.values())
    assert not any("directory identity" in n for n, _ in jh.helm(envs["dev"]).pod_specs)
