"""The organisation's directory in the realm: LDAP / Active Directory user federation, declared in
the same realm file keycloak-config-cli applies (so it is reviewed, versioned and re-applied like
the clients and groups).

* `components`: one `org.keycloak.storage.UserStorageProvider` component (provider `ldap`,
  READ_ONLY: the directory stays the source of truth, passwords are checked by binding as the
  user) with its `LDAPStorageMapper` sub-components:
  - the profile attributes (username, names, email; on AD the account-control mapper, so a
    disabled AD account can't log in);
  - the POSIX identity: `uidNumber` / `gidNumber` (and an optional multi-valued attribute of
    supplementary gids) become the user attributes `uid_number` / `gid_number` /
    `supplementary_gids`, always read from the directory;
  - a `group-ldap-mapper` that imports exactly the mapped groups (`groups.ldap.filter` lists them)
    as subgroups of the realm group `/directory`. The realm file declares those subgroups with
    their realm roles, so directory group -> realm role is plain group role mapping, and
    keycloak-config-cli (which deletes groups the file doesn't declare) never removes a group the
    directory needs.
* The bind password is never in git: `bindCredential` is the placeholder
  `$(file:UTF-8:/run/secrets/directory/bind-password)`, which keycloak-config-cli fills from the
  `keycloak-directory` Secret (ExternalSecret of `keycloak/directory-bind`) mounted in its Job.
* Protocol mappers put the POSIX identity into the tokens and userinfo of the `identity_clients`
  (JupyterHub): claims `uid_number`, `gid_number` (numbers) and `supplementary_gids` (a list).
  JupyterHub reads them from its auth state (userinfo) to run notebooks as the user.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import DirectoryConfig

if TYPE_CHECKING:
    from ...config.models import Env

PROVIDER_TYPE = "org.keycloak.storage.UserStorageProvider"
MAPPER_TYPE = "org.keycloak.storage.ldap.mappers.LDAPStorageMapper"
FEDERATION = "directory"      # the component's name (shown as the user's federation link)
DIRECTORY_GROUP = "directory"  # realm group holding the imported directory groups
DIRECTORY_DIR = "/run/secrets/directory"  # where the realm sync mounts the bind password


@dataclass(frozen=True)
class PosixClaims:
    """Claim names (userinfo and tokens) of a user's POSIX identity; absent when the directory has none."""

    uid: str = "uid_number"
    gid: str = "gid_number"
    supplementary_gids: str = "supplementary_gids"


POSIX_CLAIMS = PosixClaims()


def posix_claims(env: Env) -> PosixClaims | None:
    """The claims JupyterHub reads the user's POSIX identity from, when the env's directory provides one."""
    d = env.keycloak.directory
    return POSIX_CLAIMS if d is not None and d.posix is not None else None


def _cfg(**kv: object) -> dict[str, list[str]]:
    """Component config: every value is a list of strings (RealmRepresentation `components`)."""
    out: dict[str, list[str]] = {}
    for k, v in kv.items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        out[k] = v if isinstance(v, list) else [str(v)]
    return out


def _attribute(name: str, ldap: str, model: str, *, mandatory: bool = False, always_read: bool = False) -> dict:
    return {"name": name, "providerId": "user-attribute-ldap-mapper",
            "config": _cfg(**{"ldap.attribute": ldap, "user.model.attribute": model, "read.only": True,
                              "always.read.value.from.ldap": always_read, "is.mandatory.in.ldap": mandatory,
                              "is.binary.attribute": False, "attribute.force.default": False})}


def ldap_escape(value: str) -> str:
    """RFC 4515 escaping of a value inside an LDAP filter."""
    return "".join(f"\\{ord(c):02x}" if c in "\\*()\0" else c for c in value)


def groups_filter(d: DirectoryConfig) -> str:
    """The filter that limits imported groups to the mapped ones."""
    names = [f"({d.group_name_attribute}={ldap_escape(g.group)})" for g in sorted(d.group_roles, key=lambda g: g.group)]
    return names[0] if len(names) == 1 else "(|" + "".join(names) + ")"


def mappers(d: DirectoryConfig) -> list[dict]:
    """The LDAP mappers of the federation, sorted by name (the realm file is byte-stable)."""
    out = [
        _attribute("username", d.username_attribute or d.default("username"), "username", mandatory=True),
        _attribute("first name", "givenName", "firstName"),
        _attribute("last name", "sn", "lastName"),
        _attribute("email", "mail", "email"),
    ]
    if d.vendor == "ad":
        out.append({"name": "MSAD account controls", "providerId": "msad-user-account-control-mapper",
                    "config": _cfg(**{"password.policy.hints.enabled": False})})
    if d.posix is not None:
        c = POSIX_CLAIMS
        out.append(_attribute("uid number", d.posix.uid_number, c.uid, always_read=True))
        out.append(_attribute("gid number", d.posix.gid_number, c.gid, always_read=True))
        if d.posix.supplementary_gids:
            out.append(_attribute("supplementary gids", d.posix.supplementary_gids, c.supplementary_gids,
                                  always_read=True))
    if d.group_roles:
        out.append({"name": "directory groups", "providerId": "group-ldap-mapper", "config": _cfg(**{
            "groups.dn": d.groups_dn,
            "group.name.ldap.attribute": d.group_name_attribute,
            "group.object.classes": ", ".join(d.group_object_classes or d.default("group_classes")),
            "groups.ldap.filter": groups_filter(d),
            "membership.ldap.attribute": d.group_membership_attribute,
            "membership.attribute.type": "DN",
            "membership.user.ldap.attribute": d.rdn_attribute or d.default("rdn"),
            "memberof.ldap.attribute": "memberOf",
            # AD resolves nested groups server-side (LDAP_MATCHING_RULE_IN_CHAIN)
            "user.roles.retrieve.strategy": ("LOAD_GROUPS_BY_MEMBER_ATTRIBUTE_RECURSIVELY" if d.vendor == "ad"
                                             else "LOAD_GROUPS_BY_MEMBER_ATTRIBUTE"),
            "mode": "READ_ONLY",
            "preserve.group.inheritance": False,
            "ignore.missing.groups": True,
            "drop.non.existing.groups.during.sync": False,
            "groups.path": f"/{DIRECTORY_GROUP}",
            "mapped.group.attributes": [],
        })})
    return sorted(out, key=lambda m: m["name"])


def bind_credential() -> str:
    """The realm placeholder keycloak-config-cli fills from the mounted bind password."""
    from .access import BIND_PASSWORD_KEY
    return f"$(file:UTF-8:{DIRECTORY_DIR}/{BIND_PASSWORD_KEY})"


def components(env: Env) -> dict:
    """The realm's `components` (empty without a directory)."""
    d = env.keycloak.directory
    if d is None:
        return {}
    provider = {
        "name": FEDERATION,
        "providerId": "ldap",
        "config": _cfg(
            enabled=True, priority=0, vendor="ad" if d.vendor == "ad" else "other",
            connectionUrl=d.connection_url, startTls=d.start_tls,
            useTruststoreSpi="always" if d.use_truststore else "never",
            connectionPooling=not d.start_tls,  # pooled connections can't carry StartTLS
            connectionTimeout=d.connection_timeout_ms, readTimeout=d.connection_timeout_ms,
            authType="simple", bindDn=d.bind_dn, bindCredential=bind_credential(),
            usersDn=d.users_dn, searchScope="2" if d.search_scope == "subtree" else "1",
            userObjectClasses=", ".join(d.user_object_classes or d.default("user_classes")),
            customUserSearchFilter=d.user_filter or "",
            usernameLDAPAttribute=d.username_attribute or d.default("username"),
            rdnLDAPAttribute=d.rdn_attribute or d.default("rdn"),
            uuidLDAPAttribute=d.uuid_attribute or d.default("uuid"),
            editMode="READ_ONLY", importEnabled=True, syncRegistrations=False, pagination=True,
            batchSizeForSync=1000, trustEmail=False, validatePasswordPolicy=False,
            allowKerberosAuthentication=False, useKerberosForPasswordAuthentication=False,
            cachePolicy="DEFAULT",
            fullSyncPeriod=d.full_sync_period_seconds or -1,
            changedSyncPeriod=d.changed_sync_period_seconds or -1,
        ),
        "subComponents": {MAPPER_TYPE: mappers(d)},
    }
    return {PROVIDER_TYPE: [provider]}


def directory_groups(env: Env) -> list[dict]:
    """The realm group `/directory` with one subgroup per mapped directory group and its roles."""
    d = env.keycloak.directory
    if d is None or not d.group_roles:
        return []
    subs = [{"name": g.group, "path": f"/{DIRECTORY_GROUP}/{g.group}", "realmRoles": sorted(set(g.roles))}
            for g in sorted(d.group_roles, key=lambda g: g.group)]
    return [{"name": DIRECTORY_GROUP, "path": f"/{DIRECTORY_GROUP}", "realmRoles": [], "subGroups": subs}]


def identity_mappers(env: Env, client: str) -> list[dict]:
    """Protocol mappers that put the POSIX identity into `client`'s tokens and userinfo."""
    d = env.keycloak.directory
    if d is None or d.posix is None or client not in d.identity_clients:
        return []
    c = POSIX_CLAIMS

    def attr(name: str, attribute: str, multivalued: bool) -> dict:
        return {"name": name, "protocol": "openid-connect", "protocolMapper": "oidc-usermodel-attribute-mapper",
                "config": {"user.attribute": attribute, "claim.name": attribute, "jsonType.label": "long",
                           "multivalued": "true" if multivalued else "false", "aggregate.attrs": "false",
                           "id.token.claim": "true", "access.token.claim": "true",
                           "userinfo.token.claim": "true", "introspection.token.claim": "true"}}

    out = [attr("uid number", c.uid, False), attr("gid number", c.gid, False)]
    if d.posix.supplementary_gids:
        out.append(attr("supplementary gids", c.supplementary_gids, True))
    return out


def problems(env: Env, client_ids: set[str]) -> list[str]:
    """Directory settings that name things the realm doesn't have."""
    d = env.keycloak.directory
    if d is None:
        return []
    return [f"keycloak.directory.identity_clients: {c!r} is not an OIDC client of the realm "
            f"({', '.join(sorted(client_ids))})" for c in d.identity_clients if c not in client_ids]
