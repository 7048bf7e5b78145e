"""Review tools: `diff` (field-level, env -> component -> resource) and `check` (the PR gate)."""
from __future__ import annotations

import difflib
import filecmp
import io
import json
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


# A list whose elements are all dicts carrying one of these keys, unique in the list, is matched by it
# (`profileList[gpu-1]`), not by position: inserting an element is one addition, not a change of every
# element after it. PrometheusRule rules carry `alert` or `record`, hence the first key an element has.
NAME_KEYS = ("name", "slug", "groupName", "alert", "record")


def _element_name(x: Any) -> str | None:
    if isinstance(x, dict):
        for k in NAME_KEYS:
            v = x.get(k)
            if isinstance(v, (str, int)) and not isinstance(v, bool):
                return str(v)
    return None


def _names(items: list) -> list[str] | None:
    """The element names of `items` when every element has one and they are unique, else None."""
    names = [_element_name(x) for x in items]
    if not items or any(n is None for n in names) or len(set(names)) != len(names):
        return None
    return names  # type: ignore[return-value]


class Order(list):
    """The names of a named list whose elements are the same but in another order."""


def _canon(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def field_changes(a: Any, b: Any, path: str = "") -> Iterable[tuple[str, Any, Any]]:
    """(field path, old, new) of every leaf that differs; MISSING where one side lacks the field.
    Lists of named dicts (see NAME_KEYS) are matched by name (`path[name]`; a reordering is one change
    at the list's path, old and new as `Order`); other lists by a longest-common-subsequence match of
    their elements, so an inserted or dropped element is one addition or removal (`path[i]`, i its
    index on its own side) and a replaced one is compared field by field."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            yield from field_changes(a.get(k, MISSING), b.get(k, MISSING), f"{path}.{k}" if path else str(k))
    elif isinstance(a, list) and isinstance(b, list):
        na, nb = _names(a), _names(b)
        if na is not None and nb is not None:
            old, new = dict(zip(na, a)), dict(zip(nb, b))
            for n in nb:
                yield from field_changes(old.get(n, MISSING), new[n], f"{path}[{n}]")
            for n in na:
                if n not in new:
                    yield f"{path}[{n}]", old[n], MISSING
            common_a, common_b = [n for n in na if n in new], [n for n in nb if n in old]
            if common_a != common_b:
                yield path, Order(common_a), Order(common_b)
            return
        sm = difflib.SequenceMatcher(None, [_canon(x) for x in a], [_canon(y) for y in b], autojunk=False)
        for op, i1, i2, j1, j2 in sm.get_opcodes():
            if op == "equal":
                continue
            pairs = min(i2 - i1, j2 - j1)
            for k in range(pairs):
                yield from field_changes(a[i1 + k], b[j1 + k], f"{path}[{j1 + k}]")
            for i in range(i1 + pairs, i2):
                yield f"{path}[{i}]", a[i], MISSING
            for j in range(j1 + pairs, j2):
                yield f"{path}[{j}]", MISSING, b[j]
    elif a is MISSING or b is MISSING or type(a) is not type(b) or a != b:
        yield path, a, b


def field_diff(a: Any, b: Any, path: str = "") -> Iterable[str]:
    """Review lines of `field_changes`: `+`/`-` for a field or list element one side lacks, `~ path: old ->
    new` for a changed value -- for long values only the part that differs, and for multi-line text a
    unified line diff below the line."""
    for p, x, y in field_changes(a, b, path):
        if x is MISSING:
            yield f"+ {p}: {_short(y)}"
        elif y is MISSING:
            yield f"- {p}: {_short(x)}"
        elif isinstance(x, str) and isinstance(y, str) and ("\n" in x.rstrip("\n") or "\n" in y.rstrip("\n")):
            yield f"~ {p or '(root)'}: text changed:"
            body = list(difflib.unified_diff(x.splitlines(), y.splitlines(), lineterm="", n=1))[2:]
            yield from (f"    {line}" for line in body)
        else:
            sx, sy = _differing(_text(x), _text(y))
            yield f"~ {p or '(root)'}: {sx} -> {sy}"


def _text(v: Any) -> str:
    if isinstance(v, Order):
        return "order " + ", ".join(v)
    s = yaml.safe_dump(v, default_flow_style=True, width=10_000).strip() if isinstance(v, (dict, list)) else repr(v)
    return s[:-4] if s.endswith("\n...") else s


def _short(v: Any, limit: int = 120) -> str:
    s = _text(v)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _differing(x: str, y: str, limit: int = 120, context: int = 20) -> tuple[str, str]:
    """`x` and `y` as they are when both fit in `limit`, else each cut to the part that differs from
    the other, with `context` characters of the common text on either side (`...` where cut)."""
    if len(x) <= limit and len(y) <= limit:
        return x, y
    pre = 0
    while pre < min(len(x), len(y)) and x[pre] == y[pre]:
        pre += 1
    suf = 0
    while suf < min(len(x), len(y)) - pre and x[-1 - suf] == y[-1 - suf]:
        suf += 1

    def cut(s: str) -> str:
        lo, hi = max(0, pre - context), min(len(s), len(s) - suf + context)
        mid = s[lo:hi]
        if len(mid) > limit:  # the differing part itself is long: its start, then its end
            mid = mid[: limit // 2 - 2] + " ... " + mid[-(limit // 2 - 3):]
        return ("..." if lo > 0 else "") + mid + ("..." if hi < len(s) else "")

    return cut(x), cut(y)


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
