"""Command line: `python app.py [command]` (`cdk8s synth` runs `python app.py`, i.e. `synth`)."""
from __future__ import annotations

import argparse
import os
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HELP = """\
ML platform generator: environments/<env>.yaml -> validated dist/<env>/<component>/ + argocd/<env>/

commands:
  synth [--env E]...     render, validate and (if every object passes) write dist/ and argocd/ (default)
  check [--base REF]     the PR gate: fail if dist/, argocd/ or rendered/ in the working tree differ from a
                         fresh synth, or if the fresh dist/ and rendered/ change something destructively
                         against REF (default: merge base with main; skipped, with a note, when this clone
                         has no main); exit 2 if REF names no commit or has no dist/
  diff [--base REF]      field-level changes of dist/ vs a git ref (default: merge base with main), then
                         the destructive-change guard; exit 1 if changed, 2 if nothing could be compared
                         (unknown ref, missing or empty folder), 3 if something is destructive
  diff --dirs OLD NEW    ... or between two folders; --envs dev staging to narrow
                         --allow-destructive (check, diff): report but don't refuse -- for emergencies;
                         prefer guard.allow in the env file, so the reason is reviewed in the PR
  bom                    print the versions table (charts, CRDs, images)
  components             print the component table (the README's, generated from the registry)
  infra --env E --from F write environments/infra/E.yaml from `terraform output -json` (F, or - for stdin)
  pins                   after a version moved in kit/versions.py: recompute the sha256 of every pinned
                         CRD/manifest file and the charts.lock entries (mirror or network), in place
  fetch                  fetch pinned CRDs and chart files into imports/upstream/ (mirror or network)
  schema                 regenerate environments/env.schema.json and environments/infra/infra.schema.json
  bench [--reps N]       time synth+validate of all envs against the jsii floor
  envdiff [ENV ...]      table of what differs between envs (GPU budgets, quotas, queues, models, hosts,
                         replicas, resources, components); --all for every fact, --markdown
  bench-scale            synth+validate of a synthetic platform (10 envs x 200 teams) at --factor 1 2 4
"""


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_synth(a: argparse.Namespace) -> int:
    from .synth import synth
    from .config.loader import ENV_DIR
    out = Path(a.out) if a.out else None
    return synth(a.env or None, out, dry_run=a.dry_run, env_dir=Path(a.env_dir) if a.env_dir else ENV_DIR)


def _stale(dist: Path, argocd: Path, fresh: Path) -> list[str] | None:
    """Synth into `fresh`; the differences of committed output from it, None if the synth fails."""
    from .review import compare_dirs
    from .synth import synth
    if synth(None, fresh, log=lambda m: None) != 0:
        return None
    def under(folder: str, diffs: list[str]) -> list[str]:  # "differs: dev/x.yaml" -> "differs: dist/dev/x.yaml"
        return [d if how == "missing" else f"{how}: {folder}/{path}"
                for d, (how, _, path) in ((d, d.partition(": ")) for d in diffs)]

    problems = under("dist", [p for p in compare_dirs(dist, fresh) if "_argocd" not in p and "_rendered" not in p])
    problems += under("argocd", [p for p in compare_dirs(argocd, fresh / "_argocd") if not p.endswith("README.md")])
    problems += under("rendered", [p for p in compare_dirs(dist.parent / "rendered", fresh / "_rendered")
                                   if not p.endswith("README.md")])
    return problems


def check(dist: Path = ROOT / "dist", argocd: Path = ROOT / "argocd") -> list[str] | None:
    """Differences between committed output and a fresh synth; None if the synth itself fails."""
    tmp = Path(tempfile.mkdtemp(prefix="mlp-check-"))
    try:
        return _stale(dist, argocd, tmp / "dist")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def guard_against_ref(new_dist: Path, base: str | None, repo: Path, env_dir: Path, *,
                      allow_destructive: bool = False, out=_err) -> int:
    """The guard of `check`: `new_dist` (a synth's output root) against dist/ and rendered/ at `base`
    (None: the merge base with main). 0 when nothing is refused, or skipped because this clone has no
    main (said so); 1 when something is refused; 2 when the comparison cannot happen (a --base that
    names no commit, a base without dist/, git unusable with an explicit --base)."""
    from .config.loader import EnvError
    from .guard import guard_trees, load_configs
    from .renders import UNSEEN
    from .review import git_tree, guarded_trees, load_tree, merge_base, resolve_ref

    try:
        commit = resolve_ref(base, repo) if base else merge_base(repo)
    except OSError as e:  # no git at all
        if base:
            out(f"guard: --base {base}: git is not usable here ({e}), so nothing was compared")
            return 2
        out(f"guard: SKIPPED: git is not usable here ({e}); the destructive-change guard did not run")
        return 0
    if commit is None:
        if base:
            out(f"guard: --base {base} names no commit in this clone (a typo? not fetched? CI: actions/checkout with "
                "fetch-depth: 0), so nothing was compared")
            return 2
        out("guard: SKIPPED: no base to compare with (no main or origin/main in this clone, e.g. a shallow CI "
            "checkout); fetch main or pass --base REF to run the destructive-change guard")
        return 0
    label = f"{base or 'the merge base with main'} ({commit[:12]})"
    ref_root = git_tree(commit, repo, ("dist", "rendered"))
    try:
        old_dist = load_tree(ref_root / "dist")
        if not old_dist:
            out(f"guard: {label} has no objects under dist/, so nothing was compared; pass --base with a ref that "
                "has them")
            return 2
        # a synth's output root also holds the bootstrap (`_argocd/`) and renders (`_rendered/`), not envs
        fresh = {env: comps for env, comps in load_tree(new_dist).items() if not env.startswith("_")}
        # what each Application applies: our objects plus the chart renders' snapshots
        old, new, skipped = guarded_trees(old_dist, load_tree(ref_root / "rendered"), fresh,
                                          load_tree(new_dist / "_rendered"))
        try:
            configs, sources = load_configs(set(old) | set(new), env_dir)
        except EnvError as e:
            out("guard: the guard settings are invalid, so the guard did not run:")
            for p in e.problems:
                out(f"  {p}")
            return 2
        res = guard_trees(old, new, configs, sources=sources)
        res.scope(skipped, UNSEEN)
        out(f"guard: the fresh dist/ and rendered/ against {label}")
        for line in res.report(allow_destructive):
            out(line)
        return 1 if res.failed(allow_destructive) else 0
    finally:
        shutil.rmtree(ref_root, ignore_errors=True)


def cmd_pins(a: argparse.Namespace) -> int:
    from .kit import pins
    from .kit.upstream import UpstreamError
    try:
        n = pins.refresh(progress=_err)
    except UpstreamError as e:
        _err(f"pins: {e}")
        return 1
    _err(f"pins: {n} derived pin(s) updated" if n else "pins: every derived pin is current")
    return 0


def cmd_check(a: argparse.Namespace) -> int:
    from .config.loader import ENV_DIR
    from .kit import pins
    moved = pins.stale()
    if moved:
        _err(f"check: a version moved but its hashes did not; run `{pins.COMMAND}` and commit:")
        for p in moved:
            _err(f"  {p}")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="mlp-check-"))
    try:
        fresh = tmp / "dist"
        problems = _stale(ROOT / "dist", ROOT / "argocd", fresh)
        if problems is None:
            _err("check: synth failed; run `python app.py synth` to see the problems")
            return 1
        if problems:
            _err("check: dist/, argocd/ or rendered/ in the working tree differ from a fresh synth; run "
                 "`python app.py synth` and commit them:")
            for p in problems:
                _err(f"  {p}")
        else:
            _err("check: dist/, argocd/ and rendered/ in the working tree match a fresh synth")
        try:
            guarded = guard_against_ref(fresh, a.base, ROOT, ENV_DIR, allow_destructive=a.allow_destructive)
        except subprocess.CalledProcessError as e:
            _err(f"guard: git failed, so nothing was compared: "
                 f"{e.stderr.decode(errors='replace').strip() if e.stderr else e}")
            guarded = 2
        # 2 (the guard could not compare) wins: a stale tree doesn't hide that the base is unusable
        return 2 if guarded == 2 else 1 if problems or guarded else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cmd_diff(a: argparse.Namespace) -> int:
    from .config.loader import ENV_DIR, EnvError
    from .guard import guard_trees, load_configs
    from .renders import UNSEEN
    from .review import CompareError, default_base, diff_trees, git_tree, guarded_trees, load_side, load_tree
    cleanup: list[Path] = []
    try:
        if a.dirs:
            old_root, new_root = Path(a.dirs[0]), Path(a.dirs[1])
            label = f"{old_root} -> {new_root}"
            old_what, new_what = f"--dirs OLD {old_root}", f"--dirs NEW {new_root}"
            # a synth output root holds its renders in _rendered/; a checkout's dist/ has rendered/ beside it
            old_r, new_r = [d / "_rendered" if (d / "_rendered").is_dir() else d.parent / "rendered"
                            for d in (old_root, new_root)]
        else:
            base = a.base or default_base(ROOT)
            ref_root = git_tree(base, ROOT, ("dist", "argocd", "rendered"))
            cleanup.append(ref_root)
            old_root, new_root = ref_root / "dist", ROOT / "dist"
            old_r, new_r = ref_root / "rendered", ROOT / "rendered"
            label = f"{base} -> working tree"
            old_what, new_what = f"dist/ at {base}", "dist/ in the working tree"
        # (a synth's output root also holds the bootstrap `_argocd/` and renders `_rendered/`: no envs)
        old_tree, new_tree = load_side(old_root, old_what), load_side(new_root, new_what)
        envs = sorted(e for e in set(old_tree) | set(new_tree) if not a.envs or e in a.envs)
        if a.envs and not envs:
            raise CompareError(f"--envs {' '.join(a.envs)}: no such env on either side "
                               f"(envs: {', '.join(sorted(set(old_tree) | set(new_tree)))})")
        lines = diff_trees(old_tree, new_tree, a.envs)
        old_rendered, new_rendered = load_tree(old_r), load_tree(new_r)
        # a chart bump reads as the object changes it causes, resource by resource like ours
        lines_rendered = diff_trees(old_rendered, new_rendered, a.envs)
        if lines_rendered:
            lines += ["rendered/ (what the charts and upstream manifests make; Argo CD renders them itself)"] + \
                ["  " + x for x in lines_rendered]
        if not a.dirs:
            lines_boot = diff_trees(load_tree(cleanup[0] / "argocd"), load_tree(ROOT / "argocd"), a.envs)
            if lines_boot:
                lines += ["argocd/ (bootstrap)"] + ["  " + x for x in lines_boot]
        print(f"diff {label}")
        print("\n".join(lines) if lines else "no changes")
        try:
            configs, sources = load_configs(envs, Path(a.env_dir) if a.env_dir else ENV_DIR)
        except EnvError as e:
            _err("diff: the guard settings (guard: in the env files) are invalid, so the guard did not run:")
            for p in e.problems:
                _err(f"  {p}")
            return 2
        old, new, skipped = guarded_trees(old_tree, old_rendered, new_tree, new_rendered)
        res = guard_trees(old, new, configs, envs, sources)
        res.scope(skipped, UNSEEN)
        print("\n".join(res.report(a.allow_destructive)))
        if res.failed(a.allow_destructive):
            return 3
        return 1 if lines else 0
    except CompareError as e:
        _err(f"diff: {e}; nothing was compared")
        return 2
    except subprocess.CalledProcessError as e:
        _err(f"diff: git failed, so nothing was compared: "
             f"{e.stderr.decode(errors='replace').strip() if e.stderr else e}")
        return 2
    finally:
        for p in cleanup:
            shutil.rmtree(p, ignore_errors=True)


def cmd_bom(a: argparse.Namespace) -> int:
    from .kit.versions import KNOWN_STALE, bom_rows
    rows = [(t, n, v + (" (STALE)" if (t, n) in KNOWN_STALE else ""), s) for t, n, v, s in bom_rows()]
    if a.json:
        print(json.dumps([dict(zip(("type", "name", "version", "source"), r)) for r in rows], indent=2))
        return 0
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"{'TYPE':<{w[0]}}  {'NAME':<{w[1]}}  {'VERSION':<{w[2]}}  SOURCE")
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}")
    print("\nknown stale (why they can't move yet):")
    for (t, n), why in sorted(KNOWN_STALE.items()):
        print(f"  {t} {n}: {why}")
    return 0


def cmd_fetch(a: argparse.Namespace) -> int:
    from .kit.upstream import UpstreamError, fetch_all
    try:
        fetch_all(progress=_err)
    except UpstreamError as e:
        _err(f"fetch: {e}")
        return 1
    return 0


def cmd_infra(a: argparse.Namespace) -> int:
    # Imported here, not at module level: the Terraform boundary is outside the synth's import graph.
    from .config.loader import ENV_DIR, EnvError, load_env
    from .config.terraform import TerraformOutputError, import_outputs
    env_dir = Path(a.env_dir) if a.env_dir else ENV_DIR
    src = Path("/dev/stdin") if a.source == "-" else Path(a.source)
    try:
        path = import_outputs(a.env, src, env_dir)
    except TerraformOutputError as e:
        _err(f"infra: {a.env}: the Terraform outputs are not usable ({len(e.problems)} problem(s)):")
        for p in e.problems:
            _err(f"  {p}")
        return 1
    _err(f"infra: wrote {path}")
    try:
        load_env(a.env, env_dir)
    except EnvError as e:
        for p in e.problems:
            _err(f"  {p}")
        return 1
    _err(f"infra: {a.env} loads; run `python app.py synth --env {a.env}` and review the diff of dist/{a.env}/")
    return 0


def write_schemas() -> list[Path]:
    from .config.models import Env, Infrastructure
    out = []
    for model, path in ((Env, ROOT / "environments" / "env.schema.json"),
                        (Infrastructure, ROOT / "environments" / "infra" / "infra.schema.json")):
        # pydantic emits JSON Schema draft 2020-12; say so, so editors pick the right dialect
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **model.model_json_schema()}
        if model is Env:  # infrastructure comes from its own file (environments/infra/<env>.yaml)
            schema["properties"].pop("infrastructure", None)
            schema["required"] = [r for r in schema.get("required", []) if r != "infrastructure"]
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        out.append(path)
    return out


def cmd_schema(a: argparse.Namespace) -> int:
    for p in write_schemas():
        _err(f"wrote {p.relative_to(ROOT)}")
    return 0


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


def components_table() -> str:
    """The README's component table (markdown), from the registry and the versions table."""
    from .components import COMPONENTS
    from .config.loader import env_names, load_env
    from .kit import versions

    env = load_env(env_names()[0])
    rows = ["| component (`dist/<env>/…`, Application `<env>-…`) | what | installs | module |",
            "|---|---|---|---|"]
    for c in COMPONENTS:
        rel = c.helm(env) if c.helm else None
        up = c.upstream(env) if c.upstream else None
        if rel is not None:
            ch = versions.CHARTS[rel.chart]
            src = f"chart `{ch.name}` **{ch.version}** (app {ch.app_version or 'n/a'}) → `{rel.namespace}`"
        elif up is not None:
            m = versions.MANIFESTS[up.source]
            src = f"upstream manifests `{m.name}` **{m.revision}**" + (f" → `{up.namespace}`" if up.namespace else "")
        else:
            src = "objects in `dist/`"
        module = f"`components/{c.name.replace('-', '_')}.py`"
        rows.append(f"| `{c.name}` | {c.description} | {src} | {module} |")
    return "\n".join(rows) + "\n"


def cmd_components(a: argparse.Namespace) -> int:
    sys.stdout.write(components_table())
    return 0


# The budget: synth+validate of every env (warm render cache) as a multiple of the floor, measured in
# the same run. The floor is what every synth pays before doing anything: a Python process that
# imports cdk8s (what synth imports; not cdk8s-plus-27, which it never loads) and synthesizes an
# empty App (starting jsii's Node process). A ratio is what the PR pipeline feels and needs no
# machine-speed correction: a slower VM slows floor and synth alike.
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


def cmd_bench(a: argparse.Namespace) -> int:
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


def cmd_envdiff(a: argparse.Namespace) -> int:
    from .envdiff import run
    return run(a.envs, all_rows=a.all, markdown=a.markdown, sections=a.section,
               env_dir=Path(a.env_dir) if a.env_dir else None)


def cmd_bench_scale(a: argparse.Namespace) -> int:
    from .scale import Shape, run
    shape = Shape(envs=a.envs, teams=a.teams, gpu_teams=a.gpu_teams, models=a.models, profiles=a.profiles)
    return run(a.factor, shape, sample=a.sample, with_throughput=not a.no_throughput, as_json=a.json)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python app.py", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="command")
    s = sub.add_parser("synth", help="render, validate and write dist/ and argocd/")
    s.add_argument("--env", action="append", metavar="ENV", help="only this env (repeatable)")
    s.add_argument("--out", help="output root (default: $CDK8S_OUTDIR or dist/); any other root also gets the Argo CD bootstrap under <root>/_argocd/ and the chart-render snapshots under <root>/_rendered/")
    s.add_argument("--dry-run", action="store_true", help="validate only, write nothing")
    s.add_argument("--env-dir", help="folder of env files (default: environments/)")
    s.set_defaults(func=cmd_synth)
    s = sub.add_parser("infra", help="write environments/infra/<env>.yaml from `terraform output -json`")
    s.add_argument("--env", required=True, help="the env whose inputs these outputs are")
    s.add_argument("--from", dest="source", required=True, metavar="FILE",
                   help="a file holding `terraform output -json` (- for stdin)")
    s.add_argument("--env-dir", help="folder of env files (default: environments/)")
    s.set_defaults(func=cmd_infra)
    s = sub.add_parser("components", help="print the component table (as in the README)")
    s.set_defaults(func=cmd_components)
    destructive = ("report destructive changes but don't fail on them: for emergencies; prefer a guard.allow "
                   "entry in the env file so the reason is reviewed in the PR")
    s = sub.add_parser("check", help="fail if dist/, argocd/ or rendered/ in the working tree differ from a fresh "
                                     "synth, or the fresh synth changes something destructively against the base ref")
    s.add_argument("--base", help="git ref the guard compares with (default: merge base with main; "
                                  "skipped when there is none)")
    s.add_argument("--allow-destructive", action="store_true", help=destructive)
    s.set_defaults(func=cmd_check)
    s = sub.add_parser("diff", help="field-level diff of dist/ against a git ref or between two folders, "
                                    "then the destructive-change guard (exit 0 same, 1 changed, 3 destructive)")
    s.add_argument("--base", help="git ref (default: merge base with main)")
    s.add_argument("--dirs", nargs=2, metavar=("OLD", "NEW"),
                   help="compare two dist/ folders (or synth output roots) instead of a git ref; each one's chart "
                        "renders are read from <dir>/_rendered/ or the rendered/ beside it")
    s.add_argument("--envs", nargs="+", metavar="ENV", help="only these envs (default: every env on either side)")
    s.add_argument("--env-dir", help="folder of env files whose guard: settings apply (default: environments/)")
    s.add_argument("--allow-destructive", action="store_true", help=destructive)
    s.set_defaults(func=cmd_diff)
    s = sub.add_parser("bom", help="print the versions table")
    s.add_argument("--json", action="store_true", help="a JSON list of {type, name, version, source} instead of a table")
    s.set_defaults(func=cmd_bom)
    s = sub.add_parser("pins", help="refresh the hashes that follow a version (CRD/manifest sha256s, charts.lock)")
    s.set_defaults(func=cmd_pins)
    s = sub.add_parser("fetch", help="fetch pinned upstream files into imports/upstream/")
    s.set_defaults(func=cmd_fetch)
    s = sub.add_parser("schema", help="regenerate the env JSON Schemas")
    s.set_defaults(func=cmd_schema)
    s = sub.add_parser("bench", help="time synth+validate against the floor every synth pays (one run, progress on stderr)")
    s.add_argument("--reps", type=int, default=5, help="timed runs of the floor and of the synth; medians are "
                                                        "reported (default 5)")
    s.add_argument("--budget", type=float, default=BUDGET_RATIO,
                   help=f"largest CPU ratio of synth+validate to the floor (default {BUDGET_RATIO})")
    s.add_argument("--json", action="store_true", help="also print every measurement as one JSON object")
    s.set_defaults(func=cmd_bench)
    s = sub.add_parser("envdiff", help="table of the meaningful differences between envs (from rendered envs)")
    s.add_argument("envs", nargs="*", metavar="ENV", help="envs to compare, in column order (default: all)")
    s.add_argument("--all", action="store_true", help="every fact, not only those that differ")
    s.add_argument("--markdown", action="store_true", help="a Markdown table instead of fixed-width columns")
    s.add_argument("--section", action="append", metavar="S",
                   help="only this section (repeatable): env, components, versions, hosts, gpu, quotas, queues, "
                        "node pools, serving, notebooks, replicas, resources")
    s.add_argument("--env-dir", help="folder of env files (default: environments/)")
    s.set_defaults(func=cmd_envdiff)
    s = sub.add_parser("bench-scale", help="synth+validate of a synthetic platform at several scales")
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
    s.set_defaults(func=cmd_bench_scale)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = parser()
    if argv and argv[0] == "--env":  # `python app.py --env staging` == `python app.py synth --env staging`
        argv = ["synth", *argv]
    a = p.parse_args(argv or ["synth"])
    if not getattr(a, "func", None):
        a = p.parse_args(["synth", *argv])
    try:
        return a.func(a)
    except KeyboardInterrupt:
        _err("interrupted; dist/ was left as it was")
        return 130
    except BrokenPipeError:  # e.g. `python app.py bom | head`
        sys.stderr.close()
        return 0
