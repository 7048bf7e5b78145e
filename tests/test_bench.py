"""Performance budget: synth+validate CPU cost per written object above the jsii floor (CPU
time, so a busy runner measures us, not its neighbours)."""
import os

import pytest

from mlplatform.cli import BUDGET_MS_PER_OBJECT, bench


@pytest.mark.skipif(os.environ.get("MLP_SKIP_BENCH") == "1", reason="MLP_SKIP_BENCH=1")
def test_synth_cost_per_object_within_budget():
    # Medians of fresh processes; a second measurement absorbs a burst of load on a shared
    # 2-core machine (both runs over budget means a real regression).
    results = [bench(reps=5)]
    # Judged at the reference CPU speed (cli.REFERENCE_FLOOR_CPU_S): a VM running a third slower
    # this hour inflates floor and synth alike.
    if results[0]["ms_per_object_at_reference"] > BUDGET_MS_PER_OBJECT:
        results.append(bench(reps=5))
    assert min(r["ms_per_object_at_reference"] for r in results) <= BUDGET_MS_PER_OBJECT, results
