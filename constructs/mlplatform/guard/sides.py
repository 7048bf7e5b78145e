"""One side (old or new) of an env for the guard: its objects by cluster identity, its Applications,
and who installs each CRD (our folders, and the charts and upstream manifests of the Applications)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..kit import versions
from ..kit.meta import LABEL_COMPONENT, SYNC_OPTIONS, group_of, ref

Ident = tuple[str, str, str, str]  # (API group, kind, namespace or "", name)
Obj = dict[str, Any]


def identity(o: Obj) -> Ident:
    md = o.get("metadata") or {}
    return (group_of(str(o.get("apiVersion", ""))), str(o.get("kind", "")), md.get("namespace") or "",
            str(md.get("name")))


def annotations_of(o: Obj) -> dict[str, str]:
    return (o.get("metadata") or {}).get("annotations") or {}


def sync_options(o: Obj) -> set[str]:
    return {p.strip() for p in str(annotations_of(o).get(SYNC_OPTIONS, "")).split(",") if p.strip()}


def group_kind(gk: str) -> tuple[str, str]:
    kind, _, group = gk.partition(".")
    return group, kind


@dataclass(frozen=True)
class Source:
    """A chart or upstream-manifests source of an Application (our own dist/ path is not one)."""

    key: tuple[str, str]  # ("chart", chart name) | ("manifests", versions.MANIFESTS key)
    label: str
    crds: tuple[tuple[str, str], ...]  # (group, kind) it installs

    @property
    def what(self) -> str:
        return "chart" if self.key[0] == "chart" else "upstream manifests"


def app_sources(app: Obj) -> list[Source]:
    spec = app.get("spec") or {}
    out = []
    for s in ([spec["source"]] if spec.get("source") else []) + list(spec.get("sources") or []):
        if s.get("chart"):
            c = versions.CHARTS.get(s["chart"])
            out.append(Source(("chart", s["chart"]), f"chart {s['chart']} {s.get('targetRevision', '')}".strip(),
                               tuple(group_kind(x) for x in (c.provides_crds if c else ()))))
            continue
        m = next((m for m in versions.MANIFESTS.values()
                  if m.repo_url == s.get("repoURL") and m.path == s.get("path")), None)
        if m is not None:
            label = f"upstream manifests {m.name} {s.get('targetRevision', '')}".strip()
            out.append(Source(("manifests", m.name), label,
                               tuple(group_kind(x) for x in m.provides_crds)))
    return out


@dataclass
class Side:
    env: str
    index: dict[Ident, tuple[str, Obj]]       # identity -> (component, object)
    apps: dict[str, Obj]                      # component -> its Application
    crds: dict[tuple[str, str], list[str]]    # (group, kind) -> who installs it ("dev-kuberay (chart ...)")

    def app_name(self, comp: str) -> str:
        app = self.apps.get(comp)
        return (app.get("metadata") or {}).get("name", comp) if app else f"the Application of dist/{self.env}/{comp}/"

    def users_of(self, gk: tuple[str, str]) -> list[str]:
        return sorted(f"{ref(o)} ({c})" for (g, k, _, _), (c, o) in self.index.items() if (g, k) == gk)

    def storage_class(self, name: str | None) -> Obj | None:
        hit = self.index.get(("storage.k8s.io", "StorageClass", "", str(name)))
        return hit[1] if hit else None


def side(env: str, comps: Mapping[str, Mapping[str, Any]]) -> Side:
    index: dict[Ident, tuple[str, Obj]] = {}
    apps: dict[str, Obj] = {}
    crds: dict[tuple[str, str], list[str]] = {}
    for comp in sorted(comps):
        for key, o in sorted(comps[comp].items()):
            if key.startswith("file/") or not isinstance(o, dict):
                continue
            ident = identity(o)
            index.setdefault(ident, (comp, o))
            if ident[:2] == ("argoproj.io", "Application"):
                owner = ((o.get("metadata") or {}).get("labels") or {}).get(LABEL_COMPONENT)
                if owner:
                    apps[owner] = o
            elif ident[:2] == ("apiextensions.k8s.io", "CustomResourceDefinition"):
                spec = o.get("spec") or {}
                gk = (str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", "")))
                crds.setdefault(gk, []).append(f"{ref(o)} ({comp})")
    for comp, app in sorted(apps.items()):
        name = (app.get("metadata") or {}).get("name", comp)
        for s in app_sources(app):
            for gk in s.crds:
                crds.setdefault(gk, []).append(f"{name} ({s.label})")
    return Side(env, index, apps, crds)
