"""A synth killed (SIGKILL) during the write leaves every output folder either exactly as it was or
exactly as the new run would make it -- never half-written, never missing -- and the next synth
succeeds and clears the dead run's staging folder.

The killed runs write a *different* config than the one on disk, so "as it was" and "new" are
distinguishable. Kill points: from outside while cdk8s is writing into staging (the realistic
case), and through write.py's `MLP_SYNTH_KILL_AT` hook exactly after staging and after each swap.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from mlplatform import write

APP = [sys.executable, str(ROOT / "app.py"), "synth", "--env", "dev", "--env", "staging"]
FOLDERS = ("dev", "staging", "_argocd/dev", "_argocd/staging", "_rendered/dev", "_rendered/staging")


def _tree(d) -> dict[str, str]:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


def _synth(env_dir, out, kill_at=None):
    env = {k: v for k, v in os.environ.items() if k != write.KILL_AT_ENV}
    if kill_at:
        env[write.KILL_AT_ENV] = kill_at
    return subprocess.run([*APP, "--env-dir", str(env_dir), "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def _assert_state(out, trees, expected: dict[str, str], when: str):
    assert sorted(p.name for p in out.iterdir()) == ["_argocd", "_rendered", "dev", "staging"], when
    assert sorted(p.name for p in (out / "_argocd").iterdir()) == ["dev", "staging"], when
    assert sorted(p.name for p in (out / "_rendered").iterdir()) == ["dev", "staging"], when
    assert not list(out.rglob(f"*{write.OLD_SUFFIX}")), when
    for folder, which in expected.items():
        assert _tree(out / folder) == trees[which][folder], f"{when}: {folder} is not exactly the {which} tree"


def _staging_dirs(out):
    return sorted(out.parent.glob(f"{write.STAGING_PREFIX}*"))


OLD = {f: "old" for f in FOLDERS}
NEW = {f: "new" for f in FOLDERS}
# Hook points of write.py in the order one run reaches them (envs in the order given: dev, staging),
# and what each folder must be right after a kill there.
POINTS = {
    "staged": OLD,
    "swapped:dist/dev": {**OLD, "dev": "new"},
    "swapped:argocd/dev": {**OLD, "dev": "new", "_argocd/dev": "new"},
    "swapped:rendered/dev": {**OLD, "dev": "new", "_argocd/dev": "new", "_rendered/dev": "new"},
    "swapped:dist/staging": {**NEW, "_argocd/staging": "old"},
}


def test_killed_synths_leave_whole_trees(tmp_path):
    """One output folder through a chain of killed runs, each starting from what the last kill left
    (a dead run's staging folder, envs already swapped), then a run that completes."""
    old_envs, new_envs, out = tmp_path / "env-old", tmp_path / "env-new", tmp_path / "work" / "dist"
    shutil.copytree(ROOT / "environments", old_envs)
    shutil.copytree(ROOT / "environments", new_envs)
    for name in ("dev", "staging"):  # reaches every Application: dist/<env> and argocd/<env> both change
        f = new_envs / f"{name}.yaml"
        text = f.read_text()
        assert text.count("\n  revision: main\n") == 1, f"{f.name}: gitops.revision changed; update this test"
        f.write_text(text.replace("\n  revision: main\n", "\n  revision: release-candidate\n"))
    p = _synth(old_envs, out)
    assert p.returncode == 0, p.stderr
    old = {f: _tree(out / f) for f in FOLDERS}
    seen: list[tuple[str, dict, dict]] = []  # (kill point, expected, trees found); checked against "new" below

    # 1. from outside, while cdk8s writes into the staging folder: the realistic kill
    env = {k: v for k, v in os.environ.items() if k != write.KILL_AT_ENV}
    proc = subprocess.Popen([*APP, "--env-dir", str(new_envs), "--out", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if any(any(d.glob("dist/*/*/*.k8s.yaml")) for d in _staging_dirs(out)):
                break
            time.sleep(0.005)
        assert proc.poll() is None, "synth finished before cdk8s was seen writing into staging"
    finally:
        proc.kill()
        proc.wait()
    _assert_state(out, {"old": old}, OLD, "killed while cdk8s wrote")
    assert _staging_dirs(out), "the killed run's staging folder is left (nothing ran its finally)"

    # 2. exactly at each point of the write, through write.py's hook
    for point, expected in POINTS.items():
        p = _synth(new_envs, out, kill_at=point)
        assert p.returncode == -9, (point, p.returncode, p.stderr[-2000:])
        _assert_state(out, {"old": old}, {f: w for f, w in expected.items() if w == "old"}, f"killed at {point}")
        seen.append((point, expected, {f: _tree(out / f) for f in FOLDERS}))
        assert len(_staging_dirs(out)) == 1, f"{point}: stale staging folders pile up: {_staging_dirs(out)}"

    # 3. the next run completes, and clears the dead run's staging folder
    p = _synth(new_envs, out)
    assert p.returncode == 0, p.stderr
    new = {f: _tree(out / f) for f in FOLDERS}
    # (the new config changes Applications, not chart values: the render snapshots stay the same)
    assert all(new[f] != old[f] for f in FOLDERS if not f.startswith("_rendered")), \
        "the new config must change every folder"
    _assert_state(out, {"new": new}, NEW, "after the completed run")
    assert _staging_dirs(out) == []
    for point, expected, found in seen:
        for f, which in expected.items():
            assert found[f] == {"old": old, "new": new}[which][f], f"killed at {point}: {f} was not the {which} tree"


def test_two_rename_fallback_is_recovered(tmp_path, monkeypatch):
    """Where no atomic exchange exists, a death between the two renames parks the old tree at
    `<dir>.replaced`; the next run's recover() puts it back before swapping."""
    target, new = tmp_path / "dev", tmp_path / "staged-dev"
    for d, text in ((target, "old"), (new, "new")):
        (d / "c").mkdir(parents=True)
        (d / "c" / "f.yaml").write_text(text)
    monkeypatch.setattr(write, "_exchange", lambda a, b: False)
    calls = []

    def dying_replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed between the two renames
        os.rename(src, dst)

    monkeypatch.setattr(write.os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        write._swap(new, target)
    monkeypatch.undo()
    assert not target.exists() and (tmp_path / f"dev{write.OLD_SUFFIX}").exists()
    write.recover([target])
    assert (target / "c" / "f.yaml").read_text() == "old"
    assert not (tmp_path / f"dev{write.OLD_SUFFIX}").exists()


def test_atomic_exchange_swaps_whole_trees(tmp_path):
    target, new = tmp_path / "dev", tmp_path / "staged-dev"
    for d, text in ((target, "old"), (new, "new")):
        (d / "c").mkdir(parents=True)
        (d / "c" / "f.yaml").write_text(text)
    (target / "gone.yaml").write_text("only in the old tree")
    write._swap(new, target)
    assert _tree(target) == {"c/f.yaml": hashlib.sha256(b"new").hexdigest()}
    assert not new.exists() and not (tmp_path / f"dev{write.OLD_SUFFIX}").exists()
