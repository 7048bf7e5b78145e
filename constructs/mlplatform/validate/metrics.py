"""Every metric and label our queries read is one the pinned exporters emit (kit/metrics.py).

Queries: every PrometheusRule expression, every Grafana dashboard panel target and template
variable (`label_values(metric, label)`) in a ConfigMap labelled for the dashboard sidecar, and
every prometheus-adapter rule (`seriesQuery`, `metricsQuery`) in the chart values. For each:

* a metric must be a row of the facts table or a series one of our rules records;
* a label in a selector (`metric{label=...}`) must be one that metric has (its row's labels plus
  its exporter's scrape target labels);
* a label in `by`/`without`/`on`/`ignoring`/`group_*` or a `label_replace` source must be one that
  some series of the expression has, or that `label_replace` makes in it.

A recorded series has the labels of the series its expression reads (and those it makes).
Plus: an exporter whose pin in kit/versions.py moved from the version its rows were checked at.

Problems read `env/component/Kind/name: query ...: message`.
"""
from __future__ import annotations

import json
import re
from typing import Iterable

from ..kit import metrics, promql
from ..kit.meta import Obj

DASHBOARD_LABEL = "grafana_dashboard"
ADAPTER_CHART = "prometheus-adapter"
_LABEL_VALUES = re.compile(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)")


def queries(r) -> Iterable[tuple[str, str, str | None]]:
    """(where, PromQL, recorded series name or None) of everything we ask Prometheus."""
    env = r.env.name
    for comp, objs in sorted(r.components.items()):
        for o in objs:
            where = f"{env}/{comp}/{o.get('kind')}/{o['metadata']['name']}"
            if o.get("kind") == "PrometheusRule":
                for g in (o.get("spec") or {}).get("groups") or []:
                    for rule in g.get("rules") or []:
                        name = rule.get("record") or rule.get("alert")
                        yield f"{where}: {g['name']}/{name}", str(rule.get("expr", "")), rule.get("record")
            elif o.get("kind") == "ConfigMap" and DASHBOARD_LABEL in (o["metadata"].get("labels") or {}):
                for key, text in sorted((o.get("data") or {}).items()):
                    if not key.endswith(".json"):
                        continue
                    d = json.loads(text)
                    for p in d.get("panels") or []:
                        for t in p.get("targets") or []:
                            yield f"{where}: {key} panel {p.get('title')!r}", t.get("expr", ""), None
                    for v in (d.get("templating") or {}).get("list") or []:
                        q = v.get("definition") or ""
                        if m := _LABEL_VALUES.fullmatch(q.strip()):
                            # `label_values(m, l)`: the series m with label l
                            yield f"{where}: {key} variable {v.get('name')}", f"sum by ({m[2]}) ({m[1]})", None
    for comp, rel in sorted(r.helm.items()):
        if rel.chart != ADAPTER_CHART:
            continue
        for i, rule in enumerate(((rel.values.get("rules") or {}).get("custom")) or []):
            for key in ("seriesQuery", "metricsQuery"):
                if key in rule:
                    yield f"{env}/{comp}/HelmRelease/{rel.release}: rules.custom[{i}].{key}", rule[key], None


def _labels_of(series: str, recorded: dict[str, set[str]]) -> set[str] | None:
    if series in recorded:
        return recorded[series]
    hit = metrics.lookup(series)
    return None if hit is None else set(hit[1])


def problems_of(expr: str, recorded: dict[str, set[str]]) -> list[str]:
    try:
        u = promql.uses(expr)
    except promql.PromQLError as e:
        return [f"cannot read the query: {e}"]
    out, have = [], set(u.made_labels)
    for m in sorted(u.metrics):
        labels = _labels_of(m, recorded)
        if labels is None:
            out.append(f"metric {m} is not in the facts table (kit/metrics.py): no pinned exporter is known "
                       f"to emit it")
            continue
        have |= labels
    for m, label in sorted(u.selector_labels):
        labels = _labels_of(m, recorded) if m else have
        if labels is not None and label not in labels:
            out.append(f"label {label!r} of {m or 'the selector'}: the series has no such label "
                       f"(it has {', '.join(sorted(labels)) or 'none'}; kit/metrics.py)")
    for label in sorted(u.other_labels - have):
        if all(_labels_of(m, recorded) is not None for m in u.metrics):
            out.append(f"label {label!r}: no series of the query has it (kit/metrics.py)")
    return out


def check(r) -> list[str]:
    qs = list(queries(r))
    recorded: dict[str, set[str]] = {}
    for _, expr, rec in qs + qs:  # recorded series: the labels of what they read (rules may chain)
        if rec:
            try:
                u = promql.uses(expr)
            except promql.PromQLError:
                continue
            labels = set(u.made_labels)
            for m in u.metrics:
                labels |= _labels_of(m, recorded) or set()
            recorded[rec] = labels
    out = [f"{where}: {expr!r}: {p}" for where, expr, _ in qs for p in problems_of(expr, recorded)]
    if qs:
        out += [f"{r.env.name}/kit/metrics.py: {p}" for p in metrics.stale_pins()]
    return out
