"""Write validated envs through cdk8s, atomically.

One cdk8s `App` per env writes `dist/<env>/<component>/<Kind>.<name>.k8s.yaml` (one chart per
component = one folder per Argo CD Application; one file per object so review diffs stay
small). Objects arrive already validated; see `_add_chart` for how they cross into jsii. Everything is rendered into a staging directory on the same filesystem and
swapped in only after cdk8s finished, so a failed or killed synth leaves `dist/` as it was.

Each folder (`dist/<env>`, `argocd/<env>`) is swapped in with one atomic exchange
(renameat2 RENAME_EXCHANGE on Linux; elsewhere two renames, and the next run's `recover`
restores a folder parked between them), so a reader -- or a kill -- sees the whole old tree or
the whole new one. Staging folders are named `.synth-tmp-<pid>-*`; a later run removes those
whose process is gone (a SIGKILL skips the `finally` that removes its own).

Test hook: with `MLP_SYNTH_KILL_AT=<point>` in the environment the process SIGKILLs itself at
that point of the write, so tests/test_interrupt.py can stop it exactly there. Points: `staged`
(cdk8s finished, nothing swapped), `swapped:dist/<env>`, `swapped:argocd/<env>`.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Iterable

import yaml

from .plan import Rendered

OLD_SUFFIX = ".replaced"
STAGING_PREFIX = ".synth-tmp-"
KILL_AT_ENV = "MLP_SYNTH_KILL_AT"


def _checkpoint(point: str) -> None:
    """The test hook (see the module docstring): die here, as a SIGKILL from outside would."""
    if os.environ.get(KILL_AT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _cdk8s():
    import cdk8s  # imported lazily: the jsii runtime starts on first use

    return cdk8s


# Crossing into jsii costs ~0.4 ms per call, and `Include` costs ~0.2 s per chart (cdk8s loads the
# file in a child Node process). Small charts go object by object (create + one patch call
# per top-level field); charts above this size go through one Include. Both give identical
# bytes (tests/test_write.py).
INCLUDE_THRESHOLD = 150
_HEAD = ("apiVersion", "kind", "metadata")


def _sorted(v):
    if isinstance(v, dict):
        return {k: _sorted(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [_sorted(x) for x in v]
    return v


def _object_id(o: dict) -> str:
    md = o.get("metadata") or {}
    return "-".join(x for x in (md.get("name"), str(o.get("kind", "")).lower(), md.get("namespace")) if x)


def _add_chart(cdk8s, scope, chart_id: str, objs: list[dict], scratch: Path, *, force_include: bool | None = None) -> None:
    import jsii

    chart = cdk8s.Chart(scope, chart_id, disable_resource_name_hashes=True)
    use_include = len(objs) > INCLUDE_THRESHOLD if force_include is None else force_include
    if use_include:
        scratch.mkdir(parents=True, exist_ok=True)
        src = scratch / f"{chart_id}.json"
        # one JSON document per `---` is valid multi-document YAML for cdk8s' loader
        src.write_text("\n---\n".join(json.dumps(o, sort_keys=True) for o in objs) + "\n", encoding="utf-8")
        cdk8s.Include(chart, "objects", url=str(src))
        return
    for o in objs:
        api = object.__new__(cdk8s.ApiObject)
        # Direct kernel call: same as ApiObject(...) minus typeguard's per-call overhead.
        jsii.create(cdk8s.ApiObject, api, [chart, _object_id(o), {
            "apiVersion": o["apiVersion"], "kind": o["kind"], "metadata": _sorted(o["metadata"])}])
        patches = [cdk8s.JsonPatch.add(f"/{k}", _sorted(o[k])) for k in sorted(o) if k not in _HEAD]
        if patches:
            api.add_json_patch(*patches)


class _Dumper(yaml.SafeDumper):
    """Sorted keys, multi-line strings (e.g. the Lua health check) as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _represent_str)


def _dump_yaml(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=10_000)


def recover(targets: Iterable[Path]) -> None:
    """Undo a swap interrupted between its two renames (restore `<dir>.replaced`)."""
    for t in targets:
        old = t.with_name(t.name + OLD_SUFFIX)
        if old.exists():
            if t.exists():
                shutil.rmtree(old)
            else:
                os.replace(old, t)


_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two existing paths (Linux renameat2); False where that isn't available."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # this kernel or filesystem can't exchange
    raise OSError(err, os.strerror(err), str(b))


def _swap(new: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(target.name + OLD_SUFFIX)
    if target.exists() and _exchange(new, target):
        shutil.rmtree(new)  # now the old tree
        return
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    if old.exists():
        shutil.rmtree(old)


def _remove_stale_staging(parent: Path) -> None:
    """Staging folders of synths that were killed (their pid is gone); live ones are left alone."""
    for d in parent.glob(f"{STAGING_PREFIX}*-*"):
        pid = d.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or not d.is_dir():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:
            pass  # someone else's live process


def write_envs(rendered: list[Rendered], dist: Path, argocd_dir: Path, renders_dir: Path | None = None) -> None:
    """Synthesize every (already validated) env and swap it into place. With `renders_dir`, the
    reviewable snapshots of the env's chart renders (renders.snapshot_files) are swapped in too,
    as `<renders_dir>/<env>/` -- a folder no Argo CD Application reads."""
    if not rendered:
        return
    cdk8s = _cdk8s()
    dist.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(dist.parent)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=dist.parent))
    try:
        scratch = staging / "_scratch"
        scratch.mkdir()
        for r in rendered:
            # build and synthesize one env at a time: Node holds one env's constructs, not all
            name = r.env.name
            app = cdk8s.App(outdir=str(staging / "dist" / name),
                            yaml_output_type=cdk8s.YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE,
                            record_construct_metadata=False)
            for comp in sorted(r.components):
                _add_chart(cdk8s, app, comp, r.components[comp], scratch / name)
            boot = cdk8s.App(outdir=str(staging / "argocd" / name),
                             yaml_output_type=cdk8s.YamlOutputType.FILE_PER_RESOURCE,
                             record_construct_metadata=False)
            _add_chart(cdk8s, boot, "bootstrap", r.bootstrap, scratch / name)
            app.synth()
            boot.synth()
            del app, boot
        for r in rendered:
            name = r.env.name
            (staging / "argocd" / name / "argo-cd.values.yaml").write_text(
                "# Values for the pinned argo-cd chart (bootstrap; see argocd/README.md).\n"
                + _dump_yaml(r.argocd_values), encoding="utf-8")
            # dist/<env>/INVENTORY.md (inventory.py): swapped in with the env; no Application reads it.
            from .inventory import INVENTORY_FILE, markdown as inventory_markdown
            (staging / "dist" / name / INVENTORY_FILE).write_text(inventory_markdown(r), encoding="utf-8")
            if renders_dir is not None:
                from .renders import snapshot_files
                root = staging / "rendered" / name
                root.mkdir(parents=True)
                for rel, text in snapshot_files(r.renders).items():
                    f = root / rel
                    f.parent.mkdir(parents=True, exist_ok=True)
                    f.write_text(text, encoding="utf-8")
        _checkpoint("staged")
        for r in rendered:
            name = r.env.name
            recover([dist / name, argocd_dir / name])
            _swap(staging / "dist" / name, dist / name)
            _checkpoint(f"swapped:dist/{name}")
            _swap(staging / "argocd" / name, argocd_dir / name)
            _checkpoint(f"swapped:argocd/{name}")
            if renders_dir is not None:
                recover([renders_dir / name])
                _swap(staging / "rendered" / name, renders_dir / name)
                _checkpoint(f"swapped:rendered/{name}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
