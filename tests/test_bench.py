"""Performance budget: synth+validate of every env as a multiple of the floor every synth pays
(Python + `import cdk8s` + an empty App), both measured in one run (CPU time, so a busy runner
measures us, not its neighbours, and a slower VM slows floor and synth alike)."""
import os

import pytest

from bench.synth import BUDGET_RATIO, bench


@pytest.mark.skipif(os.environ.get("MLP_SKIP_BENCH") == "1", reason="MLP_SKIP_BENCH=1")
def test_synth_within_its_budget_of_the_floor():
    # Medians of fresh processes; a second measurement absorbs a burst of load on a shared
    # 2-core machine (both runs over budget means a real regression).
    results = [bench(reps=3, progress=lambda m: None)]
    if results[0]["cpu_ratio"] > BUDGET_RATIO:
        results.append(bench(reps=3, progress=lambda m: None))
    assert min(r["cpu_ratio"] for r in results) <= BUDGET_RATIO, results
    r = results[-1]
    assert r["objects_rendered"] > 1000 and r["objects_ours"] > 600
    assert 0 < r["python_write_floor_cpu_s"] < r["synth_cpu_s"]
