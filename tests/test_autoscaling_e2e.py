"""Per-model queue autoscaling, end to end against a real Prometheus (issue "Serving and
observability", item 5b).

The chain under test, everything taken from what we render for an env:
  synthetic vLLM pods' `/metrics` (the families and labels vLLM's PrometheusStatLogger registers:
  `vllm:num_requests_waiting{model_name,engine}` ...)
  -> a real `prometheus` scraping one target per pod with the target labels the Prometheus
     Operator attaches for our ServiceMonitor (namespace, service, pod, container, endpoint, job)
  -> the prometheus-adapter rule we ship (rules.custom of the chart values), discovered and
     queried the way the adapter does it for an HPA's Pods metric
  -> the HPA we render (min/max/target/behavior read from the object), replayed with the
     Kubernetes controller's replica arithmetic (tests/hpa_sim.py) over simulated time.

The env is staging with room to scale: opt-125m (model A) 1..8 replicas, deepscaler-1-5b
(model B) 1..3, and a third model opt-350m (model C) whose pods never report (still loading), all
three in namespace team-nlp, validated and cross-checked like any env file.

Needs /usr/bin/prometheus (Debian package, installed by setup.sh): skipped when it is missing,
unless MLP_REQUIRE_PROMETHEUS is set (then a failure).
"""
from __future__ import annotations

import copy
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from conftest import find
from hpa_sim import (SYNC_PERIOD_SECONDS, CustomMetricsClient, HorizontalController, HpaSpec, MetricsUnavailable,
                     Pod, Policy, PrometheusAdapter, PrometheusAPI, ScalingRules, matches, pods_metric_replicas)
from mlplatform.components.prometheus_adapter import objects as prometheus_adapter
from mlplatform.components.vllm import metrics as vllm_metrics
from mlplatform.components.vllm import objects as vllm
from mlplatform.config.models import Env
from mlplatform.plan import render
from mlplatform.components.vllm import checks as serving

A, B, C = "opt-125m", "deepscaler-1-5b", "opt-350m"
NS = "team-nlp"
PODS = {A: 8, B: 2, C: 2}  # pod names per model: enough for A's max_replicas
SCRAPE_INTERVAL = "1s"  # the ServiceMonitor says 15s; 1s keeps the test short, the labels are the same
WAIT_SECONDS = 20.0


# ----------------------------------------------------------------------------- the env under test
@pytest.fixture(scope="module")
def scenario(envs):
    """staging, with A able to scale 1..8, B 1..3 and a third model C (GPU quota and pool raised to fit)."""
    data = envs["staging"].model_dump()
    # 19 GPUs at once: A 8+1, B 3, C 2+1 (surge replicas), plus the 4-GPU training runtime nlp may use
    next(t for t in data["teams"] if t["name"] == "nlp")["quota"]["gpus"] = 20
    data["compute"]["karpenter"]["gpu_pool"]["gpu_limit"] = 32
    models = {m["name"]: m for m in data["serving"]["models"]}
    models[A]["autoscaling"].update(min_replicas=1, max_replicas=8, target_waiting_per_replica=4,
                                    scale_up_pods_per_minute=2)
    models[B]["autoscaling"].update(min_replicas=1, max_replicas=3)
    c = copy.deepcopy(models[A])
    c.update(name=C, model="facebook/opt-350m", revision=None, autoscaling={"min_replicas": 1, "max_replicas": 2})
    data["serving"]["models"].append(c)
    r = render(Env.model_validate(data))
    assert r.problems == [] and serving.checks(r) == [], (r.problems, serving.checks(r))
    return r


def _obj(r, kind: str, name: str) -> dict:
    return find(r.components[vllm.NAME], kind, name)


def pod_names(model: str) -> list[str]:
    return [f"{model}-6d5f7c8b9-p{i}" for i in range(PODS[model])]


# ----------------------------------------------------------------------------- synthetic vLLM pods
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)  # vllm:time_to_first_token_seconds
LATENCY_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
                   480.0, 960.0, 1920.0, 7680.0)  # vllm:request_queue_time_seconds and the other request latencies


class SyntheticVllm:
    """One vLLM server's `/metrics` (v1 engine, one engine per pod, labels `model_name` = the
    served model name and `engine`), with the queue the test sets. Every scrape advances the
    counters and histograms by what the current load would have produced; a pod that is still
    loading answers 503 (Prometheus marks the target down and has no series for it)."""

    def __init__(self, served_name: str, path: str):
        self.served_name, self.path = served_name, path
        self._lock = threading.Lock()
        self.serving, self.waiting, self.running = False, 0, 0
        self._prompt_tokens = self._generation_tokens = 0
        self._ttft: list[float] = []
        self._queue_time: list[float] = []
        pod = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body, status = pod._scrape(self.path)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def set(self, *, serving: bool, waiting: int = 0, running: int = 0) -> None:
        with self._lock:
            self.serving, self.waiting, self.running = serving, waiting, running

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _scrape(self, path: str) -> tuple[str, int]:
        if path != self.path:
            return "not found\n", 404
        with self._lock:
            if not self.serving:
                return "model loading\n", 503
            self._prompt_tokens += 512 * self.running
            self._generation_tokens += 64 * self.running
            self._ttft += [0.04 + 0.05 * self.waiting] * self.running
            self._queue_time += [0.5 * self.waiting] * self.running
            return self._exposition(), 200

    def _exposition(self) -> str:
        lbl = f'model_name="{self.served_name}",engine="0"'
        out: list[str] = []

        def family(name: str, kind: str, doc: str, samples: list[tuple[str, str, float]]) -> None:
            out.extend([f"# HELP {name} {doc}", f"# TYPE {name} {kind}"])
            out.extend(f"{n}{{{lbl}{extra}}} {float(v)!r}" for n, extra, v in samples)

        def histogram(name: str, doc: str, buckets: tuple[float, ...], observed: list[float]) -> None:
            rows = [(f"{name}_bucket", f',le="{b!r}"', sum(1 for x in observed if x <= b)) for b in buckets]
            rows += [(f"{name}_bucket", ',le="+Inf"', len(observed)), (f"{name}_count", "", len(observed)),
                     (f"{name}_sum", "", sum(observed))]
            family(name, "histogram", doc, rows)

        family("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.",
               [("vllm:num_requests_running", "", self.running)])
        family("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.",
               [("vllm:num_requests_waiting", "", self.waiting)])
        family("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.",
               [("vllm:kv_cache_usage_perc", "", min(1.0, 0.05 + 0.06 * self.running))])
        family("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.",
               [("vllm:prompt_tokens_total", "", self._prompt_tokens)])
        family("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.",
               [("vllm:generation_tokens_total", "", self._generation_tokens)])
        histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
                  TTFT_BUCKETS, self._ttft)
        histogram("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
                  LATENCY_BUCKETS, self._queue_time)
        return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def fleet(scenario):
    """Every pod name of A, B and C with its own server; each model's served name and metrics
    path come from its rendered Deployment and ServiceMonitor."""
    pods: dict[str, SyntheticVllm] = {}
    try:
        for model in PODS:
            dep = _obj(scenario, "Deployment", model)
            served = vllm.served_name(dep["spec"]["template"]["spec"]["containers"][0])
            path = _obj(scenario, "ServiceMonitor", model)["spec"]["endpoints"][0]["path"]
            for name in pod_names(model):
                pods[name] = SyntheticVllm(served, path)
        yield pods
    finally:
        for p in pods.values():
            p.close()


def set_load(fleet: dict[str, SyntheticVllm], model: str, waiting: list[int | None]) -> None:
    """`waiting[i]` for pod i of `model`; None = that pod is not serving (loading or not started)."""
    for name, w in zip(pod_names(model), waiting + [None] * (PODS[model] - len(waiting))):
        fleet[name].set(serving=w is not None, waiting=w or 0, running=0 if w is None else min(8, 1 + w))


# ----------------------------------------------------------------------------- a real Prometheus
def scrape_job(r, model: str, fleet: dict[str, SyntheticVllm]) -> dict:
    """The scrape job the Prometheus Operator generates from our ServiceMonitor: one target per
    pod behind the Service, labelled namespace/service/pod/container/endpoint, job = Service."""
    sm, svc, dep = (_obj(r, k, model) for k in ("ServiceMonitor", "Service", "Deployment"))
    ns = sm["spec"]["namespaceSelector"]["matchNames"][0]
    assert svc["metadata"]["namespace"] == ns == dep["metadata"]["namespace"] == NS
    assert matches(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"]), "ServiceMonitor misses Service"
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert matches(svc["spec"]["selector"], pod_labels), "the Service has no pods of this Deployment behind it"
    ep = sm["spec"]["endpoints"][0]
    svc_port = next(p for p in svc["spec"]["ports"] if p["name"] == ep["port"])
    container = next(c for c in dep["spec"]["template"]["spec"]["containers"]
                     if any(cp.get("name") == svc_port["targetPort"] for cp in c.get("ports", [])))
    return {
        "job_name": f"serviceMonitor/{ns}/{sm['metadata']['name']}/0",
        "metrics_path": ep["path"],
        "static_configs": [{"targets": [f"127.0.0.1:{fleet[p].port}"],
                            "labels": {"namespace": ns, "service": svc["metadata"]["name"], "pod": p,
                                       "container": container["name"], "endpoint": ep["port"],
                                       "job": svc["metadata"]["name"]}}
                           for p in pod_names(model)],
    }


def eventually(probe, expected, what: str, timeout: float = WAIT_SECONDS):
    """Poll `probe()` until it returns `expected` (bounded); the last value is in the failure."""
    deadline, last = time.monotonic() + timeout, None
    while True:
        try:
            last = probe()
        except Exception as e:  # Prometheus still starting, a scrape not done yet
            last = e
        if last == expected:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: after {timeout:.0f}s still {last!r}, expected {expected!r}")
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prometheus(scenario, fleet, tmp_path_factory):
    binary = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)
    if binary is None:
        msg = "prometheus binary not found (Debian package `prometheus`, installed by setup.sh)"
        if os.environ.get("MLP_REQUIRE_PROMETHEUS"):
            pytest.fail(f"{msg} and MLP_REQUIRE_PROMETHEUS is set")
        pytest.skip(f"{msg}; set MLP_REQUIRE_PROMETHEUS=1 to make this a failure")
    work = tmp_path_factory.mktemp("prometheus")
    config = work / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL},
        "scrape_configs": [scrape_job(scenario, m, fleet) for m in PODS],
    }, sort_keys=False))
    log = work / "prometheus.log"
    proc = None
    try:
        for _attempt in range(3):  # the free port may be taken between probing and binding
            port = _free_port()
            with log.open("w") as out:
                proc = subprocess.Popen(
                    [binary, f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}",
                     f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h", "--log.level=warn"],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            api = PrometheusAPI(f"http://127.0.0.1:{port}", timeout=5)
            deadline = time.monotonic() + WAIT_SECONDS
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    api.get("/api/v1/status/buildinfo")
                    break
                except Exception:
                    time.sleep(0.1)
            if proc.poll() is None and time.monotonic() < deadline:
                break
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            if "address already in use" not in log.read_text():
                raise AssertionError(f"prometheus did not come up:\n{log.read_text()[-3000:]}")
        else:
            raise AssertionError(f"prometheus could not bind a port:\n{log.read_text()[-3000:]}")
        # every target scraped at least once (up or down), so "no series" below means "not reported"
        eventually(lambda: sorted({t["health"] != "unknown" for t in api.get("/api/v1/targets")["activeTargets"]}),
                   [True], "all targets scraped")
        yield api
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def adapter(scenario, prometheus):
    """The adapter as configured by the chart values we render."""
    rules = scenario.helm[prometheus_adapter.NAME].values["rules"]["custom"]
    return PrometheusAdapter(prometheus, rules, relist_seconds=60)


# ----------------------------------------------------------------------------- the Deployments
class SimDeployment:
    """A Deployment's pods as the HPA sees them: the ReplicaSet adds Pending pods (each needs a
    GPU node, then a model load) and removes the newest first."""

    def __init__(self, r, model: str, running: int):
        dep = _obj(r, "Deployment", model)
        self.model = model
        self.labels = dep["spec"]["template"]["metadata"]["labels"]
        self.pods = [Pod(n, dict(self.labels)) for n in pod_names(model)[:running]]

    @property
    def replicas(self) -> int:
        return len(self.pods)

    def scale(self, n: int) -> None:
        names = pod_names(self.model)
        while len(self.pods) < n:
            self.pods.append(Pod(names[len(self.pods)], dict(self.labels), phase="Pending"))
        del self.pods[n:]

    def all_running(self) -> None:
        for p in self.pods:
            p.phase = "Running"


def hpa_pods(spec: HpaSpec, r, namespace_pods: list[Pod]) -> list[Pod]:
    """The HPA's pods: everything in its namespace its scale target's selector matches."""
    dep = _obj(r, spec.target_kind, spec.target_name)
    return [p for p in namespace_pods if matches(dep["spec"]["selector"]["matchLabels"], p.labels)]


def values_of(adapter: PrometheusAdapter, spec: HpaSpec, pods: list[str]) -> dict[str, int]:
    return adapter.pods_metric(spec.namespace, spec.metric, pods)


def _spec(r, model: str) -> HpaSpec:
    return HpaSpec.from_object(_obj(r, "HorizontalPodAutoscaler", model))


# ----------------------------------------------------------------------------- tests
def test_the_adapter_query_returns_exactly_one_models_per_pod_queue(scenario, fleet, prometheus, adapter):
    a, b = _spec(scenario, A), _spec(scenario, B)
    a_pods, b_pods = pod_names(A), pod_names(B)
    set_load(fleet, A, [0, 0, 0])  # three replicas up, idle; the other five names not started
    set_load(fleet, B, [3, 5])
    set_load(fleet, C, [])
    eventually(lambda: values_of(adapter, a, a_pods), {p: 0 for p in a_pods[:3]}, "A idle")

    set_load(fleet, A, [40, 40, 40])  # the load step
    eventually(lambda: values_of(adapter, a, a_pods), {p: 40_000 for p in a_pods[:3]}, "A after the step")
    query_a = adapter.last_query
    assert values_of(adapter, b, b_pods) == {b_pods[0]: 3000, b_pods[1]: 5000}  # B untouched by A's step

    # both models really are in one namespace: a per-namespace queue would have mixed them
    queue = f'{vllm_metrics.QUEUE_SERIES}{{namespace="{NS}"}}'
    per_model = {s["metric"]["model_name"]: int(s["value"][1])
                 for s in prometheus.query(f"count by (model_name) ({queue})")}
    assert per_model == {A: 3, B: 2}
    namespace_total = float(prometheus.query(f"sum({queue})")[0]["value"][1])
    assert namespace_total == 3 * 40 + 3 + 5

    # a metric is bound to its model: A's metric over B's pods is empty, i.e. an error, never B's queue
    assert values_of(adapter, a, b_pods) == {}
    with pytest.raises(MetricsUnavailable, match="^no metrics returned from custom metrics API$"):
        CustomMetricsClient(adapter).get_raw_metric(NS, a.metric, [Pod(p, {}) for p in b_pods])

    # what the adapter sent for A's HPA (all eight pods of the Deployment asked about, three report)
    assert query_a == ('sum by (pod) (vllm:num_requests_waiting{namespace="team-nlp",model_name="opt-125m",'
                       'namespace="team-nlp",pod=~"' + "|".join(a_pods) + '"})')

    # the relist registers exactly the metrics of models whose pods report, as pod metrics of team-nlp
    assert set(adapter.discover()) == {(NS, vllm_metrics.queue_metric(A)), (NS, vllm_metrics.queue_metric(B))}
    rule_a = next(rule for rule in adapter.rules if rule.name_as == a.metric)
    series = prometheus.series(rule_a.series_query, 60)
    assert {(s["namespace"], s["pod"], s["model_name"], s["engine"]) for s in series} == \
        {(NS, p, A, "0") for p in a_pods[:3]}


def test_a_model_without_series_keeps_its_replicas_instead_of_reading_zero(scenario, fleet, prometheus, adapter):
    c = _spec(scenario, C)
    client = CustomMetricsClient(adapter)
    set_load(fleet, C, [])  # both replicas still loading the model: no /metrics yet
    set_load(fleet, A, [0, 0, 0])

    def c_targets():
        ts = [t for t in prometheus.get("/api/v1/targets")["activeTargets"] if t["labels"]["service"] == C]
        return sorted((t["labels"]["pod"], t["health"], "503" in t["lastError"]) for t in ts)
    eventually(c_targets, [(p, "down", True) for p in pod_names(C)], "C's targets scraped and failing")
    eventually(lambda: adapter.discover().get((NS, vllm_metrics.queue_metric(A))) is not None, True, "A registered")

    pods = [Pod(p, {}, phase="Running") for p in pod_names(C)]  # running, not ready (loading)
    with pytest.raises(MetricsUnavailable, match=f"the server could not find the metric {c.metric} for pods"):
        client.get_raw_metric(NS, c.metric, pods)

    hpa = HorizontalController(c)
    assert hpa.reconcile(0, 2, pods, lambda: client.get_raw_metric(NS, c.metric, pods)) == 2
    status, reason, message = hpa.conditions["ScalingActive"]
    assert (status, reason) == ("False", "FailedGetPodsMetric")
    assert f"unable to get metric {c.metric}: unable to fetch metrics from custom metrics API" in message
    assert hpa.recommendations == [] and hpa.last_proposal is None  # nothing the stabilization would remember

    # reading "no series" as an idle queue would have taken a replica away from a model that is
    # still starting: 0 waiting / 4 per replica -> ceil(0 * 2) = 0 -> min 1, one pod per 120 s -> 1
    naive = HorizontalController(c)
    assert naive.reconcile(0, 2, pods, lambda: {p.name: 0 for p in pods}) == 1

    # the metric exists (A's three pods report) but none of the asked pods has a series: the
    # adapter answers an empty list, the HPA's client an error, and A keeps its 5 replicas
    a = _spec(scenario, A)
    restarted = [Pod(p, {}, phase="Running") for p in pod_names(A)[3:]]
    hpa_a = HorizontalController(a)
    assert hpa_a.reconcile(0, 5, restarted, lambda: client.get_raw_metric(NS, a.metric, restarted)) == 5
    assert hpa_a.conditions["ScalingActive"][:2] == ("False", "FailedGetPodsMetric")
    assert hpa_a.conditions["ScalingActive"][2].endswith("no metrics returned from custom metrics API")


def test_a_load_step_scales_only_its_model_and_scale_down_waits_out_the_window(scenario, fleet, prometheus, adapter):
    a, b = _spec(scenario, A), _spec(scenario, B)
    # the hand arithmetic below is for this rendered HPA of A (and B's target):
    assert (a.min_replicas, a.max_replicas, a.target_milli) == (1, 8, 4000)
    assert a.scale_up == ScalingRules(0, "Max", (Policy("Pods", 2, 60),))
    assert a.scale_down == ScalingRules(1200, "Min", (Policy("Pods", 1, 120),))  # window = startup_timeout_seconds
    assert b.target_milli == 4000
    client = CustomMetricsClient(adapter)
    dep_a, dep_b, dep_c = SimDeployment(scenario, A, 3), SimDeployment(scenario, B, 2), SimDeployment(scenario, C, 2)
    hpa_a, hpa_b = HorizontalController(a), HorizontalController(b)
    changes: dict[int, int] = {}
    limits: dict[int, tuple[str, str]] = {}

    def sync(t: int) -> None:
        namespace_pods = dep_a.pods + dep_b.pods + dep_c.pods
        pods_a, pods_b = hpa_pods(a, scenario, namespace_pods), hpa_pods(b, scenario, namespace_pods)
        assert [p.name for p in pods_a] == [p.name for p in dep_a.pods]
        n = hpa_a.reconcile(t, dep_a.replicas, pods_a, lambda: client.get_raw_metric(NS, a.metric, pods_a))
        limits[t] = (hpa_a.conditions["AbleToScale"][1], hpa_a.conditions["ScalingLimited"][1])
        if n != dep_a.replicas:
            changes[t] = n
            dep_a.scale(n)
        # B: (3 + 5) / 2 = 4 waiting per replica = its target -> inside the tolerance, stays at 2
        assert hpa_b.reconcile(t, dep_b.replicas, pods_b, lambda: client.get_raw_metric(NS, b.metric, pods_b)) == 2
        assert hpa_b.last_usage_milli == 4000

    # --- load step: A's three replicas each have 40 requests waiting
    set_load(fleet, A, [40, 40, 40])
    set_load(fleet, B, [3, 5])
    eventually(lambda: values_of(adapter, a, pod_names(A)), {p: 40_000 for p in pod_names(A)[:3]}, "A at 40")
    for t in range(0, 600, SYNC_PERIOD_SECONDS):  # new replicas stay Pending (GPU node, then model load)
        sync(t)
        # 3 pods x 40 waiting = 120 requests at 4 per replica -> ceil(40 / 4 * 3) = 30 replicas wanted;
        # Pending pods count as 0 on a scale-up (120 / 5 / 4 * 5 = 30 again): the proposal stays 30
        assert hpa_a.last_proposal == 30, t
    # +2 pods per 60 s from 3 (5 at t=0, 7 at t=60), then the max of 8 (t=120); never 30
    assert changes == {0: 5, 60: 7, 120: 8}
    assert limits[0] == ("ReadyForNewScale", "ScaleUpLimit") and limits[15] == ("ReadyForNewScale", "ScaleUpLimit")
    assert limits[120] == ("ReadyForNewScale", "TooManyReplicas")

    # --- the new replicas are up and the load is gone: one request left on the first pod
    dep_a.all_running()
    set_load(fleet, A, [1] + [0] * 7)
    eventually(lambda: values_of(adapter, a, pod_names(A)), {p: (1000 if i == 0 else 0)
                                                             for i, p in enumerate(pod_names(A))}, "A drained")
    for t in range(600, 2521, SYNC_PERIOD_SECONDS):
        sync(t)
        assert hpa_a.last_proposal == 1, t  # 1 waiting over 8..1 pods -> ceil(<= 0.25) = 1
    # the proposal of 30 made at t=585 is inside the 1200 s window until t=585+1200=1785: no
    # scale-down before; then one pod per 120 s (1785, 1905, ...) down to min_replicas 1 at 2505
    assert changes == {0: 5, 60: 7, 120: 8, 1785: 7, 1905: 6, 2025: 5, 2145: 4, 2265: 3, 2385: 2, 2505: 1}
    assert limits[600] == limits[1770] == ("ScaleDownStabilized", "DesiredWithinRange")
    assert limits[1785] == limits[1800] == ("ReadyForNewScale", "ScaleDownLimit")
    assert dep_a.replicas == 1 and dep_b.replicas == 2


# ----------------------------------------------------------------------------- the arithmetic itself
def test_the_replica_arithmetic_follows_the_controller():
    """Hand-computed cases of kube-controller-manager's Pods-metric calculation (target 4)."""
    def pods(*phases):
        return [Pod(f"p{i}", {}, phase=ph) for i, ph in enumerate(phases)]
    run2 = pods("Running", "Running")
    assert pods_metric_replicas(2, {"p0": 4000, "p1": 4800}, run2, 4000)[0] == 2   # 4.4 / 4 = 1.1: tolerated
    assert pods_metric_replicas(2, {"p0": 4000, "p1": 5000}, run2, 4000)[0] == 3   # ceil(4.5 / 4 * 2) = 3
    assert pods_metric_replicas(2, {"p0": 3000, "p1": 4000}, run2, 4000)[0] == 2   # 3.5 / 4 = 0.875 -> ceil(1.75)
    # a Pending pod: excluded on a scale-down (2 ready at 1 -> ceil(0.25 * 2) = 1) ...
    assert pods_metric_replicas(3, {"p0": 1000, "p1": 1000}, pods("Running", "Running", "Pending"), 4000)[0] == 1
    # ... counted as 0 on a scale-up (16 + 16 + 0 over 3 = 10.666 -> ceil(10.666 / 4 * 3) = 8)
    assert pods_metric_replicas(3, {"p0": 16000, "p1": 16000}, pods("Running", "Running", "Pending"), 4000)[0] == 8
    # a Running pod without a metric counts as on target on a scale-down: (0 + 0 + 4) / 3 = 1.333 -> ceil(0.99975)
    assert pods_metric_replicas(3, {"p0": 0, "p1": 0}, pods("Running", "Running", "Running"), 4000)[0] == 1
    with pytest.raises(MetricsUnavailable, match="did not receive metrics"):
        pods_metric_replicas(1, {}, pods("Pending"), 4000)
