"""Pinned upstream files: fetch (mirror or network) into the ignored cache, verify, load.

CRDs and the files of upstream manifest sources are pinned by raw URL + sha256 in
`kit/versions.py`. `fetch_all()` copies them into `imports/upstream/` from a mirror directory
when one is configured (`UPSTREAM_MIRROR`: a folder laid out like the raw URLs), from the network
otherwise, and refuses any file whose sha256 differs; it then installs the pinned helm and the
pinned chart archives (`kit/helm.py`, `CHART_MIRROR`). Chart values and values schemas are read
out of those archives. Loading re-checks the hash once per process and keeps a
parsed JSON copy next to the file so later runs don't re-parse megabytes of YAML.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def crd_cache_path(pin: versions.CrdPin) -> Path:
    return raw_cache_path(pin.url)


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - pinned https URLs
            return resp.read()
    except OSError as e:  # URLError, timeouts, DNS
        raise UpstreamError(f"cannot download {url}: {getattr(e, 'reason', e)}; offline? set UPSTREAM_MIRROR "
                            "and CHART_MIRROR to local mirrors of the pinned files") from None


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


def raw_cache_path(url: str) -> Path:
    if not url.startswith(_RAW_PREFIX):
        raise UpstreamError(f"unsupported upstream URL {url}")
    return CACHE / "crds" / url[len(_RAW_PREFIX):]


def pinned_raw_files() -> list[tuple[str, str]]:
    """(url, sha256) of every pinned raw file: the CRDs, and the files of upstream manifest sources
    that are available (a None digest marks a file nobody can fetch here; see kit/renders.py)."""
    seen: dict[str, str] = {}
    for pin in versions.CRDS:
        seen.setdefault(pin.url, pin.sha256)
    for m in versions.MANIFESTS.values():
        for url, sha in m.files:
            if sha is not None:
                seen.setdefault(url, sha)
    return sorted(seen.items())


def fetch_all(progress: Callable[[str], None] = print) -> dict[str, int]:
    """Fetch every pinned file, the pinned helm and the pinned chart archives; returns counts by
    origin (cached/mirror/network/...)."""
    from . import helm
    counts: dict[str, int] = {}
    cm = crd_mirror()
    progress(f"upstream: CRDs and manifests from {'mirror ' + str(cm) if cm else 'the network'} -> {CACHE}")
    for url, sha in pinned_raw_files():
        rel = url[len(_RAW_PREFIX):]
        how = _fetch_one(url, raw_cache_path(url), sha, cm / rel if cm else None, lambda url=url: _download(url))
        counts[how] = counts.get(how, 0) + 1
    progress("upstream: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    try:
        progress(f"helm: {helm.fetch_helm(progress)} ({versions.TOOLS['helm'].version})")
        helm.fetch_charts(progress)
    except helm.HelmError as e:
        raise UpstreamError(str(e)) from None
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
def manifest_file(url: str, sha: str) -> list[dict]:
    """The documents of one pinned upstream manifest file."""
    return _load_verified(raw_cache_path(url), sha, url)


@lru_cache(maxsize=None)
def chart_values(chart: str) -> dict:
    """The chart's default values.yaml, read from the pinned archive."""
    from . import helm
    return helm.default_values(chart)


@lru_cache(maxsize=None)
def chart_values_schema(chart: str) -> dict | None:
    """The chart's values.schema.json (what `helm template` enforces), or None if it ships none."""
    from . import helm
    return helm.values_schema(chart)
