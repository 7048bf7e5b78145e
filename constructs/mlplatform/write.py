"""Write validated envs through cdk8s, atomically.

One cdk8s `App` per env writes `dist/<env>/<component>/<Kind>.<name>.k8s.yaml` (one chart per
component = one folder per Argo CD Application; one file per object so review diffs stay
small). Objects arrive already validated; see `_add_chart` for how they cross into jsii. Everything is rendered into a staging directory on the same filesystem and
swapped in only after cdk8s finished, so a failed or killed synth leaves `dist/` as it was.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable

import yaml

from .plan import Rendered

OLD_SUFFIX = ".replaced"


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


def _swap(new: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(target.name + OLD_SUFFIX)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    if old.exists():
        shutil.rmtree(old)


def write_envs(rendered: list[Rendered], dist: Path, argocd_dir: Path) -> None:
    """Synthesize every (already validated) env and swap it into place."""
    if not rendered:
        return
    cdk8s = _cdk8s()
    dist.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".synth-tmp-", dir=dist.parent))
    try:
        scratch = staging / "_scratch"
        scratch.mkdir()
        apps = []
        for r in rendered:
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
            apps += [app, boot]
        for app in apps:
            app.synth()
        for r in rendered:
            name = r.env.name
            (staging / "argocd" / name / "argo-cd.values.yaml").write_text(
                "# Values for the pinned argo-cd chart (bootstrap; see argocd/README.md).\n"
                + _dump_yaml(r.argocd_values), encoding="utf-8")
            # dist/<env>/INVENTORY.md (inventory.py): swapped in with the env; no Application reads it.
            from .inventory import INVENTORY_FILE, markdown as inventory_markdown
            (staging / "dist" / name / INVENTORY_FILE).write_text(inventory_markdown(r), encoding="utf-8")
        for r in rendered:
            name = r.env.name
            recover([dist / name, argocd_dir / name])
            _swap(staging / "dist" / name, dist / name)
            _swap(staging / "argocd" / name, argocd_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
