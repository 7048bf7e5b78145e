"""The versions table is collected: kit/versions.py's shared rows, then each unit's `versions` rows in
registry order; a name declared twice is refused; the env config can ask it before any unit registered."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from mlplatform.components import COMPONENTS
from mlplatform.kit import versions


def test_the_tables_are_the_shared_rows_then_each_units_in_registry_order():
    rows = versions.SHARED + tuple(r for c in COMPONENTS for r in c.versions)
    assert versions.collect(rows) == {name: getattr(versions, name) for name in versions._TABLES}
    charts = [r.name for r in rows if isinstance(r, versions.HelmChart)]
    assert list(versions.CHARTS) == charts and charts[0] == "argo-cd"


def test_a_name_declared_twice_is_refused():
    a = versions.Image("redis", "redis", "7.4.11-alpine")
    with pytest.raises(ValueError, match="'redis' is declared twice in IMAGES"):
        versions.collect((a, versions.Image("redis", "example.org/redis", "8.0.0")))
    pin = versions.crd("Queue")
    with pytest.raises(ValueError, match="'Queue.scheduling.volcano.sh' is declared twice in CRDS"):
        versions.collect((pin, pin))
    with pytest.raises(TypeError, match="not a versions row"):
        versions.collect(("redis:7",))


def test_two_fake_units_collect_in_order():
    one = (versions.Image("b", "example.org/b", "1.0"), versions.ChartImages("c", ("example.org/x:1",)),
           versions.KnownStale("image", "b", "why"))
    two = (versions.Image("a", "example.org/a", "2.0"),)
    t = versions.collect(one + two)
    assert list(t["IMAGES"]) == ["b", "a"] and t["CHART_IMAGES"] == {"c": ("example.org/x:1",)}
    assert t["KNOWN_STALE"] == {("image", "b"): "why"} and t["CHARTS"] == {} and t["CRDS"] == ()


@pytest.mark.parametrize("first", ["mlplatform.config.loader", "mlplatform.components", "mlplatform.kit.versions"])
def test_any_import_order_loads_an_env_and_collects_the_same_table(first):
    """The env config checks image keys while it is imported (its defaults) and while an env loads; the units
    import the config. Whatever is imported first, the env loads and the table is the registered units'."""
    code = (f"import sys, importlib; sys.path.insert(0, sys.argv[1]); importlib.import_module({first!r}); "
            "from mlplatform.config.loader import load_env; load_env('dev'); "
            "from mlplatform.kit import versions; import mlplatform.components; "
            "print(len(versions.IMAGES), len(versions.CHARTS), len(versions.CRDS), next(iter(versions.IMAGES)))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "constructs")], capture_output=True, text=True,
                         env={**os.environ, "MLP_NO_REEXEC": "1"}, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(len(versions.IMAGES)), str(len(versions.CHARTS)), str(len(versions.CRDS)),
                                  "argocd"]
