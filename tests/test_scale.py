"""The scale benchmark: the synthetic platform is a valid platform of the asked shape, synth+validate
grows linearly with it, and our schema validation beats per-document kubernetes-validate.

The timing tests run small shapes in fresh processes (`MLP_SKIP_BENCH=1` skips them, like
tests/test_bench.py); `python app.py bench-scale` runs the full 10-env platform."""
import os

import pytest

from bench import scale
from mlplatform.plan import render
from mlplatform.validate import validate

SMALL = scale.Shape(envs=2, teams=16, gpu_teams=4, models=6, profiles=5)
bench = pytest.mark.skipif(os.environ.get("MLP_SKIP_BENCH") == "1", reason="MLP_SKIP_BENCH=1")


def test_generated_platform_has_the_shape_and_validates():
    envs = scale.generate(SMALL)
    assert len(envs) == 2 and len({e.name for e in envs}) == 2 and len({e.domain for e in envs}) == 2
    assert len({e.kubernetes_version for e in envs}) == 2  # both minors, as the real synth validates
    for e in envs:
        assert len(e.teams) == SMALL.teams
        assert set(e.volcano.queues) == {t.name for t in e.teams}  # config requires a queue per team
        gpu_queues = [n for n, q in e.volcano.queues.items() if q.capability.gpus > 0]
        assert len(gpu_queues) == SMALL.gpu_teams
        assert len(e.serving.models) == SMALL.models
        assert {m.team for m in e.serving.models} <= set(gpu_queues)
        assert len(e.jupyterhub.profiles) == SMALL.profiles
        r = render(e)
        assert validate(r) == [], e.name
        assert sum(len(v) for v in r.components.values()) > 20 * SMALL.teams


def test_a_shape_smaller_than_the_template_is_refused():
    with pytest.raises(ValueError, match="at least the template's"):
        scale.generate(scale.Shape(envs=1, teams=1, gpu_teams=1, models=1, profiles=1))


def _result(objects, cpu_s, problems=0):
    stage = {"wall_s": cpu_s / 4, "cpu_s": cpu_s / 4}
    return {"shape": {"envs": 2, "teams": 10, "models": 2}, "objects": objects, "problems": problems,
            "first_problems": ["scale00/x/Kind/y: broken"] * problems,
            "platform_wall_s": cpu_s, "platform_cpu_s": cpu_s, "startup_wall_s": 1.0, "startup_cpu_s": 1.0,
            "total_wall_s": cpu_s + 1, "total_cpu_s": cpu_s + 1, "cpu_ms_per_object": 1000 * cpu_s / objects,
            "render_cpu_ms_per_object": 0.1, "validate_cpu_ms_per_object": 0.1, "write_cpu_ms_per_object": 0.1,
            "python_peak_rss_mib": 100.0, "node_peak_rss_mib": 50.0,
            "stages": {s: stage for s in scale.PLATFORM_STAGES}}


def test_report_flags_superlinear_growth_problems_and_a_missed_target():
    lines, ok = scale.report([1.0, 2.0], [_result(1000, 2.0), _result(2000, 4.2)], None)
    assert ok and "linear growth: worst CPU per object 1.05x" in "\n".join(lines)
    lines, ok = scale.report([1.0, 2.0], [_result(1000, 2.0), _result(2000, 8.0)], None)
    assert not ok and "SUPERLINEAR" in "\n".join(lines)
    lines, ok = scale.report([1.0], [{**_result(1000, 20.0), "shape": scale.asdict(scale.Shape())}], None)
    assert not ok and "target 15 s: MISSED" in "\n".join(lines)
    lines, ok = scale.report([1.0], [_result(1000, 2.0, problems=3)], None)
    assert not ok and "3 validation problem(s)" in "\n".join(lines)


@bench
def test_synth_validate_grows_linearly_with_the_platform():
    small, double = scale.measure(SMALL), scale.measure(SMALL.times(2))
    assert small["problems"] == 0 and double["problems"] == 0, (small["first_problems"], double["first_problems"])
    assert small["files"] == small["objects"] and double["files"] == double["objects"]
    assert double["objects"] > 1.5 * small["objects"]  # per-team objects double; the env base does not
    growth = scale.growth([small, double])[1]
    assert growth <= scale.LINEAR_TOLERANCE, (small, double)
    # the pure-Python stages alone (no jsii process start-ups to dilute a superlinear check)
    python = [(r["stages"]["render"]["cpu_s"] + r["stages"]["validate"]["cpu_s"]) / r["objects"] for r in (small, double)]
    assert python[1] <= scale.LINEAR_TOLERANCE * python[0], (small["stages"], double["stages"])


@bench
def test_our_validation_is_ten_times_faster_than_kubernetes_validate():
    tp = scale.throughput(SMALL, sample=25)
    assert tp["core_objects"] > 500
    assert all(v["errors"] == 0 for v in tp["rows"].values()), tp
    assert tp["speedup_no_memo"] >= scale.THROUGHPUT_TARGET, tp
