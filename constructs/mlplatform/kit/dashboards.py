"""Grafana dashboards as data, rendered to JSON, and the collector that ships them as ConfigMaps.

A unit whose software emits metrics contributes `dashboards(env)` (`Component.dashboards`):
`Dashboard`s of `Panel`s of `Query`s, written next to the metric families they read.
The collector (`build_configmaps`, called by the `monitoring` unit) asks every registered unit in
registry order and names none: one ConfigMap per dashboard (label `grafana_dashboard: "1"`, key
`<name>.json`), picked up by Grafana's dashboard sidecar in the monitoring namespace.

Every query reads raw series the exporters at our pinned versions really emit -- no recording
rules (those belong to the rule areas and may change on their own) -- and uses fixed
`[5m]`-style windows instead of Grafana macros, so each expression is plain PromQL that
`promtool` parses (tests/components/test_monitoring.py does, for every panel).

Determinism: the JSON is rendered with sorted keys and a fixed layout; a dashboard's uid is
derived from its name, so links and bookmarks survive re-renders and renames of the title.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from . import component
from .meta import Obj, metadata

# The Prometheus datasource kube-prometheus-stack provisions for Grafana (its sidecar's
# `grafana.sidecar.datasources.uid`; the `monitoring` unit sets this value there).
DATASOURCE_UID = "prometheus"
DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}
SIDECAR_LABEL = "grafana_dashboard"
SIDECAR_LABEL_VALUE = "1"
TAG = "ml-platform"
SCHEMA_VERSION = 39  # Grafana's dashboard JSON schema version these panels are written for
WIDTH = 24  # Grafana's grid is 24 columns wide
HEIGHT = 8


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    description: str = ""
    kind: str = "timeseries"  # timeseries | stat
    width: int = 12


@dataclass(frozen=True)
class Variable:
    """A query variable: the values of `label` on `metric` (multi-select, "All" = any)."""

    name: str
    label: str
    metric: str
    series_label: str

    @property
    def query(self) -> str:
        return f"label_values({self.metric}, {self.series_label})"


@dataclass(frozen=True)
class Dashboard:
    name: str  # ConfigMap name suffix, JSON file name, uid seed
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[Variable, ...] = field(default_factory=tuple)


def uid(name: str) -> str:
    """A stable uid from the dashboard's name (Grafana allows up to 40 characters)."""
    return f"mlp-{name}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def configmap_name(d: Dashboard) -> str:
    return f"dashboard-{d.name}"


# --------------------------------------------------------------------------- rendering
def _variable(v: Variable) -> dict:
    return {
        "name": v.name, "label": v.label, "type": "query", "datasource": dict(DATASOURCE),
        "query": {"query": v.query, "refId": f"var-{v.name}"}, "definition": v.query,
        "refresh": 2, "includeAll": True, "allValue": ".*", "multi": True, "sort": 1,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
    }


def _panel(p: Panel, pid: int, x: int, y: int) -> dict:
    out: dict = {
        "id": pid, "type": p.kind, "title": p.title, "description": p.description,
        "datasource": dict(DATASOURCE),
        "gridPos": {"h": HEIGHT, "w": p.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
        "targets": [{"refId": chr(ord("A") + i), "expr": q.expr, "legendFormat": q.legend or "__auto",
                     "datasource": dict(DATASOURCE), "range": True}
                    for i, q in enumerate(p.queries)],
    }
    if p.kind == "timeseries":
        out["options"] = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                          "tooltip": {"mode": "multi", "sort": "desc"}}
    else:
        out["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "value", "graphMode": "area"}
    return out


def render(d: Dashboard) -> dict:
    panels, x, y = [], 0, 0
    for i, p in enumerate(d.panels):
        if x + p.width > WIDTH:
            x, y = 0, y + HEIGHT
        panels.append(_panel(p, i + 1, x, y))
        x += p.width
    return {
        "uid": uid(d.name), "title": d.title, "description": d.description, "tags": [TAG],
        "timezone": "utc", "editable": False, "graphTooltip": 1, "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION, "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []}, "links": [],
        "templating": {"list": [_variable(v) for v in d.variables]},
        "panels": panels,
    }


def to_json(d: Dashboard) -> str:
    return json.dumps(render(d), sort_keys=True, indent=2) + "\n"


def expressions(d: Dashboard) -> list[str]:
    return [q.expr for p in d.panels for q in p.queries]


# --------------------------------------------------------------------------- the collector
def collect_dashboards(env: Any) -> list[Dashboard]:
    """Every unit's dashboards, in registry order."""
    found = [d for u in component.units() if u.dashboards for d in u.dashboards(env)]
    names = [d.name for d in found]
    if len(set(names)) != len(names):
        raise ValueError(f"dashboards contributed twice: {sorted({n for n in names if names.count(n) > 1})}")
    return found


def build_configmaps(env: Any, namespace: str, component_name: str) -> list[Obj]:
    """One ConfigMap per contributed dashboard, labelled for Grafana's dashboard sidecar."""
    return [{
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": metadata(configmap_name(d), component=component_name, env=env.name, namespace=namespace,
                             extra_labels={SIDECAR_LABEL: SIDECAR_LABEL_VALUE}),
        "data": {f"{d.name}.json": to_json(d)},
    } for d in collect_dashboards(env)]
