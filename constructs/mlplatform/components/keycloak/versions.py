"""Versions rows of unit `keycloak`: the Keycloak server and keycloak-config-cli images (they follow the
operator's release). `kit/versions.py` collects every unit's rows into the one versions table (`python
app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import Image, KnownStale

VERSIONS = (
    Image("keycloak", "quay.io/keycloak/keycloak", "26.0.0"),
    # Its tag is `<cli>-<Keycloak it was built against>`: the build for the server's minor (26.0),
    # checked by validate/bom.py. 6.5.0 stops printing secrets in debug logs.
    Image("keycloak-config-cli", "docker.io/adorsys/keycloak-config-cli", "6.5.0-26.0.5"),
    KnownStale("image", "keycloak", "follows the keycloak-operator manifests (26.0.0): not mirrored beyond it"),
)
