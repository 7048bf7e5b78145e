"""What a component unit is, and the registry collectors read.

A unit (`components/<name>/`) is a name, a pure builder of its objects, optionally a pinned Helm
release or upstream manifests, and what it contributes to the shared mechanisms: routes, the
credentials it reads, alerts and recording rules, dashboards, the checks about it, its versions
rows. Collectors in `kit/` (and the collector units) ask every registered unit for a contribution
and never name one. `components/__init__.py` registers the units at import (`register`); kit never
imports `components`, so the registry lives here (an extension point the app fills).
"""
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
    # ---- contributions to shared collectors (None / empty: the unit has nothing to give) ----
    # Env -> routes (kit/routes.py) the unit serves: hosts, paths, backends, health, login.
    routes: Callable[[Any], list] | None = None
    # Rows of the credential catalog (kit/secrets.py) this unit reads.
    credentials: tuple = ()
    # Env -> the Secrets this unit wants from the catalog (the `secrets` unit emits the ExternalSecrets).
    secrets: Callable[[Any], list] | None = None
    # Env -> rule areas (recording rules + alerts) the `prometheus-rules` unit emits.
    rules: Callable[[Any], list] | None = None
    # Env -> Grafana dashboards the `monitoring` unit emits.
    dashboards: Callable[[Any], list] | None = None
    # (env, objects of the whole env) -> problems `env/component/Kind/name: message` about this unit.
    checks: Callable[..., list] | None = None
    # Rows of the one versions table this unit pins (`kit.versions.Row`: HelmChart, ManifestSource,
    # CrdPin, Image, ChartImages, KnownStale), declared in its `versions.py`; kit/versions.py collects them.
    versions: tuple = ()


def no_objects(env) -> list[Obj]:
    """`build` of a component that is only a chart or upstream manifests."""
    return []


_REGISTRY: list[Component] = []


def register(units: tuple[Component, ...]) -> None:
    """Called once by `components/__init__.py` with the ordered units."""
    names = [u.name for u in units]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate component names in the registry: {sorted(n for n in names if names.count(n) > 1)}")
    _REGISTRY[:] = units


def units() -> tuple[Component, ...]:
    """Every registered unit, in registry order (what collectors iterate)."""
    if not _REGISTRY:  # importing any unit imports `components` first, which registers them all
        raise RuntimeError("no component units registered: import mlplatform.components first")
    return tuple(_REGISTRY)
