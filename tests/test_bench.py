"""Performance budget: synth+validate of every env within 2x the jsii floor."""
import os

import pytest

from mlplatform.cli import bench


@pytest.mark.skipif(os.environ.get("MLP_SKIP_BENCH") == "1", reason="MLP_SKIP_BENCH=1")
def test_synth_within_twice_the_jsii_floor():
    # Medians of fresh processes; a second measurement absorbs a burst of load on a shared
    # 2-core machine (both runs over budget means a real regression).
    results = [bench(reps=5)]
    if results[0]["ratio"] > 2.0:
        results.append(bench(reps=5))
    assert min(r["ratio"] for r in results) <= 2.0, results
