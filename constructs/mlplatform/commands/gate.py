"""The PR gate and the diffs: `check` (committed output is a fresh synth; nothing destructive against
the base) and `diff` (field-level changes of dist/, rendered/ and argocd/, then the guard)."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import ROOT, err as _err


def _stale(dist: Path, argocd: Path, fresh: Path) -> list[str] | None:
    """Synth into `fresh`; the differences of committed output from it, None if the synth fails."""
    from ..review import compare_dirs
    from ..synth import synth
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
    from ..config.loader import EnvError
    from ..guard import guard_trees, load_configs
    from ..renders import UNSEEN
    from ..review import git_tree, guarded_trees, load_tree, merge_base, resolve_ref

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


def check_command(a: argparse.Namespace) -> int:
    """`check`: exit 0 when the tree is current and the guard refuses nothing, 1 otherwise, 2 when the
    guard could not compare."""
    from ..config.loader import ENV_DIR
    from ..kit import pins
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


def diff(a: argparse.Namespace) -> int:
    """`diff`: exit 0 when nothing changed, 1 when something did, 2 when nothing could be compared, 3 when
    something is destructive."""
    from ..config.loader import ENV_DIR, EnvError
    from ..guard import guard_trees, load_configs
    from ..renders import UNSEEN
    from ..review import CompareError, default_base, diff_trees, git_tree, guarded_trees, load_side, load_tree
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
