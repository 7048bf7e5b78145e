"""The `keycloak` section: the Keycloak servers and the platform realm's token and session lifetimes;
`KeycloakRole`, the realm roles other units' settings refer to (published by the unit)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ...config.base import DnsLabel, Model, Quantity

KeycloakRole = Literal["admin", "ml-engineer", "data-scientist", "viewer"]  # realm roles (objects.py ROLES)


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

    @model_validator(mode="after")
    def _realm(self) -> "KeycloakConfig":
        if self.realm == "master":
            raise ValueError("realm must not be `master`: apps get a dedicated realm")
        return self
