"""The pipeline: load env -> render -> validate -> (only if clean) write. No tracebacks for users."""
from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .components import APPS_FOLDER
from .config.loader import ENV_DIR, EnvError, env_names, load_env
from .plan import Rendered, render
from .validate import validate
from .write import write_envs

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class EnvOutcome:
    name: str
    rendered: Rendered | None
    problems: list[str]
    objects: int = 0
    seconds: float = 0.0


def prepare(names: list[str], env_dir: Path = ENV_DIR) -> list[EnvOutcome]:
    out = []
    for name in names:
        t = time.perf_counter()
        try:
            env = load_env(name, env_dir)
        except EnvError as e:
            out.append(EnvOutcome(name, None, e.problems))
            continue
        r = render(env)
        problems = validate(r)
        n = sum(len(v) for v in r.components.values()) + len(r.bootstrap)
        out.append(EnvOutcome(name, r, problems, n, time.perf_counter() - t))
    return out


def default_dirs(out: Path | None) -> tuple[Path, Path]:
    """(dist, argocd). With the default dist/, bootstrap goes to argocd/ beside it; with any other
    output dir (e.g. the CLI's --stdout temp dir) it goes inside, under _argocd/. The render
    snapshots go beside the bootstrap: rendered/ (or <out>/_rendered/), see renders_dir()."""
    import os
    dist = Path(out or os.environ.get("CDK8S_OUTDIR") or ROOT / "dist")
    if not dist.is_absolute():
        dist = (Path.cwd() / dist).resolve()
    if dist == (ROOT / "dist").resolve():
        return dist, ROOT / "argocd"
    return dist, dist / "_argocd"


def renders_dir(dist: Path) -> Path:
    """Where the chart-render snapshots go: rendered/ beside dist/ (never under dist/, which Argo CD
    reads), or <out>/_rendered/ for any other output root."""
    return ROOT / "rendered" if dist == (ROOT / "dist").resolve() else dist / "_rendered"


def synth(names: list[str] | None, out: Path | None = None, *, dry_run: bool = False,
          env_dir: Path = ENV_DIR, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> int:
    all_envs = env_names(env_dir)
    if not all_envs:
        log(f"no environments found in {env_dir}")
        return 2
    names = names or all_envs
    unknown = [n for n in names if n not in all_envs]
    if unknown:
        log(f"unknown env(s): {', '.join(unknown)} (have: {', '.join(all_envs)})")
        return 2
    dist, argocd_dir = default_dirs(out)
    if not dry_run:
        blocked = next((d for d in (dist, *dist.parents) if d.exists()), None)
        if blocked is not None and not blocked.is_dir():
            log(f"cannot write to {dist}: {blocked} is a file, not a folder (--out or $CDK8S_OUTDIR)")
            return 2
    t0 = time.perf_counter()
    outcomes = prepare(names, env_dir)
    ok = [o for o in outcomes if not o.problems]
    bad = [o for o in outcomes if o.problems]
    for o in outcomes:
        state = "ok" if not o.problems else f"FAILED ({len(o.problems)} problem{'s' if len(o.problems) != 1 else ''})"
        r = o.rendered
        comps = len((set(r.components) - {APPS_FOLDER}) | set(r.helm) | set(r.upstream)) if r else 0
        log(f"  {o.name:<10} {comps} components, {o.objects} objects validated in {o.seconds:.2f}s: {state}")
    for o in bad:
        for p in o.problems:
            log(f"    {p}")  # already `env/component/Kind/name: ...` or `file:line: field: ...`
    if dry_run:
        log(f"dry run: nothing written ({time.perf_counter() - t0:.2f}s)")
        return 1 if bad else 0
    if bad:
        # all or nothing: a change is reviewed (and merged) for the whole platform, so a PR never
        # carries one env's new output next to another env's stale one
        log(f"{len(bad)} env(s) failed validation: nothing written; dist/, argocd/ and rendered/ of every env are "
            "as they were")
        return 1
    try:
        write_envs([o.rendered for o in ok if o.rendered is not None], dist, argocd_dir, renders_dir(dist))
    except OSError as e:
        log(f"cannot write to {dist}: {e.strerror or e} ({e.filename or dist}); nothing was swapped in")
        return 2
    if ok:
        log(f"wrote {', '.join(str(dist / o.name) for o in ok)} and {argocd_dir}/ "
            f"({time.perf_counter() - t0:.2f}s)")
    if set(names) == set(all_envs) and not bad:
        for stale in sorted(p for p in dist.iterdir() if p.is_dir() and p.name not in all_envs
                            and not p.name.startswith((".", "_"))) if dist.exists() else []:
            log(f"removing {stale} and {argocd_dir / stale.name}: no environments/{stale.name}.yaml any more")
            shutil.rmtree(stale)
            shutil.rmtree(argocd_dir / stale.name, ignore_errors=True)
            shutil.rmtree(renders_dir(dist) / stale.name, ignore_errors=True)
    return 0
