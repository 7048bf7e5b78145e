"""Pinned upstream files: fetch (mirror or network) into the ignored cache, verify, load.

CRDs are pinned by raw URL + sha256 and chart files by (chart, version, file) + sha256 in
`kit/versions.py`. `fetch_all()` copies them into `imports/upstream/` from a mirror directory
when one is configured (`UPSTREAM_MIRROR` for CRDs: a folder laid out like the raw URLs;
`CHART_MIRROR` for chart files: `<chart>/<version>/<file>`), from the network otherwise, and
refuses any file whose sha256 differs. Loading re-checks the hash once per process and keeps a
parsed JSON copy next to the file so later runs don't re-parse megabytes of YAML.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import yaml

from . import versions, yamltext

ROOT = Path(__file__).resolve().parents[3]
CACHE = Path(os.environ.get("MLP_UPSTREAM_CACHE", ROOT / "imports" / "upstream"))
_RAW_PREFIX = "https://raw.githubusercontent.com/"

_Loader = yamltext.LOADER


class UpstreamError(Exception):
    pass


def _default_mirror(env: str, sibling: str) -> Path | None:
    value = os.environ.get(env)
    if value:
        return Path(value).resolve()
    guess = ROOT.parent / "shared" / sibling
    return guess if (guess / "INDEX.tsv").exists() else None


def crd_mirror() -> Path | None:
    return _default_mirror("UPSTREAM_MIRROR", "upstream")


def chart_mirror() -> Path | None:
    return _default_mirror("CHART_MIRROR", "chart-schemas")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def crd_cache_path(pin: versions.CrdPin) -> Path:
    if not pin.url.startswith(_RAW_PREFIX):
        raise UpstreamError(f"unsupported CRD URL {pin.url}")
    return CACHE / "crds" / pin.url[len(_RAW_PREFIX):]


def chart_cache_path(f: versions.ChartFile) -> Path:
    return CACHE / "charts" / f.chart / f.version / f.file


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - pinned https URLs
            return resp.read()
    except OSError as e:  # URLError, timeouts, DNS
        raise UpstreamError(f"cannot download {url}: {getattr(e, 'reason', e)}; offline? set UPSTREAM_MIRROR "
                            "and CHART_MIRROR to local mirrors of the pinned files") from None


def _fetch_chart_file_from_repo(f: versions.ChartFile) -> bytes:
    chart = versions.CHARTS[f.chart]
    if chart.oci:
        raise UpstreamError(
            f"{f.chart} {f.version} lives in an OCI registry ({chart.repo_url}); fetching from OCI is "
            "not supported: set CHART_MIRROR to a folder holding <chart>/<version>/<file>")
    index = yaml.load(_download(chart.repo_url.rstrip("/") + "/index.yaml"), Loader=_Loader)
    for entry in index.get("entries", {}).get(f.chart, []):
        if entry.get("version") == f.version:
            url = entry["urls"][0]
            if not url.startswith("http"):
                url = chart.repo_url.rstrip("/") + "/" + url
            with tarfile.open(fileobj=io.BytesIO(_download(url)), mode="r:gz") as tar:
                member = tar.extractfile(f"{f.chart}/{f.file}")
                if member is None:
                    raise UpstreamError(f"{f.chart}-{f.version}.tgz has no {f.file}")
                return member.read()
    raise UpstreamError(f"chart {f.chart} {f.version} not found in {chart.repo_url}")


def _fetch_one(label: str, dest: Path, sha: str, from_mirror: Path | None,
               from_network: Callable[[], bytes]) -> str:
    if dest.exists() and _sha256(dest.read_bytes()) == sha:
        return "cached"
    if from_mirror is not None:
        if not from_mirror.exists():
            raise UpstreamError(f"{label}: not in mirror ({from_mirror})")
        data, how = from_mirror.read_bytes(), "mirror"
    else:
        data, how = from_network(), "network"
    got = _sha256(data)
    if got != sha:
        raise UpstreamError(f"{label}: sha256 mismatch (pinned {sha}, got {got}); refusing to use it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return how


def fetch_all(progress: Callable[[str], None] = print) -> dict[str, int]:
    """Fetch every pinned file; returns counts by origin (cached/mirror/network)."""
    counts: dict[str, int] = {}
    cm, hm = crd_mirror(), chart_mirror()
    progress(f"upstream: CRDs from {'mirror ' + str(cm) if cm else 'the network'}, "
             f"chart files from {'mirror ' + str(hm) if hm else 'the network'} -> {CACHE}")
    seen: set[str] = set()
    for pin in versions.CRDS:
        if pin.url in seen:
            continue
        seen.add(pin.url)
        rel = pin.url[len(_RAW_PREFIX):]
        how = _fetch_one(pin.url, crd_cache_path(pin), pin.sha256, cm / rel if cm else None,
                         lambda: _download(pin.url))
        counts[how] = counts.get(how, 0) + 1
    for f in versions.CHART_FILES:
        how = _fetch_one(f"{f.chart}/{f.version}/{f.file}", chart_cache_path(f), f.sha256,
                         hm / f.chart / f.version / f.file if hm else None,
                         lambda f=f: _fetch_chart_file_from_repo(f))
        counts[how] = counts.get(how, 0) + 1
    progress("upstream: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return counts


def _load_verified(path: Path, sha: str, label: str) -> Any:
    """Parse a pinned YAML/JSON file (all documents), via a JSON side-car keyed by sha256."""
    side = path.with_name(path.name + f".{sha[:16]}.json.gz")
    if side.exists():
        with gzip.open(side, "rb") as fh:
            return json.loads(fh.read())
    if not path.exists():
        raise UpstreamError(f"{label} is not in the cache {CACHE}: run `python app.py fetch` (or ./setup.sh)")
    raw = path.read_bytes()
    if _sha256(raw) != sha:
        raise UpstreamError(f"{label}: cached file does not match its pinned sha256; run `python app.py fetch`")
    docs = [d for d in yaml.load_all(raw, Loader=_Loader) if d is not None]
    with gzip.open(side, "wb", compresslevel=1) as fh:
        fh.write(json.dumps(docs).encode())
    return docs


@lru_cache(maxsize=None)
def crd_document(kind: str, group: str) -> dict:
    pin = versions.crd(kind, group)
    docs = _load_verified(crd_cache_path(pin), pin.sha256, pin.url)
    for d in docs:
        if d.get("kind") == "CustomResourceDefinition" and d["spec"]["group"] == group \
                and d["spec"]["names"]["kind"] == kind:
            return d
    raise UpstreamError(f"{pin.url} holds no CRD for {kind}.{group}")


@lru_cache(maxsize=None)
def chart_values(chart: str) -> dict:
    f = versions.chart_file(chart, "values.yaml")
    if f is None:
        raise UpstreamError(f"no pinned values.yaml for chart {chart}")
    docs = _load_verified(chart_cache_path(f), f.sha256, f"{f.chart}/{f.version}/values.yaml")
    return docs[0] if docs else {}


@lru_cache(maxsize=None)
def chart_values_schema(chart: str) -> dict | None:
    f = versions.chart_file(chart, "values.schema.json")
    if f is None:
        return None
    return _load_verified(chart_cache_path(f), f.sha256, f"{f.chart}/{f.version}/values.schema.json")[0]
