"""checkov's Kubernetes checks over what every env renders, and the table of accepted findings.

The scan judges a fresh render (the session's `rendered` fixture, i.e. `plan.render`, which
writes the `checkov.io/skip<N>` annotations of kit/policy.py), dumped one object per file with
the YAML dumper `write.py` uses, so it never depends on the committed `dist/` being current.
Each env is scanned on its own (checkov links RoleBindings to Roles by name across everything
it is given) and the envs run in parallel. Next to each env's objects the scan gets an
"unexcused" copy of every object that carries a skip, without its skip annotations: that is how
the test knows each skip is still needed.

The same run per env also gets every object the env's charts and upstream manifests render
(`r.renders.docs`, what Argo CD applies besides our objects; CRDs left out: no check reads them
and they are megabytes). Those cannot carry annotations, so their findings are excused by
`chart_policy.CHART_EXEMPTIONS`; our objects and the renders share the run, so checkov's graph checks
(NetworkPolicy coverage, RBAC bindings) see the env as Argo CD will apply it. A planted copy of
a chart Deployment without any securityContext rides along to prove a chart finding is caught.

checkov lives in its own venv (.venv-checkov, scripts/setup-checkov.sh); without it the scan
tests skip, unless MLP_REQUIRE_CHECKOV is set (then they fail).
"""
from __future__ import annotations

import copy
import json
import os
import re
import resource
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlplatform.components import COMPONENTS
from mlplatform.config.loader import env_names, load_env
from mlplatform.kit import chart_policy, policy, versions
from mlplatform.kit.meta import LABEL_COMPONENT, ref
from mlplatform.write import _dump_yaml

ROOT = Path(__file__).resolve().parents[1]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
README = ROOT / "README.md"
SCANNED, UNEXCUSED, CHARTS, PLANTED = "objects", "unexcused", "charts", "planted"
PLANTED_SUFFIX = "-planted-no-securitycontext"


@dataclass(frozen=True)
class Result:
    env: str
    tree: str        # SCANNED (as in dist/), UNEXCUSED (skip annotations removed), CHARTS (renders), PLANTED
    component: str
    obj: str         # Kind/namespace/name
    check: str
    name: str        # checkov's title of the check
    status: str      # FAILED, PASSED, SKIPPED
    comment: str     # the suppression comment of a SKIPPED result
    body: dict = field(default_factory=dict, compare=False, hash=False, repr=False)  # the object scanned

    def __str__(self) -> str:
        return f"{self.env}/{self.component}/{self.obj}: {self.check} {self.name}"


def _require_checkov() -> None:
    if not CHECKOV.exists():
        if os.environ.get("MLP_REQUIRE_CHECKOV"):
            pytest.fail(f"{CHECKOV.relative_to(ROOT)} missing and MLP_REQUIRE_CHECKOV is set: run scripts/setup-checkov.sh")
        pytest.skip("checkov is not installed (.venv-checkov): run scripts/setup-checkov.sh; "
                    "set MLP_REQUIRE_CHECKOV=1 to make this a failure")


def _unexcused(obj: dict) -> dict:
    o = copy.deepcopy(obj)
    ann = o["metadata"]["annotations"]
    for key in policy.skip_annotations(o):
        del ann[key]
    if not ann:
        del o["metadata"]["annotations"]
    return o


def _strip_security_contexts(obj: dict) -> dict | None:
    """A renamed copy of a workload with every securityContext (pod and containers) removed."""
    o = copy.deepcopy(obj)
    spec = policy.pod_spec(o)
    if spec is None:
        return None
    o["metadata"]["name"] += PLANTED_SUFFIX
    spec.pop("securityContext", None)
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            c.pop("securityContext", None)
    return o


def _plant(rendered) -> tuple[str, dict] | None:
    """A chart Deployment that runs non-root without privilege escalation, stripped of its
    securityContexts (so it must fail CKV_K8S_20 and CKV_K8S_23): (component, planted copy)."""
    for comp, docs in sorted(rendered.renders.docs.items()):
        for d in docs:
            spec = policy.pod_spec(d.obj) if d.obj.get("kind") == "Deployment" else None
            if not spec:
                continue
            pod_nonroot = (spec.get("securityContext") or {}).get("runAsNonRoot") is True
            if all((c.get("securityContext") or {}).get("allowPrivilegeEscalation") is False
                   and ((c.get("securityContext") or {}).get("runAsNonRoot") is True or pod_nonroot)
                   for c in spec.get("containers") or []):
                return comp, _strip_security_contexts(d.obj)
    return None


def _write(where: dict, path: Path, tree: str, comp: str, body: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_dump_yaml(body), encoding="utf-8")
    where[os.path.realpath(path)] = (tree, comp, ref(body), body)


def _write_env(root: Path, rendered, plant: bool = False) -> dict[str, tuple[str, str, str, dict]]:
    """Dump one env's objects (and the unexcused copies) and its chart renders (and, with `plant`,
    the planted workload); {absolute path: (tree, component, ref, object)}."""
    where: dict[str, tuple[str, str, str, dict]] = {}
    for comp in sorted(rendered.components):
        for i, o in enumerate(rendered.components[comp]):
            copies = [(SCANNED, o)] + ([(UNEXCUSED, _unexcused(o))] if policy.skip_annotations(o) else [])
            for tree, body in copies:
                _write(where, root / tree / comp / f"{o['kind']}.{o['metadata']['name']}.{i}.k8s.yaml", tree, comp, body)
    for comp in sorted(rendered.renders.docs):
        for i, d in enumerate(rendered.renders.docs[comp]):
            if d.obj.get("kind") == "CustomResourceDefinition":
                continue
            name = str(d.obj["metadata"].get("name", "")).replace("/", "_")
            _write(where, root / CHARTS / comp / f"{d.obj['kind']}.{name}.{i}.k8s.yaml", CHARTS, comp, d.obj)
    planted = _plant(rendered) if plant else None
    if planted:
        comp, body = planted
        _write(where, root / PLANTED / comp / f"Deployment.{body['metadata']['name']}.k8s.yaml", PLANTED, comp, body)
    return where


def _reports(stdout: str) -> list[dict]:
    data = json.loads(stdout)
    return data if isinstance(data, list) else [data]


@pytest.fixture(scope="module")
def scan(rendered, tmp_path_factory) -> list[Result]:
    _require_checkov()
    problems = [p for r in rendered.values() for p in r.problems]
    assert not problems, "the envs must render cleanly before they are scanned:\n" + "\n".join(problems)
    assert all(r.renders.complete and r.renders.docs for r in rendered.values()), "the charts were not rendered"
    base = tmp_path_factory.mktemp("checkov")
    start, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    where: dict[str, tuple[str, str, str, str, dict]] = {}
    runs = {}
    for env in sorted(rendered):
        where_env = _write_env(base / env, rendered[env], plant=env == min(rendered))
        where.update({p: (env, *w) for p, w in where_env.items()})
        # --skip-download: no calls to the vendor's API (offline, and faster); not --quiet: the
        # passed and skipped results are what the tests below read. Output to files, not pipes,
        # so no run waits on a full pipe while another is being read.
        with (base / f"{env}.json").open("w") as out, (base / f"{env}.err").open("w") as err:
            runs[env] = subprocess.Popen([str(CHECKOV), "-d", str(base / env), "--framework", "kubernetes",
                                          "--compact", "-o", "json", "--skip-download"],
                                         stdout=out, stderr=err, cwd=base)
    results: list[Result] = []
    try:
        codes = {env: run.wait(timeout=600) for env, run in runs.items()}
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
    for env, code in codes.items():
        err = (base / f"{env}.err").read_text(encoding="utf-8", errors="replace")
        assert code in (0, 1), f"checkov failed to run on {env} ({code}): {err[-2000:]}"
        for report in _reports((base / f"{env}.json").read_text(encoding="utf-8")):
            summary = report.get("summary", {})
            assert summary.get("parsing_errors", 0) == 0, f"{env}: checkov could not parse some files: {report}"
            assert summary.get("passed", 0) > 0, f"{env}: checkov passed nothing, so it checked nothing: {summary}"
            for status in ("failed", "passed", "skipped"):
                for c in report.get("results", {}).get(f"{status}_checks", []):
                    e, tree, comp, obj, body = where[os.path.realpath(c["file_abs_path"])]
                    results.append(Result(e, tree, comp, obj, c["check_id"], c["check_name"], status.upper(),
                                          c["check_result"].get("suppress_comment", ""), body))
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"checkov: {len(where)} files of {len(rendered)} envs in {time.monotonic() - start:.1f}s "
          f"({used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime:.1f}s CPU)")
    return results


# ----------------------------------------------------------------------------- the scan
def test_checkov_finds_nothing_that_is_not_excused(scan):
    failed = sorted({str(r) for r in scan if r.tree == SCANNED and r.status == "FAILED"})
    assert not failed, ("checkov findings: fix them in the component that builds the object, or, if the "
                        "finding is inherent, add a reasoned exemption to kit/policy.py:\n" + "\n".join(failed))


def test_every_skip_is_honoured_and_still_needed(rendered, scan):
    skipped = {(r.env, r.obj, r.check): r.comment for r in scan if r.tree == SCANNED and r.status == "SKIPPED"}
    failing = {(r.env, r.obj, r.check) for r in scan if r.tree == UNEXCUSED and r.status == "FAILED"}
    reasons = {e.reason for e in policy.EXEMPTIONS}
    wanted, unneeded = set(), []
    for env, r in rendered.items():
        for objs in r.components.values():
            for o in objs:
                for check in policy.skipped_checks(o):
                    key = (env, ref(o), check)
                    wanted.add(key)
                    if key not in failing:
                        unneeded.append(f"{env}/{ref(o)}: {check} passes without its exemption")
    assert set(skipped) == wanted, (f"checkov ignored skips {sorted(wanted - set(skipped))}, "
                                    f"or skipped unasked {sorted(set(skipped) - wanted)}")
    assert set(skipped.values()) <= reasons, "checkov read a reason other than the table's (a '=' in it?)"
    assert not unneeded, ("exemptions on objects that pass anyway; narrow the exemption's predicate or drop "
                          "it from kit/policy.py:\n" + "\n".join(sorted(unneeded)))


# ----------------------------------------------------------------------------- chart renders
def _unexcused_chart_findings(results, table=None) -> list[str]:
    """FAILED results on chart renders (or the planted copy) that no chart exemption excuses, and
    those two exemptions excuse (an ambiguous table)."""
    out = []
    for r in results:
        if r.tree in (CHARTS, PLANTED) and r.status == "FAILED":
            hits = chart_policy.chart_exemptions_for(r.check, r.component, r.body, table)
            if len(hits) != 1:
                out.append(f"{r}" + (f" (excused twice: {[e.objects for e in hits]})" if hits else ""))
    return sorted(set(out))


def test_chart_renders_are_scanned(scan, rendered):
    scanned = {(r.env, r.component) for r in scan if r.tree == CHARTS}
    wanted = {(env, comp) for env, r in rendered.items() for comp, docs in r.renders.docs.items()
              if any(policy.pod_spec(d.obj) is not None for d in docs)}
    assert wanted and wanted <= scanned, f"renders with workloads checkov reported nothing on: {sorted(wanted - scanned)}"


def test_chart_renders_have_no_unexcused_findings(scan):
    failed = _unexcused_chart_findings([r for r in scan if r.tree == CHARTS])
    assert not failed, ("checkov findings on what the charts render: fix them through the chart's values in the "
                        "component, or add a reasoned row to chart_policy.CHART_EXEMPTIONS:\n" + "\n".join(failed))


def test_a_chart_workload_without_security_context_is_caught(scan):
    planted = [r for r in scan if r.tree == PLANTED]
    assert planted, "no chart Deployment was planted (none runs non-root without privilege escalation?)"
    caught = _unexcused_chart_findings(planted)
    for check in ("CKV_K8S_20", "CKV_K8S_23"):
        assert any(f" {check} " in f for f in caught), (check, caught)
    # the same object, as rendered, does not fail them
    source = {(r.obj.replace(PLANTED_SUFFIX, ""), r.check) for r in planted}
    original = {(r.obj, r.check) for r in scan if r.tree == CHARTS and r.env == planted[0].env
                and r.status == "FAILED" and r.check in ("CKV_K8S_20", "CKV_K8S_23")}
    assert not {s for s in source if s in original}, original


def test_every_chart_exemption_excuses_some_finding(scan):
    used = {(id(e), c): 0 for e in chart_policy.CHART_EXEMPTIONS for c in e.checks}
    for r in scan:
        if r.tree == CHARTS and r.status == "FAILED":
            for e in chart_policy.chart_exemptions_for(r.check, r.component, r.body):
                used[(id(e), r.check)] += 1
    stale = [f"{c} for {e.components} {e.objects}" for e in chart_policy.CHART_EXEMPTIONS for c in e.checks
             if not used[(id(e), c)]]
    assert not stale, f"chart exemptions no finding of any env needs (drop them from kit/policy.py): {stale}"


def test_every_chart_exemption_is_reasoned_in_words():
    assert chart_policy.CHART_EXEMPTIONS
    registry = {c.name for c in COMPONENTS} | {chart_policy.ANY_CHART}
    seen = set()
    for e in chart_policy.CHART_EXEMPTIONS:
        assert set(e.components) <= registry, f"{e.checks}: unknown components {set(e.components) - registry}"
        assert len(re.findall(r"[A-Za-z]{2,}", e.reason)) >= 15, f"{e.checks} ({e.objects}): say what the pod needs and why"
        assert not _PLACEHOLDER.search(e.reason), f"{e.checks}: placeholder in the reason: {e.reason!r}"
        assert len(re.findall(r"[A-Za-z]{2,}", e.objects)) >= 2, f"{e.checks}: say which objects it covers"
        assert len(set(e.checks)) == len(e.checks), f"{e.checks}: a check listed twice in one row"
        assert (e.checks, e.components, e.objects) not in seen, f"{e.checks} for {e.objects} listed twice"
        seen.add((e.checks, e.components, e.objects))


def test_chart_exemptions_match_by_check_component_and_object():
    dep = _deployment("volcano-admission", "docker.io/volcanosh/vc-webhook-manager:v1.15.1")
    table = (chart_policy.ChartExemption(("CKV_K8S_22",), ("volcano",), "the admission Deployment",
                                         "a reason long enough",
                                         chart_policy._objects("Deployment", "volcano-admission")),)
    assert chart_policy.chart_exemptions_for("CKV_K8S_22", "volcano", dep, table) == list(table)
    assert not chart_policy.chart_exemptions_for("CKV_K8S_23", "volcano", dep, table)
    assert not chart_policy.chart_exemptions_for("CKV_K8S_22", "airflow", dep, table)
    assert not chart_policy.chart_exemptions_for("CKV_K8S_22", "volcano", _deployment("volcano-admission-x", "x:1"), table)
    fake = Result("dev", CHARTS, "volcano", ref(dep), "CKV_K8S_22", "read-only", "FAILED", "", dep)
    assert _unexcused_chart_findings([fake], table) == []
    assert _unexcused_chart_findings([fake], table + table) == [f"{fake} (excused twice: "
                                                                  f"{['the admission Deployment'] * 2})"]
    assert _unexcused_chart_findings([fake], ()) == [str(fake)]
    with pytest.raises(ValueError, match="non-empty tuple of component"):
        chart_policy.ChartExemption(("CKV_K8S_22",), "volcano", "x y", "reason", lambda o: True)
    with pytest.raises(ValueError, match="non-empty tuple of check"):
        chart_policy.ChartExemption("CKV_K8S_22", ("volcano",), "x y", "reason", lambda o: True)
    with pytest.raises(ValueError, match="not a checkov Kubernetes check id"):
        chart_policy.ChartExemption(("CKV_K8S_22", "CKV_AWS_1"), ("volcano",), "x y", "reason", lambda o: True)


# ----------------------------------------------------------------------------- the table
def test_every_exemption_covers_some_object(rendered):
    used = {id(e): 0 for e in policy.EXEMPTIONS}
    for r in rendered.values():
        for objs in r.components.values():
            for o in objs:
                for e in policy.exemptions_for(o):
                    used[id(e)] += 1
    stale = [f"{e.check} for {e.objects}" for e in policy.EXEMPTIONS if not used[id(e)]]
    assert not stale, f"exemptions no env renders an object for (drop them from kit/policy.py): {stale}"


_PLACEHOLDER = re.compile(r"\b(todo|tbd|fixme|xxx|n/?a|no comment|none|temporary|for now)\b", re.IGNORECASE)


def test_every_exemption_is_reasoned_in_words():
    assert policy.EXEMPTIONS
    seen = set()
    for e in policy.EXEMPTIONS:
        assert policy.CHECK_ID.match(e.check), e.check
        words = re.findall(r"[A-Za-z]{2,}", e.reason)
        assert len(words) >= 15, f"{e.check} ({e.objects}): say concretely why the finding is inherent"
        assert not _PLACEHOLDER.search(e.reason), f"{e.check}: placeholder in the reason: {e.reason!r}"
        assert len(re.findall(r"[A-Za-z]{2,}", e.objects)) >= 2, f"{e.check}: say which objects it covers"
        assert "=" not in e.reason and "\n" not in e.reason  # checkov splits the annotation value on '='
        assert (e.check, e.objects) not in seen, f"{e.check} for {e.objects} listed twice"
        seen.add((e.check, e.objects))


def test_exemptions_are_written_onto_the_objects_they_excuse(rendered):
    for r in rendered.values():
        assert not [p for p in r.problems if "kit/policy.py" in p], r.problems
        for objs in r.components.values():
            for o in objs:
                found = policy.exemptions_for(o)
                assert policy.skip_annotations(o) == {f"{policy.SKIP_KEY}{n}": f"{e.check}={e.reason}"
                                                      for n, e in enumerate(found, start=1)}, ref(o)
                if found:
                    # on the object itself (a Deployment, a Job), not on its pod template
                    assert not (o["spec"].get("template", {}).get("metadata", {}).get("annotations") or {}).keys() \
                        & policy.skip_annotations(o).keys()


def _deployment(name: str, image: str, **labels: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "team-x", "labels": dict(labels)},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}}


def test_annotate_numbers_by_check_is_idempotent_and_refuses_foreign_skips():
    pinned = next(iter(versions.IMAGES.values())).ref
    table = (
        policy.Exemption("CKV_K8S_40", "every deployment of component demo",
                         "a reason long enough to be a reason", policy._of_component("Deployment", "demo")),
        policy.Exemption("CKV_K8S_15", "pinned images", "another reason of the right shape", policy._pinned_by_tag),
    )
    o = _deployment("a", pinned, **{LABEL_COMPONENT: "demo"})
    unpinned = _deployment("b", "example.org/unreviewed:1.0", **{LABEL_COMPONENT: "other"})
    objs = {"demo": [o, unpinned]}
    assert policy.annotate(objs, table) == []
    assert policy.skip_annotations(o) == {"checkov.io/skip1": "CKV_K8S_15=another reason of the right shape",
                                          "checkov.io/skip2": "CKV_K8S_40=a reason long enough to be a reason"}
    assert policy.skip_annotations(unpinned) == {}, "an image outside the versions table is never excused"
    before = copy.deepcopy(objs)
    assert policy.annotate(objs, table) == [] and objs == before  # a second render changes nothing
    foreign = _deployment("c", "example.org/x:1", **{LABEL_COMPONENT: "other"})
    foreign["metadata"]["annotations"] = {"checkov.io/skip1": "CKV_K8S_8=because"}
    problems = policy.annotate({"demo": [foreign]}, table)
    assert problems == ["demo/Deployment/c: carries checkov.io/skip* annotations kit/policy.py did not make; "
                        "excuse findings in its table instead"]
    twice = table + (policy.Exemption("CKV_K8S_40", "again", "a second excuse for the same check",
                                      policy._of_component("Deployment", "demo")),)
    assert "two exemptions for CKV_K8S_40" in policy.annotate({"demo": [_deployment("d", "x:1", **{
        LABEL_COMPONENT: "demo"})]}, twice)[0]
    with pytest.raises(ValueError, match="without '='"):
        policy.Exemption("CKV_K8S_8", "x y", "a=b", lambda o: True)
    with pytest.raises(ValueError, match="not a checkov Kubernetes check id"):
        policy.Exemption("CKV_AWS_1", "x y", "reason", lambda o: True)


def test_pull_policy_is_excused_only_for_public_registries(monkeypatch):
    assert [policy.registry(i) for i in ("redis:7", "apache/airflow:3", "quay.io/jupyter/x:1",
                                         "docker.io/adorsys/y:1", "localhost:5000/z:1")] == \
        ["docker.io", "docker.io", "quay.io", "docker.io", "localhost:5000"]
    private = versions.Image("demo", "111111111111.dkr.ecr.us-west-2.amazonaws.com/demo", "1.0")
    monkeypatch.setitem(versions.IMAGES, "demo", private)
    o = _deployment("a", private.ref)
    # a private image is excused for the digest (CKV_K8S_43), never for the pull policy (CKV_K8S_15)
    assert policy._pinned_by_tag(o) and not policy._public_and_pinned_by_tag(o)
    assert [e.check for e in policy.exemptions_for(o)] == ["CKV_K8S_43"]


def test_a_digest_pinned_image_needs_no_exemption(monkeypatch):
    img = versions.Image("demo", "example.org/demo", "1.0@sha256:" + "0" * 64)
    monkeypatch.setitem(versions.IMAGES, "demo", img)
    assert not policy._pinned_by_tag(_deployment("a", img.ref))
    assert policy._pinned_by_tag(_deployment("a", next(i for i in versions.IMAGES.values() if i is not img).ref))


# ----------------------------------------------------------------------------- README: pod security
_SECTION = "## Pod security: what runs above `restricted`"


def _pod_security_tables() -> list[list[dict[str, str]]]:
    """The markdown tables under the pod security heading (down to the next `## `), as rows keyed by
    lower-cased header; a `### ...` subheading in between is fine."""
    text = README.read_text(encoding="utf-8")
    assert _SECTION in text, f"README.md lost its heading {_SECTION!r}"
    section = text.split(_SECTION, 1)[1].split("\n## ", 1)[0]
    tables, rows = [], []
    for line in section.splitlines() + [""]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            header, body = [h.lower() for h in rows[0]], rows[2:]
            tables.append([dict(zip(header, r)) for r in body])
            rows = []
    return tables


def _table(tables, first_column: str) -> list[dict[str, str]]:
    hits = [t for t in tables if t and next(iter(t[0])) == first_column]
    assert len(hits) == 1, (f"README.md {_SECTION!r}: expected one table whose first column is {first_column!r} "
                            "(the workloads one is '### Privileged and root workloads': workload | namespace | "
                            "what it needs | why)")
    return hits[0]


def _above_restricted() -> dict[str, tuple[str, str, str]]:
    """{namespace: (level, reason, component)} over every env, from the typed config."""
    out: dict[str, tuple[str, str, str]] = {}
    for name in env_names():
        for p in load_env(name).namespaces.platform:
            if p.pod_security != "restricted":
                assert out.setdefault(p.name, (p.pod_security, p.pod_security_reason, p.component)) \
                    == (p.pod_security, p.pod_security_reason, p.component), f"{p.name} differs between envs"
    return out


def _norm(s: str) -> str:
    return " ".join(s.replace("`", "").split()).lower()


def test_readme_namespace_levels_match_the_config():
    rows = _table(_pod_security_tables(), "namespace")
    documented = {r["namespace"].strip("`"): r for r in rows if r["namespace"].startswith("`")}
    above = _above_restricted()
    assert set(documented) == set(above), (
        f"README pod security table vs config (_default_platform_namespaces / env files): "
        f"only in README {sorted(set(documented) - set(above))}, only in config {sorted(set(above) - set(documented))}")
    for ns, (level, reason, _) in above.items():
        assert documented[ns]["enforced level"] == level, ns
        assert _norm(reason) in _norm(documented[ns]["why"]), f"{ns}: README's why must carry the config's reason"


def test_readme_lists_the_privileged_and_root_workloads():
    rows = _table(_pod_security_tables(), "workload")
    assert rows and set(rows[0]) == {"workload", "namespace", "what it needs", "why"}, rows[:1]
    above = _above_restricted()
    registry = {c.name for c in COMPONENTS}
    external = set(load_env(env_names()[0]).namespaces.external)
    listed = set()
    for r in rows:
        ns = r["namespace"].strip("`")
        listed.add(ns)
        assert ns in above or ns in external, (
            f"{r['workload']}: namespace {ns} enforces restricted, which refuses privileged or root pods")
        for col in ("workload", "what it needs", "why"):
            assert len(re.findall(r"[A-Za-z]{2,}", r[col])) >= 2, f"{r['workload']}: fill in {col!r}"
    assert set(above) <= listed, f"namespaces above restricted without a workload row: {sorted(set(above) - listed)}"
    assert {c for _, _, c in above.values()} <= registry
