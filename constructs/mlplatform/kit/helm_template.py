"""`helm template` as Argo CD's repo server runs it, over the pinned helm and chart archives of
`kit/helm.py`, with a cache: a render is keyed by everything that shapes it (archive digest,
values, release, namespace, Kubernetes minor, API versions, helm version), so an unchanged
component is never rendered twice, and misses render in parallel. Its documents go through the
document store (`helm.split_documents`), so the envs' identical CRDs are parsed once.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from . import helm, versions
from .helm import (HelmError, RenderedDoc, archive_digest, archive_path, helm_binary, materialize, sha256_hex,
                   split_documents, uses_api_versions)

# Bump when the way a render is turned into objects changes (cache entries of older code are ignored).
RENDER_FORMAT = 4


@dataclass(frozen=True)
class RenderRequest:
    chart: str
    release: str
    namespace: str
    values: dict[str, Any]
    kube_version: str  # "1.33"
    api_versions: tuple[str, ...]
    include_crds: bool = True

    def key(self) -> str:
        tool = versions.TOOLS["helm"]
        blob = json.dumps({"format": RENDER_FORMAT, "helm": tool.sha256, "archive": archive_digest(self.chart),
                           "chart": self.chart, "release": self.release, "namespace": self.namespace,
                           "values": self.values, "kube": self.kube_version,
                           "api": sorted(self.api_versions) if uses_api_versions(self.chart) else None,
                           "crds": self.include_crds}, sort_keys=True, separators=(",", ":"))
        return sha256_hex(blob.encode())


def _run_template(req: RenderRequest) -> str:
    with tempfile.TemporaryDirectory(prefix="mlp-render-") as tmp:
        values = Path(tmp) / "values.json"
        values.write_text(json.dumps(req.values), encoding="utf-8")
        cmd = [helm_binary(), "template", req.release, str(archive_path(req.chart)), "--namespace", req.namespace,
               "--values", str(values), "--kube-version", f"v{req.kube_version}.0"]
        if req.include_crds:
            cmd.append("--include-crds")
        for av in sorted(req.api_versions):
            cmd += ["--api-versions", av]
        env = {**os.environ, "HELM_CACHE_HOME": str(Path(tmp) / "cache"), "HELM_CONFIG_HOME": str(Path(tmp) / "config"),
               "HELM_DATA_HOME": str(Path(tmp) / "data")}
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise HelmError(f"helm template of {req.chart} {versions.CHARTS[req.chart].version} failed: "
                            f"{p.stderr.strip()[-1500:]}")
        return p.stdout


def _cache_file(key: str) -> Path:
    return helm.RENDER_CACHE / key[:2] / f"{key}.json"


def _load_cached(key: str) -> list[RenderedDoc] | None:
    f = _cache_file(key)
    if not f.exists():
        return None
    try:
        index = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return materialize([(sha, src) for sha, src in index])


def _store(key: str, index: list[tuple[str, str]]) -> None:
    f = _cache_file(key)
    f.parent.mkdir(parents=True, exist_ok=True)
    part = f.with_name(f"{f.name}.{os.getpid()}.part")
    part.write_text(json.dumps(index, separators=(",", ":")), encoding="utf-8")
    os.replace(part, f)


STATS = {"hits": 0, "misses": 0}


def render_many(reqs: Iterable[RenderRequest], *, workers: int | None = None) -> list[list[RenderedDoc] | HelmError]:
    """Render each request (cached by its key); misses run in parallel. Results keep the order;
    a failed render is returned as its HelmError, not raised, so every failure is reported."""
    reqs = list(reqs)
    out: list[list[RenderedDoc] | HelmError | None] = [None] * len(reqs)
    misses: list[tuple[int, str]] = []
    for i, req in enumerate(reqs):
        try:
            key = req.key()
        except HelmError as e:
            out[i] = e
            continue
        hit = _load_cached(key)
        if hit is not None:
            STATS["hits"] += 1
            out[i] = hit
        else:
            misses.append((i, key))

    def one(item: tuple[int, str]) -> tuple[int, str, str | HelmError]:
        i, key = item
        try:
            return i, key, _run_template(reqs[i])
        except HelmError as e:
            return i, key, e

    if misses:
        n = workers or min(len(misses), max(2, (os.cpu_count() or 2) * 2))
        with ThreadPoolExecutor(max_workers=n) as pool:
            for i, key, res in pool.map(one, misses):
                STATS["misses"] += 1
                if isinstance(res, HelmError):
                    out[i] = res
                    continue
                try:  # parsed here, in this thread: YAML parsing holds the GIL anyway
                    index = split_documents(res)
                except (HelmError, yaml.YAMLError) as e:
                    out[i] = e if isinstance(e, HelmError) else HelmError(f"{reqs[i].chart}: unparsable output: {e}")
                    continue
                _store(key, index)
                out[i] = materialize(index)
    return out  # type: ignore[return-value]


def clear_cache() -> None:
    shutil.rmtree(helm.RENDER_CACHE, ignore_errors=True)
