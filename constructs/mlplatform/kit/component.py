"""What a component unit is, and the registry collectors read.

A unit (`components/<name>/`) is a name, a pure builder of its objects, optionally a pinned Helm
release or upstream manifests, and what it contributes to the shared mechanisms: routes, the
credentials it reads, alerts and recording rules, dashboards, the checks about it, its versions
rows. Collectors in `kit/` (and the collector units) ask every registered unit for a contribution
and never name one. `components/__init__.py` registers the units at import (`register`); kit never
imports `components`, so the registry lives here (an extension point the app fills).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .meta import Obj

if TYPE_CHECKING:  # the contribution types; those modules collect through this one
    from .routes import Route
    from .secrets import Credential, SecretWant


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
    # Env -> the routes (kit/routes.py) the unit serves: hosts, paths, backends, health, login.
    routes: Callable[[Any], list[Route]] | None = None
    # The rows of the credential catalog (kit/secrets.py) this unit reads: Secrets Manager names.
    credentials: tuple[Credential, ...] = ()
    # Env -> the Kubernetes Secrets this unit wants filled from the catalog (the `secrets` unit
    # emits one ExternalSecret per want).
    secrets: Callable[[Any], list[SecretWant]] | None = None
    # Env -> rule areas (kit/rules.py `RuleArea`: recording rules + alerts) the `prometheus-rules` unit emits.
    rules: Callable[[Any], list] | None = None
    # Env -> Grafana dashboards (kit/dashboards.py `Dashboard`) the `monitoring` unit emits.
    dashboards: Callable[[Any], list] | None = None
    # Env -> series served per pod as custom metrics (kit/monitoring.py `PodMetric`) by `prometheus-adapter`.
    custom_metrics: Callable[[Any], list] | None = None
    # Rows of the metrics facts table (kit/metrics.py): the `Exporter`s this unit runs, the `Metric`s they emit.
    metrics: tuple = ()
    # Rendered env (kit/checks.py `RenderedEnv`: env, objects by component, Helm releases) -> problems
    # `env/component/Kind/name: message` about this unit; validate/ asks every unit, enabled or not.
    checks: Callable[[Any], list[str]] | None = None
    # Rendered env -> {(namespace, Service): ports, or None when unknown} that the unit's operator or
    # chart creates for the env's objects without a manifest of ours (in-cluster URLs may name them).
    made_services: Callable[[Any], dict] | None = None
    # Rows of the one versions table this unit pins (`kit.versions.Row`: HelmChart, ManifestSource,
    # CrdPin, Image, ChartImages, KnownStale), declared in its `versions.py`; kit/versions.py collects them.
    versions: tuple = ()


def no_objects(env) -> list[Obj]:
    """`build` of a component that is only a chart or upstream manifests."""
    return []


_REGISTRY: list[Component] = []
_BOOTSTRAP: list[Component] = []


def register(units: tuple[Component, ...], bootstrap: tuple[Component, ...] = ()) -> None:
    """Called once by `components/__init__.py` with the ordered units, and the contributions of
    what the bootstrap installs before any unit (Argo CD: `kit/argocd.py` `SERVER`)."""
    names = [u.name for u in (*units, *bootstrap)]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate component names in the registry: {sorted(n for n in names if names.count(n) > 1)}")
    _REGISTRY[:] = units
    _BOOTSTRAP[:] = bootstrap


@contextmanager
def registered(units: tuple[Component, ...], bootstrap: tuple[Component, ...] | None = None) -> Iterator[None]:
    """Collectors see `units` (and `bootstrap`, default: the current one) inside the block; the
    registry is restored afterwards. For tests of collectors with fake units."""
    saved = (tuple(_REGISTRY), tuple(_BOOTSTRAP))
    register(units, saved[1] if bootstrap is None else bootstrap)
    try:
        yield
    finally:
        _REGISTRY[:], _BOOTSTRAP[:] = saved


def units() -> tuple[Component, ...]:
    """Every registered unit, in registry order (what collectors iterate)."""
    if not _REGISTRY:  # importing any unit imports `components` first, which registers them all
        raise RuntimeError("no component units registered: import mlplatform.components first")
    return tuple(_REGISTRY)


def contributors() -> tuple[Component, ...]:
    """The units, then the bootstrap's contributors: what the route, credential and Secret
    collectors ask. A bootstrap contributor serves a route and reads credentials like a unit,
    but it is not an Application of the env (it has no objects in `dist/`)."""
    return (*units(), *_BOOTSTRAP)
