"""The `keycloak` section: the Keycloak servers and the platform realm's token and session lifetimes,
and the organisation's LDAP / Active Directory the realm federates (`directory`); `KeycloakRole`,
the realm roles other units' settings refer to (published by the unit)."""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ...config.base import DnsLabel, Model, Quantity, refuse, twice

KeycloakRole = Literal["admin", "ml-engineer", "data-scientist", "viewer"]  # realm roles (objects.py ROLES)


# An LDAP distinguished name: comma-separated attr=value pairs (loose; the directory has the last word).
Dn = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]*=[^,=]+(,\s*[A-Za-z][A-Za-z0-9-]*=[^,=]+)*$",
                          examples=["ou=People,dc=example,dc=org"])]
LdapAttribute = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]*$", max_length=64)]
_LDAP_URL = re.compile(r"^(ldaps?)://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$")

# Per vendor: (username, RDN, UUID attribute, user object classes, group object classes, nested-group strategy).
VENDOR_DEFAULTS: dict[str, dict] = {
    "ad": {"username": "sAMAccountName", "rdn": "cn", "uuid": "objectGUID",
           "user_classes": ["person", "organizationalPerson", "user"], "group_classes": ["group"]},
    "ldap": {"username": "uid", "rdn": "uid", "uuid": "entryUUID",
             "user_classes": ["inetOrgPerson", "organizationalPerson"], "group_classes": ["groupOfNames"]},
}


class DirectoryGroupRole(Model):
    """One directory group whose members get a realm role."""

    group: Annotated[str, Field(pattern=r"^[^/,=*()\\]+$", min_length=1, max_length=64)] = Field(
        description="the group's name in the directory (its `group_name_attribute`, e.g. cn=hpc-staff -> hpc-staff)")
    roles: list[KeycloakRole] = Field(min_length=1, description="realm roles its members get")


class PosixAttributes(Model):
    """Where the directory keeps a user's POSIX identity (RFC 2307 / AD's Unix attributes)."""

    uid_number: LdapAttribute = Field(default="uidNumber", description="the user's numeric uid")
    gid_number: LdapAttribute = Field(default="gidNumber", description="the user's primary numeric gid")
    supplementary_gids: LdapAttribute | None = Field(default=None,
        description="a multi-valued user attribute with the numeric gids of the user's other groups "
                    "(none: notebooks get the primary gid only)")


class DirectoryConfig(Model):
    """The organisation's LDAP or Active Directory, federated read-only into the platform realm
    (a `ldap` user-storage component with its mappers, declared in the realm file). The bind
    password comes from the `keycloak/directory-bind` secret (ExternalSecret), never from git."""

    vendor: Literal["ad", "ldap"] = Field(description="`ad` (Active Directory) or `ldap` (OpenLDAP, 389 DS, FreeIPA...)")
    connection_url: str = Field(description="ldaps://host[:port], or ldap://host[:port] with start_tls: true; "
                                            "several URLs separated by spaces are tried in order",
                                examples=["ldaps://ad.example.org:636"])
    start_tls: bool = Field(default=False, description="upgrade an ldap:// connection with StartTLS (required for ldap://)")
    use_truststore: bool = Field(default=True,
        description="verify the directory's certificate against Keycloak's truststore (the system CAs plus "
                    "`ca_certificate`); off only for a test directory")
    ca_certificate: bool = Field(default=False,
        description="the directory's certificate is signed by a private CA: its PEM comes from the "
                    "`keycloak/directory-ca` secret and is added to Keycloak's truststore")
    bind_dn: Dn = Field(description="the read-only service account Keycloak binds as (its password: secret keycloak/directory-bind)")
    users_dn: Dn = Field(description="where users are searched")
    search_scope: Literal["one_level", "subtree"] = Field(default="subtree", description="search below users_dn/groups_dn")
    user_object_classes: list[LdapAttribute] | None = Field(default=None,
        description="object classes of a user entry (default per vendor: AD person, organizationalPerson, user; "
                    "LDAP inetOrgPerson, organizationalPerson)")
    user_filter: str | None = Field(default=None, description="extra LDAP filter users must match, in parentheses",
                                    examples=["(memberOf=cn=ml-platform,ou=Groups,dc=example,dc=org)"])
    username_attribute: LdapAttribute | None = Field(default=None,
        description="the login name (default: AD sAMAccountName, LDAP uid)")
    rdn_attribute: LdapAttribute | None = Field(default=None, description="RDN of a user entry (default: AD cn, LDAP uid)")
    uuid_attribute: LdapAttribute | None = Field(default=None,
        description="the entry's immutable id (default: AD objectGUID, LDAP entryUUID)")
    groups_dn: Dn | None = Field(default=None, description="where groups are searched (needed by group_roles)")
    group_object_classes: list[LdapAttribute] | None = Field(default=None,
        description="object classes of a group entry (default: AD group, LDAP groupOfNames)")
    group_name_attribute: LdapAttribute = Field(default="cn", description="a group's name")
    group_membership_attribute: LdapAttribute = Field(default="member", description="a group's member DNs")
    group_roles: list[DirectoryGroupRole] = Field(default_factory=list,
        description="directory groups -> realm roles. Only these groups are imported (as subgroups of the "
                    "realm group `directory`), so the realm holds no group the platform doesn't map")
    posix: PosixAttributes | None = Field(default=PosixAttributes(),
        description="POSIX identity attributes; notebooks run as the user's uid/gid (none: the platform default)")
    full_sync_period_seconds: Annotated[int, Field(ge=0, le=2592000)] = Field(default=604800,
        description="import every user this often (0: never; logins still look users up)")
    changed_sync_period_seconds: Annotated[int, Field(ge=0, le=604800)] = Field(default=3600,
        description="import users changed since the last sync this often (0: never)")
    connection_timeout_ms: Annotated[int, Field(ge=1000, le=60000)] = Field(default=5000,
        description="LDAP connect and read timeout, milliseconds")
    identity_clients: list[DnsLabel] = Field(default_factory=lambda: ["jupyterhub"], min_length=1,
        description="OIDC clients whose tokens and userinfo carry the POSIX claims (uid_number, gid_number, "
                    "supplementary_gids)")

    def default(self, what: str):
        """The vendor default of an attribute left unset."""
        return VENDOR_DEFAULTS[self.vendor][what]

    @model_validator(mode="after")
    def _directory(self) -> "DirectoryConfig":
        urls = self.connection_url.split()
        if not urls:
            raise ValueError("connection_url: no URL")
        for u in urls:
            m = _LDAP_URL.match(u)
            if not m:
                raise ValueError(f"connection_url: {u!r} is not ldaps://host[:port] or ldap://host[:port]")
            if m.group(1) == "ldap" and not self.start_tls:
                raise ValueError(f"connection_url: {u} is plain LDAP: the bind password and every user's password "
                                 "would cross the network in clear; use ldaps:// or set start_tls: true")
            if m.group(1) == "ldaps" and self.start_tls:
                raise ValueError(f"connection_url: {u} is already TLS (ldaps://); start_tls applies to ldap:// only")
        if self.user_filter is not None and not (self.user_filter.startswith("(") and self.user_filter.endswith(")")
                                                 and self.user_filter.count("(") == self.user_filter.count(")")):
            raise ValueError("user_filter: an LDAP filter in balanced parentheses, e.g. (objectClass=person)")
        if self.group_roles and self.groups_dn is None:
            raise ValueError("group_roles needs groups_dn (where the directory's groups are)")
        refuse("group_roles lists groups twice", twice([g.group for g in self.group_roles]))
        return self


class KeycloakConfig(Model):
    instances: Annotated[int, Field(ge=1, le=9)] = Field(default=1,
        description="Keycloak server pods (more than one also gets a PodDisruptionBudget)")
    realm: DnsLabel = Field(default="mlplatform", description="the platform realm (never `master`)")
    public_admin_console: bool = Field(default=False, description="serve /admin on the internet (else the ALB answers 403)")
    cpu_request: Quantity = Field(default="500m", description="CPU request of each Keycloak pod")
    memory_request: Quantity = Field(default="1Gi", description="memory request of each Keycloak pod")
    cpu_limit: Quantity = Field(default="2", description="CPU limit of each Keycloak pod")
    memory_limit: Quantity = Field(default="2Gi", description="memory limit of each Keycloak pod")
    access_token_lifespan_seconds: Annotated[int, Field(ge=60, le=86400)] = Field(default=300,
        description="lifetime of an access token in seconds (realm accessTokenLifespan)")
    sso_session_idle_seconds: Annotated[int, Field(ge=300, le=604800)] = Field(default=1800,
        description="an SSO session idle this many seconds ends (realm ssoSessionIdleTimeout; also the Airflow session length)")
    sso_session_max_seconds: Annotated[int, Field(ge=600, le=2592000)] = Field(default=36000,
        description="an SSO session ends this many seconds after login at the latest (realm ssoSessionMaxLifespan)")
    directory: DirectoryConfig | None = Field(default=None,
        description="federate the organisation's LDAP or Active Directory into the realm (none: realm users only)")

    @model_validator(mode="after")
    def _realm(self) -> "KeycloakConfig":
        if self.realm == "master":
            raise ValueError("realm must not be `master`: apps get a dedicated realm")
        return self
