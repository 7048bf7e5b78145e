"""Component `ingress`: the env's one shared internet-facing ALB, as an IngressClass.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component
# -- imports: routes, credentials, secrets
from . import access
# -- imports: rules, dashboards
# -- imports: checks
# -- imports: versions
from .objects import NAME, build

# Contribution hooks are grouped by mechanism; add lines under a group's comment only.
UNIT = Component(
    NAME,
    "The env's IngressClass: one shared internet-facing ALB, TLS with ACM, HTTPS redirect",
    build,
    # -- routes, credentials, secrets
    credentials=access.CREDENTIALS,
    secrets=access.secrets,
    # -- rules, dashboards
    # -- checks
    # -- versions
)

__all__ = ["UNIT", "NAME"]
# -- published facts: routes, credentials, secrets
# -- published facts: rules, dashboards
# -- published facts: checks
# -- published facts: versions
