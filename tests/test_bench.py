"""Performance budget: synth+validate of every env within 2x the jsii floor."""
import os

import pytest

from mlplatform.cli import bench


@pytest.mark.skipif(os.environ.get("MLP_SKIP_BENCH") == "1", reason="MLP_SKIP_BENCH=1")
def test_synth_within_twice_the_jsii_floor():
    res = bench(reps=3)
    assert res["ratio"] <= 2.0, res
