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


@dataclass(frozen=True)
class Component:
    name: str
    description: str
    build: Callable[[Any], list[Obj]]  # Env -> objects; pure: no I/O, no globals
    helm: Callable[[Any], HelmRelease | None] | None = None
    # Objects whose loss destroys state (PVCs, databases) make Argo CD keep them on prune.
    prune: bool = True
