"""Recording rules and alerts as data, and the collector that wraps them into PrometheusRules.

A unit whose software emits metrics contributes `rules(env)` (`kit.component.Component.rules`): a
list of `RuleArea`s, each a name, its recording rules and its alerts, written next to the metric
families they read. The collector (`build_prometheus_rules`, called by the `prometheus-rules` unit)
asks every registered unit in registry order and names none. Per area it emits one PrometheusRule
`ml-platform-<area>` in the monitoring namespace, labelled so the kube-prometheus-stack Prometheus
selects it (`kit.monitoring.monitor_labels`), with a `ml-platform.<area>.recording` group and a
`ml-platform.<area>.alerts` group (each only when non-empty).

What every alert gets from here, so no unit repeats it: `severity` (checked against
`SEVERITIES`), the annotations `summary`, `description`, `runbook` (Means / Check / Do, what the
on-call reads first) and `runbook_url` (the README section "Alerts and runbooks" at the revision
Argo CD syncs, stamped on every alert). An alert without a severity, summary, description or
runbook line is refused at synth, naming the area and the alert.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from . import component, monitoring, versions
from .meta import Obj, metadata

PREFIX = "ml-platform"
README_ANCHOR = "alerts-and-runbooks"
SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    severity: str  # one of SEVERITIES: critical = act now, warning = act today
    summary: str
    description: str
    means: str  # the runbook's three lines: what it means, what to check, what to do
    check: str
    do: str
    for_: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Record:
    """A recording rule: `name` (level:metric:operations) is the series `expr` is stored as."""

    name: str
    expr: str


@dataclass(frozen=True)
class RuleArea:
    """One unit's rules about one area: becomes PrometheusRule `ml-platform-<name>`."""

    name: str
    recording: Sequence[Record] = ()
    alerts: Sequence[Alert] = ()


# ------------------------------------------------------------------------------ PromQL helpers
def num(x: float) -> str:
    """A threshold as PromQL and YAML spell it: 10 -> "10", 0.5 -> "0.5"."""
    return str(int(x)) if float(x).is_integer() else format(x, "g")


def selector(**matchers: str) -> str:
    """`{a="x",b="y"}` (equality matchers, in the given order)."""
    return "{" + ",".join(f'{k}="{v}"' for k, v in matchers.items()) + "}"


def any_of(values: Sequence[str]) -> str:
    """A regex matching exactly these (DNS-label) values."""
    return "|".join(sorted(set(values)))


# ------------------------------------------------------------------------------ rendering
def runbook_url(env: Any) -> str:
    """The README section "Alerts and runbooks" in the repository Argo CD syncs from."""
    url = env.gitops.repo_url
    if m := re.fullmatch(r"git@([^:]+):(.+)", url):
        url = f"https://{m[1]}/{m[2]}"
    url = re.sub(r"^ssh://(?:[^@/]+@)?", "https://", url)
    url = url.removesuffix(".git").rstrip("/")
    return f"{url}/blob/{env.gitops.revision}/README.md#{README_ANCHOR}"


def problems(area: RuleArea) -> list[str]:
    """What an area lacks for the on-call: a severity, summary, description, runbook line."""
    out = []
    for a in area.alerts:
        at = f"rule area {area.name!r}, alert {a.name!r}"
        if a.severity not in SEVERITIES:
            out.append(f"{at}: severity {a.severity!r} is not one of {', '.join(SEVERITIES)}")
        for what in ("summary", "description", "means", "check", "do"):
            if not str(getattr(a, what) or "").strip():
                out.append(f"{at}: no {what}")
    return out


def _alert(a: Alert, url: str) -> dict:
    rule: dict = {"alert": a.name, "expr": a.expr}
    if a.for_:
        rule["for"] = a.for_
    rule["labels"] = {"severity": a.severity, **a.labels}
    rule["annotations"] = {
        "summary": a.summary,
        "description": a.description,
        "runbook": f"Means: {a.means}\nCheck: {a.check}\nDo: {a.do}",
        "runbook_url": url,
    }
    return rule


def rule_object(env: Any, area: RuleArea, component_name: str) -> Obj:
    """The PrometheusRule of one area, runbook URLs stamped."""
    groups = []
    if area.recording:
        groups.append({"name": f"{PREFIX}.{area.name}.recording",
                       "rules": [{"record": r.name, "expr": r.expr} for r in area.recording]})
    if area.alerts:
        url = runbook_url(env)
        groups.append({"name": f"{PREFIX}.{area.name}.alerts", "rules": [_alert(a, url) for a in area.alerts]})
    return {
        "apiVersion": versions.crd("PrometheusRule").api_version, "kind": "PrometheusRule",
        "metadata": metadata(f"{PREFIX}-{area.name}", component=component_name, env=env.name,
                             namespace=env.namespaces.monitoring_namespace,
                             extra_labels=monitoring.monitor_labels()),
        "spec": {"groups": groups},
    }


# ------------------------------------------------------------------------------ the collector
def collect_areas(env: Any) -> list[RuleArea]:
    """Every unit's rule areas, in registry order."""
    return [a for u in component.units() if u.rules for a in u.rules(env)]


def build_prometheus_rules(env: Any, component_name: str) -> list[Obj]:
    """One PrometheusRule per contributed area; refuses an alert the on-call could not act on."""
    found = collect_areas(env)
    names = [a.name for a in found]
    dup = sorted({n for n in names if names.count(n) > 1})
    bad = [p for a in found for p in problems(a)]
    if dup:
        bad.append(f"rule areas contributed twice: {', '.join(dup)}")
    if bad:
        raise ValueError(f"{env.name}/{component_name}: " + "; ".join(bad))
    return [rule_object(env, a, component_name) for a in found if a.recording or a.alerts]
