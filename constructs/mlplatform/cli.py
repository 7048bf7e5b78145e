"""Command line: `python app.py [command]` (`cdk8s synth` runs `python app.py`, i.e. `synth`)."""
from __future__ import annotations

import argparse
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
  check                  fail if committed dist/ or argocd/ differ from a fresh synth (the PR gate)
  diff [--base REF]      field-level changes of dist/ vs a git ref (default: merge base with main)
  diff --dirs OLD NEW    ... or between two folders; --envs dev staging to narrow; exit 1 if changed
  bom                    print the versions table (charts, CRDs, images)
  components             print the component table (the README's, generated from the registry)
  infra --env E --from F write environments/infra/E.yaml from `terraform output -json` (F, or - for stdin)
  fetch                  fetch pinned CRDs and chart files into imports/upstream/ (mirror or network)
  schema                 regenerate environments/env.schema.json and environments/infra/infra.schema.json
  bench [--reps N]       time synth+validate of all envs against the jsii floor
"""


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_synth(a: argparse.Namespace) -> int:
    from .synth import synth
    from .config.loader import ENV_DIR
    out = Path(a.out) if a.out else None
    return synth(a.env or None, out, dry_run=a.dry_run, env_dir=Path(a.env_dir) if a.env_dir else ENV_DIR)


def check(dist: Path = ROOT / "dist", argocd: Path = ROOT / "argocd") -> list[str] | None:
    """Differences between committed output and a fresh synth; None if the synth itself fails."""
    from .review import compare_dirs
    from .synth import synth
    tmp = Path(tempfile.mkdtemp(prefix="mlp-check-"))
    try:
        if synth(None, tmp / "dist", log=lambda m: None) != 0:
            return None
        fresh_boot = tmp / "dist" / "_argocd"
        problems = [f"dist/{p}" for p in compare_dirs(dist, tmp / "dist") if "_argocd" not in p]
        problems += [f"argocd/{p}" for p in compare_dirs(argocd, fresh_boot) if not p.endswith("README.md")]
        return problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cmd_check(a: argparse.Namespace) -> int:
    problems = check()
    if problems is None:
        _err("check: synth failed; run `python app.py synth` to see the problems")
        return 1
    if True:
        if problems:
            _err("check: committed output is stale; run `python app.py synth` and commit dist/ and argocd/:")
            for p in problems:
                _err(f"  {p}")
            return 1
        _err("check: committed dist/ and argocd/ match a fresh synth")
        return 0


def cmd_diff(a: argparse.Namespace) -> int:
    from .review import default_base, diff_trees, git_tree, load_tree
    cleanup: list[Path] = []
    try:
        if a.dirs:
            old_root, new_root = Path(a.dirs[0]), Path(a.dirs[1])
            label = f"{old_root} -> {new_root}"
        else:
            base = a.base or default_base(ROOT)
            ref_root = git_tree(base, ROOT)
            cleanup.append(ref_root)
            old_root, new_root = ref_root / "dist", ROOT / "dist"
            label = f"{base} -> working tree"
        lines = diff_trees(load_tree(old_root), load_tree(new_root), a.envs)
        if not a.dirs:
            lines_boot = diff_trees(load_tree(cleanup[0] / "argocd"), load_tree(ROOT / "argocd"), a.envs)
            if lines_boot:
                lines += ["argocd/ (bootstrap)"] + ["  " + x for x in lines_boot]
        print(f"diff {label}")
        print("\n".join(lines) if lines else "no changes")
        return 1 if lines else 0
    except subprocess.CalledProcessError as e:
        _err(f"diff: git failed: {e.stderr.decode(errors='replace').strip() if e.stderr else e}")
        return 2
    finally:
        for p in cleanup:
            shutil.rmtree(p, ignore_errors=True)


def cmd_bom(a: argparse.Namespace) -> int:
    from .kit.versions import bom_rows
    rows = bom_rows()
    if a.json:
        print(json.dumps([dict(zip(("type", "name", "version", "source"), r)) for r in rows], indent=2))
        return 0
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"{'TYPE':<{w[0]}}  {'NAME':<{w[1]}}  {'VERSION':<{w[2]}}  SOURCE")
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}")
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
        schema = model.model_json_schema()
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


def _time(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and everything it waited for, jsii's Node
    process included). CPU time is what the budget uses: on a busy PR runner wall time measures
    the neighbours."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


# The platform grows by components, so the budget is per object, not a multiple of the floor:
# CPU ms of (synth+validate - jsii floor) / objects written. Crossing into jsii is ~0.5 ms per
# call on the Node side, ~3 calls per object; validation and rendering add ~1.5 ms per object.
BUDGET_MS_PER_OBJECT = 12.0


def bench(reps: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="mlp-bench-"))
    try:
        floor_cmd = [sys.executable, "-c",
                     "import cdk8s, cdk8s_plus_27, sys; cdk8s.App(outdir=sys.argv[1]).synth()",
                     str(tmp / "floor")]
        full_cmd = [sys.executable, str(ROOT / "app.py"), "synth", "--out", str(tmp / "dist")]
        _time(full_cmd)  # warm the parsed-schema cache and the OS page cache once
        floors, fulls = [], []
        for _ in range(reps):
            floors.append(_time(floor_cmd))
            fulls.append(_time(full_cmd))
        f, s = statistics.median(w for w, _ in floors), statistics.median(w for w, _ in fulls)
        fc, sc = statistics.median(c for _, c in floors), statistics.median(c for _, c in fulls)
        objects = sum(1 for _ in (tmp / "dist").rglob("*.k8s.yaml"))
        return {"reps": reps, "floor_s": round(f, 3), "synth_validate_s": round(s, 3), "ratio": round(s / f, 2),
                "floor_cpu_s": round(fc, 3), "synth_cpu_s": round(sc, 3),
                "objects": objects, "ms_per_object": round(1000 * (sc - fc) / objects, 2),
                "wall_ms_per_object": round(1000 * (s - f) / objects, 2),
                "floor_all": [round(w, 3) for w, _ in floors], "synth_all": [round(w, 3) for w, _ in fulls]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cmd_bench(a: argparse.Namespace) -> int:
    res = bench(a.reps)
    print(f"jsii floor (import cdk8s + cdk8s-plus-27, synth empty App): {res['floor_s']:.3f}s median of {a.reps}")
    print(f"synth + validate, all envs:                                 {res['synth_validate_s']:.3f}s median of {a.reps}")
    print(f"ratio: {res['ratio']:.2f}; objects written: {res['objects']}")
    print(f"CPU: floor {res['floor_cpu_s']:.3f}s, synth + validate {res['synth_cpu_s']:.3f}s")
    verdict = "within budget" if res["ms_per_object"] <= a.budget else "OVER BUDGET"
    print(f"cost above the floor: {res['ms_per_object']:.2f} CPU ms per object "
          f"({res['wall_ms_per_object']:.2f} wall ms; budget {a.budget} CPU ms): {verdict}")
    if a.json:
        print(json.dumps(res))
    return 0 if res["ms_per_object"] <= a.budget else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python app.py", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="command")
    s = sub.add_parser("synth", help="render, validate and write dist/ and argocd/")
    s.add_argument("--env", action="append", metavar="ENV", help="only this env (repeatable)")
    s.add_argument("--out", help="output root (default: $CDK8S_OUTDIR or dist/)")
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
    s = sub.add_parser("check", help="fail if committed dist/ differs from a fresh synth")
    s.set_defaults(func=cmd_check)
    s = sub.add_parser("diff", help="field-level diff of dist/ against a git ref or between two folders")
    s.add_argument("--base", help="git ref (default: merge base with main)")
    s.add_argument("--dirs", nargs=2, metavar=("OLD", "NEW"))
    s.add_argument("--envs", nargs="+", metavar="ENV")
    s.set_defaults(func=cmd_diff)
    s = sub.add_parser("bom", help="print the versions table")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_bom)
    s = sub.add_parser("fetch", help="fetch pinned upstream files into imports/upstream/")
    s.set_defaults(func=cmd_fetch)
    s = sub.add_parser("schema", help="regenerate the env JSON Schemas")
    s.set_defaults(func=cmd_schema)
    s = sub.add_parser("bench", help="time synth+validate against the jsii floor")
    s.add_argument("--reps", type=int, default=5)
    s.add_argument("--budget", type=float, default=BUDGET_MS_PER_OBJECT,
                   help="ms of synth+validate per written object above the jsii floor")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_bench)
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
