"""`python app.py bench-scale`: synth+validate of a synthetic platform far larger than ours.

The platform is built from a real env (`environments/dev.yaml` + its infra file) as a template:
its config is dumped, grown, and validated again through `Env.model_validate`, so every generated
env passes the same config checks as a hand-written one (team queues, GPU quotas, pool limits),
and then the same render -> validate -> write path as `python app.py synth` (into a temporary
folder; never the repo's `dist/`).

Shape of one env at scale 1x (`Shape`; `--factor F` multiplies every count except the env count):

- 200 teams (the template's teams plus generated ones), each with a namespace, quota, LimitRange,
  network policies and a Volcano queue (config requires one queue per team, so there are as many
  queues as teams);
- 50 of them are **GPU teams**: their queue carries a GPU budget (capability `nvidia.com/gpu` > 0)
  -- these are the issue's "50 queues" -- and they host the served models;
- 50 served models (vLLM), spread round-robin over the GPU teams; each team's GPU quota, its
  queue and the GPU NodePool's `gpu_limit` are raised so the GPU checks pass;
- 20 JupyterHub profiles (the template's plus generated CPU and 1-GPU profiles).

Envs alternate between the template's Kubernetes minor and the one before it (like dev and
prod), so validation loads two schema sets, as the real synth does.

Every measurement runs in a fresh Python process (the validator memoizes schema results by
object body, so a second run in one process would measure the cache). The process first
imports, loads the schemas and starts jsii (`startup`, a fixed cost, reported apart), then times
generate, render, validate and write for the platform. CPU time includes jsii's Node process.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = "dev"
TARGET_SECONDS = 15.0  # the full 10-env 1x platform on the 2-core dev VM
GPUS_PER_MODEL_REPLICA = 1
MODEL_MAX_REPLICAS = 2


@dataclass(frozen=True)
class Shape:
    envs: int = 10
    teams: int = 200
    gpu_teams: int = 50
    models: int = 50
    profiles: int = 20

    def times(self, factor: float) -> "Shape":
        """Scale the per-env counts (not the number of envs)."""
        return replace(self, teams=round(self.teams * factor), gpu_teams=round(self.gpu_teams * factor),
                       models=round(self.models * factor), profiles=round(self.profiles * factor))


# --------------------------------------------------------------------------- generating
def _minors(template_minor: str) -> tuple[str, str]:
    from mlplatform.kit.versions import SUPPORTED_KUBERNETES_MINORS as minors
    i = minors.index(template_minor)
    return (template_minor, minors[i - 1] if i > 0 else template_minor)


def generate(shape: Shape, template: str = TEMPLATE, env_dir: Path | None = None) -> list:
    """`shape.envs` valid `Env`s grown from env `template` (raises `ValueError` with the config
    problems if the shape can't be honoured, e.g. fewer teams than the template has)."""
    from mlplatform.config.loader import ENV_DIR, load_env
    from mlplatform.config.models import Env

    base = load_env(template, env_dir or ENV_DIR).model_dump(mode="json")
    minors = _minors(base["kubernetes_version"])
    return [Env.model_validate(_grow(base, shape, i, minors[i % 2])) for i in range(shape.envs)]


def _grow(base: dict, shape: Shape, index: int, minor: str) -> dict:
    d = json.loads(json.dumps(base))  # a deep copy of plain data
    name = f"scale{index:02d}"
    domain = f"{name}.scale.example.com"
    d.update(name=name, kubernetes_version=minor, domain=domain)
    infra = d["infrastructure"]
    infra.update(cluster_name=f"mlp-{name}", certificate_domains=[domain, f"*.{domain}"],
                 secrets_manager_prefix=f"mlplatform/{name}/")

    teams = d["teams"]
    have = {t["name"] for t in teams}
    if shape.teams < len(teams) or shape.gpu_teams > shape.teams:
        raise ValueError(f"a shape needs at least the template's {len(teams)} teams and no more GPU teams "
                         f"({shape.gpu_teams}) than teams ({shape.teams})")
    j = 0
    while len(teams) < shape.teams:
        j += 1
        t = f"t{j:04d}"
        if t in have:
            continue
        teams.append({"name": t, "description": f"generated team {j}",
                      "quota": {"cpu": "16", "memory": "64Gi", "gpus": 0, "pods": 50, "storage": "200Gi"}})
    queues = d["volcano"]["queues"]
    for t in teams:
        queues.setdefault(t["name"], {"weight": 1, "capability": {"cpu": t["quota"]["cpu"],
                                                                   "memory": t["quota"]["memory"], "gpus": 0}})

    # GPU teams: the template's (they already have GPU quota) first, then generated ones.
    gpu_teams = sorted((t for t in teams if t["quota"]["gpus"] > 0), key=lambda t: t["name"])
    gpu_teams += [t for t in teams if t["quota"]["gpus"] == 0][: max(0, shape.gpu_teams - len(gpu_teams))]
    gpu_teams = gpu_teams[: shape.gpu_teams]

    template_model = d["serving"]["models"][0]
    models = [m for m in d["serving"]["models"]][: shape.models]
    k = 0
    while len(models) < shape.models:
        k += 1
        m = json.loads(json.dumps(template_model))
        team = gpu_teams[(k - 1) % len(gpu_teams)]["name"]
        m.update(name=f"m{k:04d}", team=team, rollout="replace",
                 autoscaling={**m["autoscaling"], "min_replicas": 1, "max_replicas": MODEL_MAX_REPLICAS},
                 tensor_parallel_size=GPUS_PER_MODEL_REPLICA)
        models.append(m)
    d["serving"]["models"] = models

    need: dict[str, int] = {}
    for m in models:
        surge = 1 if m.get("rollout", "surge") == "surge" else 0
        need[m["team"]] = need.get(m["team"], 0) + m.get("tensor_parallel_size", 1) * (
            m["autoscaling"]["max_replicas"] + surge)
    # What else a team can run at once (config: team_gpu_demand): its Ray clusters' GPU groups at
    # max (a RayService twice) and the largest GPU training runtime offered to it -- gang-scheduled
    # work, which its Volcano queue must hold too.
    ray = d.get("ray") or {}
    gang: dict[str, int] = {}

    def gpu_group(c: dict | None) -> int:
        g = (c or {}).get("gpu_workers")
        return int(g.get("gpus", 1)) * int(g.get("max_replicas", 1)) if isinstance(g, dict) else 0

    if ray.get("enabled", True):
        for team_name, c in (ray.get("clusters") or {}).items():
            gang[team_name] = gang.get(team_name, 0) + gpu_group(c)
        for svc in ray.get("services") or []:
            gang[svc["team"]] = gang.get(svc["team"], 0) + 2 * gpu_group(svc.get("cluster"))
    runtimes = (d.get("trainer") or {}).get("runtimes") or []
    for t in gpu_teams:
        offered = [r.get("num_nodes", 1) * r.get("gpus_per_node", 0) for r in runtimes
                   if not r.get("teams") or t["name"] in r["teams"]]
        g = gang.get(t["name"], 0) + max(offered or [0])
        need[t["name"]] = need.get(t["name"], 0) + g
        t["quota"]["gpus"] = max(t["quota"]["gpus"], need.get(t["name"], 0), 1)
        queues[t["name"]]["capability"]["gpus"] = max(queues[t["name"]]["capability"]["gpus"], g, 1)
    pool = d["compute"]["karpenter"]["gpu_pool"]
    queue_gpus = sum(q["capability"]["gpus"] for q in queues.values())
    pool["gpu_limit"] = min(10000, max(pool["gpu_limit"], queue_gpus + sum(need.values())))

    profiles = d["jupyterhub"]["profiles"]
    images = ("notebook-base", "notebook-datascience", "notebook-scipy", "notebook-pytorch-cuda")
    p = 0
    while len(profiles) < shape.profiles:
        p += 1
        img = images[p % len(images)]
        gpu = img == "notebook-pytorch-cuda"
        cpu = 1 + p % 4
        profiles.append({"slug": f"p{p:03d}", "display_name": f"Generated {p}", "description": f"{cpu} CPU",
                         "image": img, "cpu_guarantee": cpu / 2, "cpu_limit": cpu,
                         "mem_guarantee": f"{cpu * 2}Gi", "mem_limit": f"{cpu * 4}Gi", "gpus": 1 if gpu else 0,
                         "required_roles": ["admin", "ml-engineer"] if gpu else []})
    d["jupyterhub"]["profiles"] = profiles[: max(1, shape.profiles)]
    return d


# --------------------------------------------------------------------------- measuring (child process)
def _tree_cpu() -> float:
    """CPU seconds of this process plus its live children (jsii's Node process) and every child
    already waited for. Live children are read from /proc (Linux); elsewhere only this process
    and finished children count."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = me.ru_utime + me.ru_stime + done.ru_utime + done.ru_stime
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for pid in _live_children():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime are fields 14-17 of stat; after the ")" they start at index 11
        total += sum(int(x) for x in fields[11:15]) / tick
    return total


def _live_children() -> list[int]:
    """Every live descendant of this process (jsii runs a Node wrapper that runs the Node kernel)."""
    out: list[int] = []
    todo = ["self"]
    while todo:
        pid = todo.pop()
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                continue
            out += kids
            todo += [str(k) for k in kids]
    return sorted(set(out))


def _children_peak_rss_mib() -> float:
    """Largest peak RSS (VmHWM) among live child processes, MiB (jsii's Node process)."""
    best = 0.0
    for pid in _live_children():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return best


class _Clock:
    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self._wall, self._cpu = time.perf_counter(), _tree_cpu()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), _tree_cpu()
        self.stages[stage] = {"wall_s": round(wall - self._wall, 3), "cpu_s": round(cpu - self._cpu, 3)}
        self._wall, self._cpu = wall, cpu


def measure_in_process(shape: Shape, out_dir: Path, template: str = TEMPLATE) -> dict:
    """Time generate -> render -> validate -> write of `shape` in *this* process (after a warm-up
    that loads the schemas and starts jsii). Call it in a fresh process: see `measure`."""
    clock = _Clock()
    import cdk8s  # the jsii runtime, as the real synth loads it

    from mlplatform import validate as validation
    from mlplatform.config.loader import load_env
    from mlplatform.plan import render
    from mlplatform.synth import prepare  # noqa: F401  (the real synth's import graph)
    from mlplatform.write import write_envs
    clock.lap("import")

    # Fixed costs, paid once per synth whatever the size: the schemas of both minors, every kind's
    # validator, the jsii kernel. Warm them on the template (then forget its memoized results).
    tmpl = load_env(template)
    for minor in _minors(tmpl.kubernetes_version):
        validation.validate(render(tmpl.model_copy(update={"kubernetes_version": minor}), with_renders=False))
    cdk8s.App(outdir=str(out_dir / "warm")).synth()  # starts the jsii kernel (the "floor" of `python app.py bench`)
    validation._MEMO.clear()
    clock.lap("warm-up")

    envs = generate(shape, template)
    clock.lap("generate")
    # The generator's own growth: chart renders are a fixed cost per env (12 charts, whatever the
    # number of teams), cached across synths and measured by `app.py bench` (cold and warm), so
    # they stay out of this measurement.
    rendered = [render(e, with_renders=False) for e in envs]
    clock.lap("render")
    problems = [p for r in rendered for p in validation.validate(r)]
    clock.lap("validate")
    write_envs(rendered, out_dir / "dist", out_dir / "argocd")
    clock.lap("write")
    files = sum(1 for _ in (out_dir / "dist").rglob("*.k8s.yaml")) + sum(1 for _ in (out_dir / "argocd").rglob("*.k8s.yaml"))
    objects = sum(sum(len(v) for v in r.components.values()) + len(r.bootstrap) for r in rendered)
    return {
        "shape": asdict(shape),
        "objects": objects,
        "files": files,
        "problems": len(problems),
        "first_problems": problems[:10],
        "stages": clock.stages,
        "python_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "node_peak_rss_mib": round(_children_peak_rss_mib(), 1),
    }


PLATFORM_STAGES = ("generate", "render", "validate", "write")
STARTUP_STAGES = ("import", "warm-up")


def _sum(stages: dict, names: tuple[str, ...], what: str) -> float:
    return round(sum(stages[n][what] for n in names if n in stages), 3)


def measure(shape: Shape, template: str = TEMPLATE) -> dict:
    """`measure_in_process` in a fresh Python process (so no cache of an earlier run helps), in a
    temporary folder that is removed afterwards. Adds totals and per-object costs."""
    tmp = Path(tempfile.mkdtemp(prefix="mlp-scale-"))
    try:
        res = _in_fresh_process("measure_in_process(Shape(**json.loads(sys.argv[2])), Path(sys.argv[3]), sys.argv[4])",
                                json.dumps(asdict(shape)), str(tmp), template)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    st, n = res["stages"], max(res["objects"], 1)
    for what in ("wall_s", "cpu_s"):
        res[f"platform_{what}"] = _sum(st, PLATFORM_STAGES, what)
        res[f"startup_{what}"] = _sum(st, STARTUP_STAGES, what)
        res[f"total_{what}"] = round(res[f"platform_{what}"] + res[f"startup_{what}"], 3)
    res["cpu_ms_per_object"] = round(1000 * res["platform_cpu_s"] / n, 3)
    res["wall_ms_per_object"] = round(1000 * res["platform_wall_s"] / n, 3)
    for stage in PLATFORM_STAGES:
        res[f"{stage}_cpu_ms_per_object"] = round(1000 * st[stage]["cpu_s"] / n, 3)
    return res


# --------------------------------------------------------------------------- validation throughput
def throughput_in_process(shape: Shape, sample: int, template: str = TEMPLATE) -> dict:
    """Objects/second of strict schema validation of the same core objects: ours (as the synth
    runs it: schemas loaded once per minor, one compiled validator per kind, results memoized by
    body), ours with the memo emptied before every object, and `kubernetes_validate.validate(obj,
    minor, strict=True)` per document on an evenly spread sample (it re-reads the 1.4 MB
    definitions and builds a new validator for every document, so all of them would take minutes).
    Timed from cold in this process: schema loading counts."""
    import kubernetes_validate

    from mlplatform import validate as validation
    from mlplatform.plan import render
    from mlplatform.validate import core

    envs = generate(replace(shape, envs=min(shape.envs, 2)), template)  # one env per minor
    objs: list[tuple[str, dict]] = []
    for e in envs:
        r = render(e, with_renders=False)
        cs = core.schemas(e.kubernetes_version)
        objs += [(e.kubernetes_version, o) for c in sorted(r.components) for o in r.components[c]
                 if cs.knows(o.get("apiVersion", ""), o.get("kind", ""))] + \
                [(e.kubernetes_version, o) for o in r.bootstrap if cs.knows(o.get("apiVersion", ""), o.get("kind", ""))]
    core.schemas.cache_clear()
    validation._MEMO.clear()

    def run(fn: Callable[[str, dict], int], items: list[tuple[str, dict]]) -> tuple[float, int]:
        t, errors = time.process_time(), 0
        for minor, o in items:
            errors += fn(minor, o)
        return time.process_time() - t, errors

    def ours(minor: str, o: dict) -> int:
        found, _ = validation._schema_problems(o, core.schemas(minor))
        return len(found)

    def ours_no_memo(minor: str, o: dict) -> int:
        validation._MEMO.clear()
        return ours(minor, o)

    def theirs(minor: str, o: dict) -> int:
        try:
            kubernetes_validate.validate(o, minor, strict=True)
            return 0
        except kubernetes_validate.ValidationError:
            return 1

    step = max(1, len(objs) // max(1, sample))
    picked = objs[::step][:sample]
    rows = {}
    secs, errs = run(ours, objs)
    rows["ours"] = {"objects": len(objs), "seconds": round(secs, 3), "errors": errs}
    secs, errs = run(ours_no_memo, objs)
    rows["ours_no_memo"] = {"objects": len(objs), "seconds": round(secs, 3), "errors": errs}
    secs, errs = run(theirs, picked)
    rows["kubernetes_validate"] = {"objects": len(picked), "seconds": round(secs, 3), "errors": errs}
    for v in rows.values():
        v["objects_per_s"] = round(v["objects"] / v["seconds"], 1) if v["seconds"] else None
    kinds = sorted({o["kind"] for _, o in objs})
    return {"core_objects": len(objs), "kinds": kinds, "rows": rows,
            "speedup": round(rows["ours"]["objects_per_s"] / rows["kubernetes_validate"]["objects_per_s"], 1),
            "speedup_no_memo": round(rows["ours_no_memo"]["objects_per_s"]
                                     / rows["kubernetes_validate"]["objects_per_s"], 1)}


def throughput(shape: Shape, sample: int = 200, template: str = TEMPLATE) -> dict:
    """`throughput_in_process` in a fresh Python process."""
    return _in_fresh_process("throughput_in_process(Shape(**json.loads(sys.argv[2])), int(sys.argv[3]), sys.argv[4])",
                             json.dumps(asdict(shape)), str(sample), template)


def _in_fresh_process(call: str, *args: str) -> dict:
    """Evaluate `call` (an expression over this module's names and sys.argv[2:] = `args`) in a new
    Python process, so no cache of an earlier measurement helps, and return its JSON result."""
    code = ("import json, sys; from pathlib import Path; sys.path[:0] = [sys.argv[1], str(Path(sys.argv[1]).parent)]; "
            "from bench.scale import Shape, measure_in_process, throughput_in_process; "
            f"print('RESULT ' + json.dumps({call}))")
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20"}
    p = subprocess.run([sys.executable, "-c", code, str(ROOT / "constructs"), *args],
                       cwd=ROOT, capture_output=True, text=True, env=env)
    line = next((x for x in p.stdout.splitlines() if x.startswith("RESULT ")), None)
    if p.returncode != 0 or line is None:
        raise RuntimeError(f"the measuring process failed (exit {p.returncode}):\n{p.stderr.strip()[-3000:]}")
    return json.loads(line[len("RESULT "):])


# --------------------------------------------------------------------------- the command
LINEAR_TOLERANCE = 1.6  # CPU per object at a larger scale may be at most this multiple of the smallest's
THROUGHPUT_TARGET = 10.0  # ours vs kubernetes-validate, objects per second


def growth(results: list[dict]) -> list[float]:
    """CPU ms per object of each result relative to the first (1.0 = perfectly linear)."""
    base = results[0]["cpu_ms_per_object"]
    return [round(r["cpu_ms_per_object"] / base, 2) if base else 0.0 for r in results]


def report(factors: list[float], results: list[dict], tp: dict | None) -> tuple[list[str], bool]:
    """The tables `bench-scale` prints, and whether every target was met."""
    ok = True
    lines = ["synth+validate of the synthetic platform (generate, render, validate, write; fresh process per row)", ""]
    head = ["scale", "envs", "teams", "models", "objects", "wall s", "CPU s", "CPU ms/obj",
            "render", "validate", "write", "growth", "peak RSS py", "peak RSS node", "problems"]
    rows = []
    for f, r, g in zip(factors, results, growth(results)):
        s = r["shape"]
        rows.append([f"{f:g}x", str(s["envs"]), f"{s['teams']}/env", f"{s['models']}/env", str(r["objects"]),
                     f"{r['platform_wall_s']:.1f}", f"{r['platform_cpu_s']:.1f}", f"{r['cpu_ms_per_object']:.2f}",
                     f"{r['render_cpu_ms_per_object']:.2f}", f"{r['validate_cpu_ms_per_object']:.2f}",
                     f"{r['write_cpu_ms_per_object']:.2f}", f"{g:.2f}", f"{r['python_peak_rss_mib']:.0f} MiB",
                     f"{r['node_peak_rss_mib']:.0f} MiB", str(r["problems"])])
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in [head, *rows]]
    first = results[0]
    lines += ["", "render / validate / write: CPU ms per object of that stage; growth: CPU ms per object relative "
                  f"to {factors[0]:g}x (1.00 = linear).",
              f"startup, paid once per synth (imports, both minors' schemas and validators, jsii): "
              f"{first['startup_wall_s']:.1f} s wall, {first['startup_cpu_s']:.1f} s CPU."]
    for f, r in zip(factors, results):
        if r["problems"]:
            ok = False
            lines.append(f"{f:g}x: the generated platform has {r['problems']} validation problem(s), e.g.:")
            lines += [f"  {p}" for p in r["first_problems"][:5]]
    worst = max(growth(results))
    linear = worst <= LINEAR_TOLERANCE
    ok &= linear
    lines.append(f"linear growth: worst CPU per object {worst:.2f}x of the smallest scale (limit {LINEAR_TOLERANCE}): "
                 + ("ok" if linear else "SUPERLINEAR"))
    if 1.0 in factors:
        r = results[factors.index(1.0)]
        total = r["total_cpu_s"]
        full = Shape(**r["shape"]) == Shape()
        met = total <= TARGET_SECONDS
        ok &= met or not full
        lines.append(f"{r['shape']['envs']} envs at 1x, startup + platform: {total:.1f} s CPU "
                     f"({r['total_wall_s']:.1f} s wall on this machine now); target {TARGET_SECONDS:g} s"
                     + ((": met" if met else ": MISSED") if full else " (applies to the default shape only)"))
    if tp is not None:
        lines += ["", f"strict schema validation of the same {tp['core_objects']} core objects "
                      f"({len(tp['kinds'])} kinds; CPU time, schema loading included):", ""]
        names = {"ours": "ours (as synth: memo by body)", "ours_no_memo": "ours, memo emptied per object",
                 "kubernetes_validate": "kubernetes-validate, per document"}
        w = max(len(n) for n in names.values())
        lines.append(f"{'validator':<{w}}  {'objects':>7}  {'CPU s':>7}  {'objects/s':>9}  errors")
        for key, label in names.items():
            v = tp["rows"][key]
            lines.append(f"{label:<{w}}  {v['objects']:>7}  {v['seconds']:>7.2f}  {v['objects_per_s']:>9.1f}  {v['errors']}")
        fast = tp["speedup_no_memo"] >= THROUGHPUT_TARGET
        ok &= fast
        lines.append(f"ours vs kubernetes-validate: {tp['speedup']:.0f}x (memo), {tp['speedup_no_memo']:.0f}x (no memo); "
                     f"target {THROUGHPUT_TARGET:g}x: " + ("met" if fast else "MISSED"))
    return lines, ok


def run(factors: list[float], shape: Shape, *, sample: int = 200, with_throughput: bool = True,
        as_json: bool = False, progress: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> int:
    """`python app.py bench-scale`: exit 0 when every target is met, 1 when one is missed."""
    factors = sorted(set(factors))
    results = []
    for f in factors:
        s = shape.times(f)
        progress(f"bench-scale: {f:g}x: {s.envs} envs x {s.teams} teams, {s.models} models, {s.profiles} profiles ...")
        results.append(measure(s))
        r = results[-1]
        progress(f"  {r['objects']} objects, {r['platform_cpu_s']:.1f} s CPU ({r['cpu_ms_per_object']:.2f} ms/object)")
    tp = None
    if with_throughput:
        progress(f"bench-scale: validation throughput (kubernetes-validate on {sample} objects) ...")
        tp = throughput(shape, sample)
    lines, ok = report(factors, results, tp)
    print("\n".join(lines))
    if as_json:
        print(json.dumps({"factors": factors, "results": results, "throughput": tp}, sort_keys=True))
    return 0 if ok else 1


def arguments(s: argparse.ArgumentParser) -> None:
    s.add_argument("--factor", type=float, nargs="+", default=[1.0, 2.0, 4.0],
                   help="multiplies teams, GPU teams, models and profiles per env (default: 1 2 4)")
    s.add_argument("--envs", type=int, default=10, help="generated envs (default 10)")
    s.add_argument("--teams", type=int, default=200, help="teams per env at 1x (one Volcano queue each)")
    s.add_argument("--gpu-teams", type=int, default=50, help="teams whose queue has a GPU budget, at 1x")
    s.add_argument("--models", type=int, default=50, help="served models per env at 1x")
    s.add_argument("--profiles", type=int, default=20, help="JupyterHub profiles per env at 1x")
    s.add_argument("--sample", type=int, default=200, help="objects kubernetes-validate validates (it is slow)")
    s.add_argument("--no-throughput", action="store_true", help="skip the comparison with kubernetes-validate")
    s.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")


def main(a: argparse.Namespace) -> int:
    shape = Shape(envs=a.envs, teams=a.teams, gpu_teams=a.gpu_teams, models=a.models, profiles=a.profiles)
    return run(a.factor, shape, sample=a.sample, with_throughput=not a.no_throughput, as_json=a.json)
