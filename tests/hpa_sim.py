"""The custom-metrics autoscaling chain of a vLLM model, replayable against a real Prometheus.

Two halves, each following the upstream code path it stands in for (semantics learnt from the
sources, written anew here):

- `PrometheusAdapter` + `CustomMetricsClient`: how prometheus-adapter answers an HPA's Pods
  metric (`GET .../namespaces/<ns>/pods/*/<metric>?labelSelector=...`): the metric exists only if
  its rule's `seriesQuery` found series during the last relist window (else "the server could not
  find the metric"); `metricsQuery` is the rule's Go template with `<<.Series>>`,
  `<<.LabelMatchers>>` (`namespace="<ns>"` then `pod="<name>"`, or `pod=~"<a>|<b>"` for several
  pods) and `<<.GroupBy>>` (the pod label) filled in; values become milli-quantities
  (`int64(value*1000)`, NaN -> 0) for the requested pods only. The HPA's metrics client turns an
  empty list into "no metrics returned from custom metrics API" (an error, never zero).
- `HorizontalController`: kube-controller-manager's HPA for one Pods metric with an
  `AverageValue` target (pkg/controller/podautoscaler): `groupPods` / `calcPlainMetricReplicas`
  (Pending pods count 0 on a scale-up and are dropped otherwise, pods without a metric count 0 on
  a scale-up and as the target on a scale-down, tolerance band `[1-down, 1+up]`, default 0.1,
  desired = ceil(usageRatio * readyPods)), then `stabilizeRecommendationWithBehaviors` and
  `convertDesiredReplicasWithBehaviorRate` (policies over scale events of the last
  `periodSeconds`, `selectPolicy` Max/Min/Disabled, min/max clamp), and the conditions
  AbleToScale / ScalingActive / ScalingLimited with their upstream reasons. A metric it cannot
  get leaves the replica count alone (ScalingActive=False) and records no recommendation.

Time is simulated (seconds, one `reconcile` per sync period); metric values come from wherever
`fetch` reads them - in the end-to-end test, a real Prometheus scraping synthetic vLLM pods.
"""
from __future__ import annotations

import json
import math
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from decimal import ROUND_CEILING

from mlplatform.kit.quantity import parse as parse_quantity

DEFAULT_TOLERANCE = 0.1  # kube-controller-manager --horizontal-pod-autoscaler-tolerance
SYNC_PERIOD_SECONDS = 15  # kube-controller-manager --horizontal-pod-autoscaler-sync-period


class MetricsUnavailable(Exception):
    """The HPA could not get (or use) its metric this sync: no scaling decision is made."""


class AdapterError(Exception):
    """An error status from prometheus-adapter's custom.metrics.k8s.io API."""


# ----------------------------------------------------------------------------- Kubernetes objects
@dataclass
class Pod:
    name: str
    labels: dict[str, str]
    phase: str = "Running"  # Pending | Running | Failed
    deleting: bool = False


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def milli(q: str | int | float) -> int:
    """A Kubernetes quantity's MilliValue (rounded up, like resource.Quantity)."""
    return int((parse_quantity(q) * 1000).to_integral_value(rounding=ROUND_CEILING))


@dataclass(frozen=True)
class Policy:
    type: str  # Pods | Percent
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    stabilization_seconds: int
    select_policy: str  # Max | Min | Disabled
    policies: tuple[Policy, ...]
    tolerance: float = DEFAULT_TOLERANCE

    @classmethod
    def from_object(cls, rules: dict | None, default_window: int,
                    default_policies: tuple[Policy, ...]) -> ScalingRules:
        rules = rules or {}
        policies = tuple(Policy(p["type"], int(p["value"]), int(p["periodSeconds"]))
                         for p in rules.get("policies") or ()) or default_policies
        window = rules.get("stabilizationWindowSeconds")
        tol = rules.get("tolerance")
        return cls(default_window if window is None else int(window), rules.get("selectPolicy", "Max"), policies,
                   DEFAULT_TOLERANCE if tol is None else float(parse_quantity(tol)))


@dataclass(frozen=True)
class HpaSpec:
    """What the controller reads from an autoscaling/v2 HPA with one Pods/AverageValue metric."""
    namespace: str
    name: str
    target_kind: str
    target_name: str
    min_replicas: int
    max_replicas: int
    metric: str
    target_milli: int
    scale_up: ScalingRules
    scale_down: ScalingRules

    @classmethod
    def from_object(cls, obj: dict) -> HpaSpec:
        if (obj.get("apiVersion"), obj.get("kind")) != ("autoscaling/v2", "HorizontalPodAutoscaler"):
            raise ValueError(f"not an autoscaling/v2 HPA: {obj.get('apiVersion')} {obj.get('kind')}")
        s = obj["spec"]
        metrics = s.get("metrics") or []
        if len(metrics) != 1 or metrics[0].get("type") != "Pods":
            raise ValueError(f"{obj['metadata']['name']}: this simulation covers exactly one Pods metric, got {metrics}")
        pods = metrics[0]["pods"]
        if pods["target"].get("type") != "AverageValue" or pods["metric"].get("selector"):
            raise ValueError(f"{obj['metadata']['name']}: only an AverageValue target without a metric selector")
        b = s.get("behavior") or {}
        # API defaults for an absent behavior (autoscaling/v2 SetDefaults_HorizontalPodAutoscalerBehavior).
        up = ScalingRules.from_object(b.get("scaleUp"), 0, (Policy("Percent", 100, 15), Policy("Pods", 4, 15)))
        down = ScalingRules.from_object(b.get("scaleDown"), 300, (Policy("Percent", 100, 15),))
        return cls(obj["metadata"]["namespace"], obj["metadata"]["name"], s["scaleTargetRef"]["kind"],
                   s["scaleTargetRef"]["name"], int(s.get("minReplicas", 1)), int(s["maxReplicas"]),
                   pods["metric"]["name"], milli(pods["target"]["averageValue"]), up, down)


# ----------------------------------------------------------------------------- replica calculator
def usage_ratio(metrics: dict[str, int], target_milli: int) -> tuple[float, int]:
    """GetMetricUsageRatio: integer average of milli-values over the pods that reported, / target."""
    usage = sum(metrics.values()) // len(metrics)
    return usage / target_milli, usage


def pods_metric_replicas(current: int, metrics: dict[str, int], pods: list[Pod], target_milli: int,
                         up_tolerance: float = DEFAULT_TOLERANCE,
                         down_tolerance: float = DEFAULT_TOLERANCE) -> tuple[int, int]:
    """calcPlainMetricReplicas for a Pods metric: (proposed replicas, current average in milli)."""
    def within(r: float) -> bool:
        return 1.0 - down_tolerance <= r <= 1.0 + up_tolerance

    if not pods:
        raise MetricsUnavailable("no pods returned by selector while calculating replica count")
    metrics = dict(metrics)
    ready, unready, missing, ignored = 0, set(), set(), set()
    for p in pods:
        if p.deleting or p.phase == "Failed":
            ignored.add(p.name)
        elif p.phase == "Pending":
            unready.add(p.name)
        elif p.name not in metrics:
            missing.add(p.name)
        else:
            ready += 1
    for name in ignored | unready:
        metrics.pop(name, None)
    if not metrics:
        raise MetricsUnavailable("did not receive metrics for targeted pods (pods might be unready)")

    ratio, usage = usage_ratio(metrics, target_milli)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if within(ratio):
            return current, usage
        return math.ceil(ratio * ready), usage

    if missing:
        fill = target_milli if ratio < 1.0 else 0  # scale-down: as if on target; scale-up: as if idle
        for name in missing:
            metrics[name] = fill
    if scale_up_with_unready:
        for name in unready:
            metrics[name] = 0
    new_ratio, _ = usage_ratio(metrics, target_milli)
    if within(new_ratio) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current, usage  # too small a change, or the fill-ins would flip the direction
    proposed = math.ceil(new_ratio * len(metrics))
    if (new_ratio < 1.0 and proposed > current) or (new_ratio > 1.0 and proposed < current):
        return current, usage
    return proposed, usage


# ----------------------------------------------------------------------------- the controller
@dataclass
class HorizontalController:
    """One HPA's reconcile loop state: recommendations and scale events live in the controller
    (not in the HPA object), exactly what stabilization and rate limits are computed from."""
    spec: HpaSpec
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    scale_up_events: list[tuple[float, int]] = field(default_factory=list)
    scale_down_events: list[tuple[float, int]] = field(default_factory=list)
    conditions: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # type -> (status, reason, message)
    last_proposal: int | None = None
    last_usage_milli: int | None = None

    def reconcile(self, now: float, current: int, pods: list[Pod], fetch) -> int:
        """One sync: the replica count to set (== `current` when nothing changes).

        `fetch()` returns {pod name: milli-value} or raises MetricsUnavailable, like the HPA's
        custom-metrics client."""
        s = self.spec
        self.last_proposal = self.last_usage_milli = None
        if current > s.max_replicas:
            desired = s.max_replicas
        elif current < s.min_replicas:
            desired = s.min_replicas
        else:
            try:
                try:
                    metrics = fetch()
                except MetricsUnavailable as e:
                    raise MetricsUnavailable(f"unable to get metric {s.metric}: {e}") from e
                proposal, usage = pods_metric_replicas(current, metrics, pods, s.target_milli,
                                                       s.scale_up.tolerance, s.scale_down.tolerance)
            except MetricsUnavailable as e:
                self.conditions["ScalingActive"] = ("False", "FailedGetPodsMetric",
                                                    f"the HPA was unable to compute the replica count: {e}")
                return current
            self.conditions["ScalingActive"] = ("True", "ValidMetricFound",
                                                f"the HPA was able to successfully calculate a replica count "
                                                f"from pods metric {s.metric}")
            self.last_proposal, self.last_usage_milli = proposal, usage
            desired = self._normalize(now, current, proposal)
        if desired != current:
            self._store_scale_event(now, current, desired)
        return desired

    # -- normalizeDesiredReplicasWithBehaviors
    def _normalize(self, now: float, current: int, proposal: int) -> int:
        stabilized = self._stabilize(now, current, proposal)
        if stabilized != proposal:
            reason = "ScaleUpStabilized" if proposal >= current else "ScaleDownStabilized"
        else:
            reason = "ReadyForNewScale"
        self.conditions["AbleToScale"] = ("True", reason, "")
        desired, limit_reason = self._rate_limited(now, current, stabilized)
        self.conditions["ScalingLimited"] = ("False" if desired == stabilized else "True", limit_reason, "")
        return desired

    def _stabilize(self, now: float, current: int, proposal: int) -> int:
        up_cutoff = now - self.spec.scale_up.stabilization_seconds
        down_cutoff = now - self.spec.scale_down.stabilization_seconds
        up = down = proposal
        for t, rec in self.recommendations:
            if t > up_cutoff:
                up = min(up, rec)
            if t > down_cutoff:
                down = max(down, rec)
        # a sample older than both windows is never read again (upstream reuses its slot)
        self.recommendations = [(t, r) for t, r in self.recommendations
                                if not (t < up_cutoff and t < down_cutoff)]
        self.recommendations.append((now, proposal))
        return min(max(current, up), down)

    def _changes_within(self, events: list[tuple[float, int]], now: float, period: int) -> int:
        return sum(change for t, change in events if t > now - period)

    def _limit(self, now: float, current: int, rules: ScalingRules, up: bool) -> int:
        if rules.select_policy == "Disabled":
            return current
        # scale-up: Max picks the largest count; scale-down: Max picks the smallest count (the biggest change)
        pick_low = (rules.select_policy == "Min") == up
        result = None
        for p in rules.policies:
            start = (current - self._changes_within(self.scale_up_events, now, p.period_seconds)
                     + self._changes_within(self.scale_down_events, now, p.period_seconds))
            if up:
                proposed = start + p.value if p.type == "Pods" else math.ceil(start * (1 + p.value / 100))
            else:
                proposed = start - p.value if p.type == "Pods" else int(start * (1 - p.value / 100))
            result = proposed if result is None else (min(result, proposed) if pick_low else max(result, proposed))
        return current if result is None else result

    def _rate_limited(self, now: float, current: int, desired: int) -> tuple[int, str]:
        s = self.spec
        if desired > current:
            limit = max(self._limit(now, current, s.scale_up, up=True), current)
            maximum, reason = (limit, "ScaleUpLimit") if s.max_replicas > limit else (s.max_replicas, "TooManyReplicas")
            if desired > maximum:
                return maximum, reason
        elif desired < current:
            limit = min(self._limit(now, current, s.scale_down, up=False), current)
            minimum, reason = (limit, "ScaleDownLimit") if s.min_replicas < limit else (s.min_replicas, "TooFewReplicas")
            if desired < minimum:
                return minimum, reason
        return desired, "DesiredWithinRange"

    def _store_scale_event(self, now: float, before: int, after: int) -> None:
        up = after > before
        rules = self.spec.scale_up if up else self.spec.scale_down
        longest = max((p.period_seconds for p in rules.policies), default=0)
        events = self.scale_up_events if up else self.scale_down_events
        events[:] = [(t, c) for t, c in events if t >= now - longest]
        events.append((now, abs(after - before)))


# ----------------------------------------------------------------------------- Prometheus + adapter
class PrometheusAPI:
    """The HTTP API calls the adapter makes (instant query, series listing), with a timeout."""

    def __init__(self, base_url: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def get(self, path: str, params: list[tuple[str, str]] | None = None):
        url = f"{self.base_url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=self.timeout) as resp:
            body = json.loads(resp.read())
        if body.get("status") != "success":
            raise AdapterError(f"prometheus {path}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        data = self.get("/api/v1/query", [("query", expr)])
        if data["resultType"] != "vector":
            raise AdapterError(f"expected a vector from {expr!r}, got {data['resultType']}")
        return data["result"]

    def series(self, match: str, since_seconds: float) -> list[dict[str, str]]:
        return self.get("/api/v1/series", [("match[]", match), ("start", f"{time.time() - since_seconds:.3f}")])


def _go_quote(s: str) -> str:
    return json.dumps(s)  # Go %q for the label values we have (ASCII, no control characters)


@dataclass(frozen=True)
class AdapterRule:
    series_query: str
    resource_labels: dict[str, str]  # resource (namespace, pod) -> Prometheus label
    name_matches: str
    name_as: str
    metrics_query: str

    @classmethod
    def from_values(cls, rule: dict) -> AdapterRule:
        overrides = rule["resources"]["overrides"]
        by_resource = {v["resource"]: label for label, v in overrides.items()}
        return cls(rule["seriesQuery"], by_resource, rule["name"]["matches"], rule["name"].get("as", ""),
                   rule["metricsQuery"])

    def metric_name(self, series: str) -> str | None:
        m = re.search(self.name_matches, series)
        if not m:
            return None
        if not self.name_as:
            return m.group(1) if m.groups() else m.group(0)
        if "$" in self.name_as:
            raise NotImplementedError("capture references in name.as")
        return self.name_as

    def render(self, series: str, namespace: str, pods: list[str]) -> str:
        """`metricsQuery` for a namespaced Pods request, as the adapter's metricsQuery.Build does."""
        ns_label, pod_label = self.resource_labels["namespace"], self.resource_labels["pod"]
        matchers = [f"{ns_label}={_go_quote(namespace)}"]
        matchers.append(f"{pod_label}={_go_quote(pods[0])}" if len(pods) == 1
                        else f"{pod_label}=~{_go_quote('|'.join(pods))}")
        q = (self.metrics_query.replace("<<.Series>>", series).replace("<<.LabelMatchers>>", ",".join(matchers))
             .replace("<<.GroupBy>>", pod_label))
        if "<<" in q:
            raise NotImplementedError(f"template construct not emulated in {self.metrics_query!r}")
        return q


class PrometheusAdapter:
    """prometheus-adapter's custom metrics for pods, from its `rules.custom` values."""

    def __init__(self, prom: PrometheusAPI, rules: list[dict], relist_seconds: float = 60.0):
        self.prom = prom
        self.rules = [AdapterRule.from_values(r) for r in rules]
        self.relist_seconds = relist_seconds
        self.last_query: str | None = None

    def discover(self) -> dict[tuple[str, str], tuple[AdapterRule, str]]:
        """(namespace, metric) -> (rule, series name) for every pod metric a relist would register."""
        found = {}
        for rule in self.rules:
            ns_label, pod_label = rule.resource_labels.get("namespace"), rule.resource_labels.get("pod")
            if not ns_label or not pod_label:
                continue  # not a namespaced pod metric
            for s in self.prom.series(rule.series_query, self.relist_seconds):
                name = rule.metric_name(s["__name__"])
                if name and s.get(ns_label) and s.get(pod_label):
                    found[(s[ns_label], name)] = (rule, s["__name__"])
        return found

    def pods_metric(self, namespace: str, metric: str, pods: list[str]) -> dict[str, int]:
        """GetMetricBySelector for pods: {pod: milli-value}, only for the pods asked about."""
        registered = self.discover()
        if (namespace, metric) not in registered:
            raise AdapterError(f"the server could not find the metric {metric} for pods")
        if not pods:
            return {}
        rule, series = registered[(namespace, metric)]
        self.last_query = rule.render(series, namespace, pods)
        values: dict[str, int] = {}
        for sample in self.prom.query(self.last_query):
            v = float(sample["value"][1])
            values[sample["metric"].get(rule.resource_labels["pod"], "")] = 0 if math.isnan(v) else int(v * 1000.0)
        return {p: values[p] for p in pods if p in values}


class CustomMetricsClient:
    """The HPA side of custom.metrics.k8s.io (GetRawMetric): errors and empty answers are errors."""

    def __init__(self, adapter: PrometheusAdapter):
        self.adapter = adapter

    def get_raw_metric(self, namespace: str, metric: str, pods: list[Pod]) -> dict[str, int]:
        try:
            items = self.adapter.pods_metric(namespace, metric, [p.name for p in pods])
        except AdapterError as e:
            raise MetricsUnavailable(f"unable to fetch metrics from custom metrics API: {e}") from e
        if not items:
            raise MetricsUnavailable("no metrics returned from custom metrics API")
        return items
