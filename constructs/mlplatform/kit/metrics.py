"""The metrics facts table: every metric and label a rule, dashboard or adapter query may use.

The rows ship with the unit that runs the exporter (`kit.component.Component.metrics`: its
`Exporter`s and the `Metric`s they emit); `collect_facts()` gathers them from every registered unit
and names none. Each row says which exporter emits the series, at which pinned version it was
checked (the pin itself is read from `kit.versions`), and the source that shows it.
`validate/metrics.py` reads every PrometheusRule, Grafana dashboard and prometheus-adapter rule we
emit and reports a metric or label that is not here -- and every row whose exporter's pin moved away
from the version the row was checked at: a version bump that renames a metric fails the synth
instead of blanking a panel or silencing an alert.

`verified`: True where the source was read at that version (the path is in the release's own
package); False where the row restates what the code cited before and nobody has re-read it at
the pin (the `source` then says so). Recorded series (a rule's `record:`) need no row: their
inputs are checked.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from . import component, versions


@dataclass(frozen=True)
class Exporter:
    name: str
    pin_kind: str  # "chart" (app_version or version) | "image" (tag) | "" (not pinned by us)
    pin_name: str
    checked_at: str  # the version the rows below were checked against
    # Labels Prometheus adds when scraping (the monitor's target labels), on every series.
    target_labels: tuple[str, ...]
    chart_version: bool = False  # pin is the chart's version, not its app_version

    def pinned(self) -> str | None:
        if self.pin_kind == "chart":
            c = versions.CHARTS[self.pin_name]
            return c.version if self.chart_version else c.app_version
        if self.pin_kind == "image":
            return versions.IMAGES[self.pin_name].tag
        return None


@dataclass(frozen=True)
class Metric:
    name: str  # as Prometheus stores it (histograms: the family, without _bucket/_count/_sum)
    exporter: str
    labels: tuple[str, ...]
    source: str
    verified: bool
    kind: str = "gauge"  # gauge | counter | histogram
    # Written by Prometheus for every scrape target (`up`): it has every exporter's target labels.
    every_target: bool = False


# The labels Prometheus adds when scraping through a ServiceMonitor / a PodMonitor (the target
# labels), on every series of the target.
SERVICE_MONITOR_LABELS = ("job", "instance", "namespace", "service", "pod", "container", "endpoint")
POD_MONITOR_LABELS = ("job", "instance", "namespace", "pod", "container", "endpoint")
# A row's `source` says this where the row restates what the code cited before the facts table.
UNVERIFIED = "not re-read at the pin: cited by the code before the facts table"


@dataclass(frozen=True)
class Facts:
    """The facts table: every exporter and every series, collected from the units."""

    exporters: dict[str, Exporter]
    metrics: dict[str, Metric]
    owners: dict[str, str]  # exporter -> the unit that contributes it


_CACHE: list = []  # [(the units the table was built from, Facts)]


def _collect(units: tuple) -> Facts:
    exporters: dict[str, Exporter] = {}
    rows: dict[str, Metric] = {}
    owners: dict[str, str] = {}
    for u in units:
        for row in u.metrics:
            table = exporters if isinstance(row, Exporter) else rows
            if row.name in table:
                raise ValueError(f"metrics facts: {row.name} is contributed twice (second by unit {u.name})")
            table[row.name] = row
            if isinstance(row, Exporter):
                owners[row.name] = u.name
    for m in rows.values():
        if m.exporter not in exporters:
            raise ValueError(f"metrics facts: {m.name} names exporter {m.exporter!r}, which no unit contributes")
    every = tuple(sorted({lb for e in exporters.values() for lb in e.target_labels}))
    rows = {n: (replace(m, labels=tuple(sorted(set(m.labels) | set(every)))) if m.every_target else m)
            for n, m in rows.items()}
    return Facts(exporters, rows, owners)


def collect_facts() -> Facts:
    """The table of the registered units (built once per registry)."""
    units = component.units()
    if not (_CACHE and len(_CACHE[0][0]) == len(units) and all(a is b for a, b in zip(_CACHE[0][0], units))):
        _CACHE[:] = [(units, _collect(units))]
    return _CACHE[0][1]


_HISTOGRAM_SERIES = {"_bucket": ("le",), "_count": (), "_sum": ()}


def lookup(series: str) -> tuple[Metric, tuple[str, ...]] | None:
    """The row a stored series name belongs to, and the labels that series has (the metric's,
    its exporter's target labels, `le` for a histogram bucket); None when it is not in the table."""
    f = collect_facts()
    rows, exporters = f.metrics, f.exporters
    if series in rows and rows[series].kind != "histogram":
        m = rows[series]
        return m, m.labels + exporters[m.exporter].target_labels
    for suffix, extra in _HISTOGRAM_SERIES.items():
        base = series.removesuffix(suffix)
        if base != series and base in rows and rows[base].kind == "histogram":
            m = rows[base]
            return m, m.labels + extra + exporters[m.exporter].target_labels
    return None


def stale_pins() -> list[str]:
    """Exporters whose pin moved away from the version their rows were checked at."""
    f, out = collect_facts(), []
    for e in f.exporters.values():
        pinned = e.pinned()
        if pinned is not None and pinned != e.checked_at:
            names = sorted(m.name for m in f.metrics.values() if m.exporter == e.name)
            out.append(f"{e.name}: pinned at {pinned} ({e.pin_kind} {e.pin_name}) but its metrics were checked at "
                       f"{e.checked_at}: re-check {', '.join(names)} in that release and update the metric facts "
                       f"of unit {f.owners[e.name]}")
    return out
