"""Review tools: `diff` (field-level, env -> component -> resource) and `check` (the PR gate)."""
from __future__ import annotations

import filecmp
import io
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Iterable

import yaml

from .kit.yamltext import LOADER as _Loader

Tree = dict[str, dict[str, dict[str, Any]]]  # env -> component -> "Kind/ns/name" -> object


class CompareError(Exception):
    """A comparison that cannot happen: a ref or a folder that isn't there, or a side without objects.
    Reported as an error (exit 2), never as an empty side (which would read as "everything added")."""


def load_tree(root: Path) -> Tree:
    tree: Tree = {}
    if not root.exists():
        return tree
    for f in sorted(root.rglob("*.yaml")):
        rel = f.relative_to(root).parts
        if len(rel) < 2:
            continue
        env, comp = rel[0], ("/".join(rel[1:-1]) or "(bootstrap)")
        for doc in yaml.load_all(f.read_text(encoding="utf-8"), Loader=_Loader):
            if not isinstance(doc, dict):
                continue
            if "kind" in doc and "metadata" in doc:
                md = doc.get("metadata") or {}
                key = f"{doc['kind']}/{md.get('namespace') + '/' if md.get('namespace') else ''}{md.get('name')}"
            else:
                key = f"file/{f.name}"
            tree.setdefault(env, {}).setdefault(comp, {})[key] = doc
    return tree


def load_side(root: Path, what: str) -> Tree:
    """`load_tree` of one side of a comparison (`what` names it in errors), which must exist and hold
    objects: an empty side would read as every object added or removed."""
    if not root.is_dir():
        raise CompareError(f"{what} is not a folder" if root.exists() else f"{what} does not exist")
    tree = {env: comps for env, comps in load_tree(root).items() if not env.startswith("_")}
    if not tree:
        raise CompareError(f"{what} holds no objects (<env>/<component>/*.yaml)")
    return tree


def with_renders(dist: Tree, rendered: Tree) -> Tree:
    """dist/ plus the chart-render snapshots of rendered/, per env and component: what each
    Application applies, ours and the chart's together (the guard judges them as one)."""
    out: Tree = {env: {c: dict(objs) for c, objs in comps.items()} for env, comps in dist.items()}
    for env, comps in rendered.items():
        for comp, objs in comps.items():
            out.setdefault(env, {}).setdefault(comp, {}).update(objs)
    return out


def guarded_trees(old: Tree, old_r: Tree, new: Tree, new_r: Tree) -> tuple[Tree, Tree, list[str]]:
    """What the guard judges: per env, dist/ plus the chart renders of rendered/ when both sides have
    them (or the env is added or removed with its renders), else dist/ alone -- a side without renders
    would read as every chart-made object created or deleted. Returns the two trees and the envs
    whose renders were not compared, which the guard's report names."""
    o_r: Tree = {}
    n_r: Tree = {}
    skipped: list[str] = []
    for env in sorted(set(old) | set(new) | set(old_r) | set(new_r)):
        has_o, has_n = env in old_r, env in new_r
        if (has_o and has_n) or (has_o and env not in new) or (has_n and env not in old):
            if has_o:
                o_r[env] = old_r[env]
            if has_n:
                n_r[env] = new_r[env]
        elif env in old and env in new:
            skipped.append(env)
    return with_renders(old, o_r), with_renders(new, n_r), skipped


class _Missing:
    """The value of a field that one side does not have."""

    def __repr__(self) -> str:
        return "(unset)"


MISSING: Any = _Missing()


def field_changes(a: Any, b: Any, path: str = "") -> Iterable[tuple[str, Any, Any]]:
    """(field path, old, new) of every leaf that differs; MISSING where one side lacks the field.
    Lists of different lengths are one change at the list's path."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            yield from field_changes(a.get(k, MISSING), b.get(k, MISSING), f"{path}.{k}" if path else str(k))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from field_changes(x, y, f"{path}[{i}]")
    elif a is MISSING or b is MISSING or a != b:
        yield path, a, b


def field_diff(a: Any, b: Any, path: str = "") -> Iterable[str]:
    for p, x, y in field_changes(a, b, path):
        if x is MISSING:
            yield f"+ {p}: {_short(y)}"
        elif y is MISSING:
            yield f"- {p}: {_short(x)}"
        else:
            yield f"~ {p or '(root)'}: {_short(x)} -> {_short(y)}"


def _short(v: Any, limit: int = 120) -> str:
    s = yaml.safe_dump(v, default_flow_style=True, width=10_000).strip() if isinstance(v, (dict, list)) else repr(v)
    if s.endswith("\n..."):
        s = s[:-4]
    return s if len(s) <= limit else s[: limit - 3] + "..."


def diff_trees(old: Tree, new: Tree, envs: list[str] | None = None) -> list[str]:
    lines: list[str] = []
    for env in sorted(set(old) | set(new)):
        if envs and env not in envs:
            continue
        o_env, n_env = old.get(env, {}), new.get(env, {})
        env_lines: list[str] = []
        for comp in sorted(set(o_env) | set(n_env)):
            o, n = o_env.get(comp, {}), n_env.get(comp, {})
            comp_lines: list[str] = []
            for key in sorted(set(o) | set(n)):
                if key not in o:
                    comp_lines.append(f"    added   {key}")
                elif key not in n:
                    comp_lines.append(f"    removed {key}")
                elif o[key] != n[key]:
                    comp_lines.append(f"    changed {key}")
                    comp_lines += [f"        {d}" for d in field_diff(o[key], n[key])]
            if comp_lines:
                env_lines += [f"  {comp}"] + comp_lines
        if env_lines:
            lines += [env] + env_lines
    return lines


def git_tree(ref: str, repo: Path, paths: tuple[str, ...] = ("dist", "argocd")) -> Path:
    """Extract `paths` at git `ref` into a temp folder (the caller deletes it). A ref that names no
    commit is a CompareError; paths the commit doesn't have are left out (the caller decides)."""
    if resolve_ref(ref, repo) is None:
        raise CompareError(f"{ref!r} names no commit in this clone (a typo? not fetched? CI: actions/checkout "
                           "with fetch-depth: 0)")
    dest = Path(tempfile.mkdtemp(prefix="mlp-ref-"))
    present = [p for p in paths if subprocess.run(["git", "cat-file", "-e", f"{ref}:{p}"], cwd=repo,
                                                  capture_output=True).returncode == 0]
    if present:
        data = subprocess.run(["git", "archive", "--format=tar", ref, *present], cwd=repo,
                              capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(dest, filter="data")
    return dest


def merge_base(repo: Path) -> str | None:
    """The merge base of HEAD with origin/main (else main); None when neither is in this clone
    (not a git checkout, a shallow CI clone, a repo without main)."""
    for other in ("origin/main", "main"):
        p = subprocess.run(["git", "merge-base", "HEAD", other], cwd=repo, capture_output=True, text=True)
        if p.returncode == 0 and p.stdout.strip():
            return p.stdout.strip()
    return None


def default_base(repo: Path) -> str:
    return merge_base(repo) or "HEAD"


def resolve_ref(ref: str, repo: Path) -> str | None:
    """The commit `ref` names in `repo`, or None if it names none there."""
    p = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=repo,
                       capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None


def compare_dirs(a: Path, b: Path) -> list[str]:
    """Byte-level differences between two folders, as relative paths."""
    out: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        out.extend(f"only in committed: {prefix}{n}" for n in cmp.left_only)
        out.extend(f"only in fresh synth: {prefix}{n}" for n in cmp.right_only)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        out.extend(f"differs: {prefix}{n}" for n in mismatch + errors)
        for name, sub in sorted(cmp.subdirs.items()):
            walk(sub, f"{prefix}{name}/")

    if not a.exists() or not b.exists():
        return [f"missing: {a if not a.exists() else b}"]
    walk(filecmp.dircmp(a, b, ignore=[]), "")
    return sorted(out)
