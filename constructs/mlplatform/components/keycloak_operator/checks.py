"""What the Keycloak operator makes that no manifest of ours declares: the Service `<name>-service`
of every Keycloak CR (its ports are the operator's business: not judged)."""
from __future__ import annotations

from ...kit.checks import RenderedEnv, objects


def made_services(r: RenderedEnv) -> dict[tuple[str, str], frozenset[int] | None]:
    """(namespace, Service) -> None (ports not known here) for every Keycloak CR of the env."""
    out: dict[tuple[str, str], frozenset[int] | None] = {}
    for _, o in objects(r):
        if o.get("kind") == "Keycloak":
            md = o.get("metadata") or {}
            out[(md.get("namespace"), f"{md.get('name', '')}-service")] = None
    return out
