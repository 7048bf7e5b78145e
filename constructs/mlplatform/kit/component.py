"""What a component is: a name, a pure builder of objects, optionally a pinned Helm release."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .meta import Obj


@dataclass(frozen=True)
class HelmRelease:
    """Third-party software installed by Argo CD from the pinned chart with typed values."""

    chart: str  # key into versions.CHARTS
    release: str
    namespace: str
    values: dict[str, Any]
    # "Kind.group" of CRDs that objects rendered by the chart need (installed by another component).
    requires_crds: tuple[str, ...] = ()
    # Fields the chart fills at render time with fresh random data (self-signed webhook certs):
    # Argo CD keeps the live value instead of rotating it on every sync. Each entry is
    # (group, kind, name, json pointer or jq expression).
    ignore_differences: tuple[tuple[str, str, str, str], ...] = ()
    # Pod specs the chart will create from these values (e.g. one per JupyterHub profile), as
    # (name, pod spec): the cross-checks (GPU scheduling) judge them like our own pod templates.
    pod_specs: tuple[tuple[str, dict], ...] = ()
    # The labels the controller puts on those pods (what the chart's NetworkPolicies select).
    pod_labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class UpstreamManifests:
    """Plain upstream manifests Argo CD reads straight from a pinned git tag (no chart exists)."""

    source: str  # key into versions.MANIFESTS
    namespace: str | None  # destination namespace for namespaced objects without one


@dataclass(frozen=True)
class Component:
    name: str
    description: str
    build: Callable[[Any], list[Obj]]  # Env -> objects; pure: no I/O, no globals
    helm: Callable[[Any], HelmRelease | None] | None = None
    upstream: Callable[[Any], UpstreamManifests | None] | None = None
    # Objects whose loss destroys state (PVCs, databases) make Argo CD keep them on prune.
    prune: bool = True
