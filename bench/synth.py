"""`python app.py bench`: synth+validate of every env against the floor every synth pays.

The floor is what every synth pays before doing anything: a Python process that imports cdk8s
(what synth imports; not cdk8s-plus-27, which it never loads) and synthesizes an empty App
(starting jsii's Node process). Both are timed in fresh processes in the same run; the budget is
their CPU ratio, which is what the PR pipeline feels and needs no machine-speed correction: a
slower VM slows floor and synth alike.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The budget: synth+validate of every env (warm render cache) as a multiple of the floor, measured in
# the same run.
BUDGET_RATIO = 12.0

# The pure-Python floor of the write path: parse and dump the written objects with the YAML library
# (in a fresh process), i.e. what writing them would cost without cdk8s/jsii.
_PY_WRITE_FLOOR = """
import sys, time, pathlib, yaml
sys.path.insert(0, sys.argv[2])
from mlplatform.kit import yamltext
files = sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml"))
t = time.process_time()
objs = [d for f in files for d in yamltext.load_all(f.read_text()) if d is not None]
texts = [yamltext.dump(o, sort_keys=True, default_flow_style=False, width=10_000) for o in objs]
print(len(objs), time.process_time() - t)
"""


def _time(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and everything it waited for, jsii's Node
    process included). CPU time is what the budget uses: on a busy PR runner wall time measures
    the neighbours."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench(reps: int, progress=lambda m: print(m, file=sys.stderr)) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="mlp-bench-"))
    try:
        floor_cmd = [sys.executable, "-c", "import cdk8s, sys; cdk8s.App(outdir=sys.argv[1]).synth()",
                     str(tmp / "floor")]
        full_cmd = [sys.executable, str(ROOT / "app.py"), "synth", "--out", str(tmp / "dist")]
        progress("bench: synth from a cold render cache (every chart rendered) ...")
        cold = _time(full_cmd, {"MLP_RENDER_CACHE": str(tmp / "cold-cache")})
        progress(f"bench:   {cold[0]:.1f}s; warming up ...")
        _time(full_cmd)  # warm the parsed-schema cache, the render cache and the OS page cache once
        floors, fulls = [], []
        for i in range(reps):
            progress(f"bench: run {i + 1}/{reps} (floor, synth) ...")
            floors.append(_time(floor_cmd))
            fulls.append(_time(full_cmd))
        f, s = statistics.median(w for w, _ in floors), statistics.median(w for w, _ in fulls)
        fc, sc = statistics.median(c for _, c in floors), statistics.median(c for _, c in fulls)
        ours = sum(1 for _ in (tmp / "dist").rglob("*.k8s.yaml"))
        renders = sum(1 for _ in (tmp / "dist" / "_rendered").rglob("*.yaml"))
        objects = ours + renders  # both are validated and written
        progress("bench: the pure-Python write floor ...")
        out = subprocess.run([sys.executable, "-c", _PY_WRITE_FLOOR, str(tmp / "dist"), str(ROOT / "constructs")],
                             capture_output=True, text=True, check=True).stdout.split()
        py_floor_cpu = float(out[1])
        return {"reps": reps, "cold_s": round(cold[0], 3), "cold_cpu_s": round(cold[1], 3),
                "objects_ours": ours, "objects_rendered": renders, "objects": objects,
                "floor_s": round(f, 3), "synth_validate_s": round(s, 3), "ratio": round(s / f, 2),
                "floor_cpu_s": round(fc, 3), "synth_cpu_s": round(sc, 3), "cpu_ratio": round(sc / fc, 2),
                "ms_per_object": round(1000 * (sc - fc) / objects, 2),
                "wall_ms_per_object": round(1000 * (s - f) / objects, 2),
                "python_write_floor_cpu_s": round(py_floor_cpu, 3),
                "python_write_floor_ms_per_object": round(1000 * py_floor_cpu / max(int(out[0]), 1), 3),
                "floor_all": [round(w, 3) for w, _ in floors], "synth_all": [round(w, 3) for w, _ in fulls]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def arguments(s: argparse.ArgumentParser) -> None:
    s.add_argument("--reps", type=int, default=5, help="timed runs of the floor and of the synth; medians are "
                                                        "reported (default 5)")
    s.add_argument("--budget", type=float, default=BUDGET_RATIO,
                   help=f"largest CPU ratio of synth+validate to the floor (default {BUDGET_RATIO})")
    s.add_argument("--json", action="store_true", help="also print every measurement as one JSON object")


def main(a: argparse.Namespace) -> int:
    import json

    res = bench(a.reps)
    print(f"floor (python + import cdk8s + empty App synth): {res['floor_s']:.3f}s wall, {res['floor_cpu_s']:.3f}s CPU "
          f"(median of {a.reps})")
    print(f"synth + validate, all envs (warm render cache):  {res['synth_validate_s']:.3f}s wall, "
          f"{res['synth_cpu_s']:.3f}s CPU (median of {a.reps})")
    print(f"objects validated and written: {res['objects']} ({res['objects_ours']} ours, "
          f"{res['objects_rendered']} chart renders); above the floor {res['ms_per_object']:.2f} CPU ms per object")
    print(f"from a cold render cache (every chart rendered): {res['cold_s']:.3f}s ({res['cold_cpu_s']:.3f}s CPU, "
          f"helm included), once")
    print(f"pure-Python write floor (parse + dump the written objects with the YAML library): "
          f"{res['python_write_floor_cpu_s']:.3f}s CPU, {res['python_write_floor_ms_per_object']:.3f} ms per object")
    ok = res["cpu_ratio"] <= a.budget
    print(f"ratio to the floor: {res['cpu_ratio']:.2f} CPU ({res['ratio']:.2f} wall); budget {a.budget}: "
          f"{'within budget' if ok else 'OVER BUDGET'}")
    if a.json:
        print(json.dumps(res))
    return 0 if ok else 1
