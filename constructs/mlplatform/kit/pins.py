"""Derived pins: the hashes that follow a version (`python app.py pins` refreshes them, `check` names it).

A bot (Renovate, see renovate.json) or a person moves a version in a versions file (kit/versions.py
or a unit's components/<unit>/versions.py, `versions.files()`): a chart's
version, a CRD's or manifests' tag in its URL. What follows from it -- the sha256 of each pinned CRD
and manifest file, and the chart's entry in charts.lock (its version and the archive digest of each
source) -- is recomputed here, from the mirrors (UPSTREAM_MIRROR, CHART_MIRROR) or the network, and
written back in place. A bump is then complete: the bot's PR plus `python app.py pins`.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Callable

from . import helm, upstream, versions

VERSION_FILES: tuple[Path, ...] = versions.files()
COMMAND = "python app.py pins"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _raw(url: str) -> bytes | None:
    """The current bytes at a pinned raw URL: the mirror's copy (None if the mirror lacks it), else the network."""
    m = upstream.crd_mirror()
    if m is not None:
        p = m / url[len("https://raw.githubusercontent.com/"):]
        return p.read_bytes() if p.exists() else None
    return upstream._download(url)


def _pinned_files() -> list[tuple[str, str]]:
    """(url, sha256) of every pinned CRD and manifest file, as the versions table declares them."""
    out = [(p.url, p.sha256) for p in versions.CRDS]
    out += [(u, s) for m in versions.MANIFESTS.values() for u, s in m.files if s is not None]
    return out


def _chart_archive(chart: str, version: str) -> bytes | None:
    m = helm.chart_mirror()
    p = (m / chart / version / f"{chart}-{version}.tgz") if m else None
    return p.read_bytes() if p and p.exists() else None


def stale(read_raw: Callable[[str], bytes | None] | None = None,
          read_chart: Callable[[str, str], bytes | None] | None = None,
          lock: dict[str, helm.ChartLock] | None = None) -> list[str]:
    """Pins whose version moved while their hashes did not (empty: all consistent). Only what a
    mirror holds is compared (a file the mirror lacks is reported by `fetch`)."""
    read_raw = read_raw or (lambda u: _raw(u) if upstream.crd_mirror() else None)
    read_chart = read_chart or _chart_archive
    lock = helm.lock() if lock is None else lock
    out = []
    for url, sha in sorted(set(_pinned_files())):
        data = read_raw(url)
        if data is not None and _sha(data) != sha:
            out.append(f"{url}: pinned sha256 {sha[:12]}… is not the file's ({_sha(data)[:12]}…)")
    for name, c in sorted(versions.CHARTS.items()):
        entry = lock.get(name)
        if entry is None or entry.version != c.version:
            out.append(f"chart {name}: kit/versions.py pins {c.version}, charts.lock locks "
                       f"{entry.version if entry else 'nothing'}")
            continue
        data = read_chart(name, c.version)
        if data is not None and entry.digests.get("mirror") not in (None, _sha(data)):
            out.append(f"chart {name} {c.version}: charts.lock's mirror digest is not the mirror archive's")
    return out


def refresh(progress: Callable[[str], None] = print) -> int:
    """Rewrite the derived pins in the versions files and charts.lock; returns how many changed."""
    texts = {f: f.read_text(encoding="utf-8") for f in VERSION_FILES}
    changed = 0
    for url, sha in sorted(set(_pinned_files())):
        data = _raw(url)
        if data is None:
            raise upstream.UpstreamError(f"{url}: not in the mirror {upstream.crd_mirror()}; add it there (or unset "
                                         "UPSTREAM_MIRROR to use the network)")
        new = _sha(data)
        if new != sha:
            n = 0
            for f, text in texts.items():
                texts[f], k = re.subn(re.escape(sha), new, text)
                n += k
            changed += 1
            progress(f"pins: {url}: {sha[:12]}… -> {new[:12]}… ({n} place(s))")
    for f, text in texts.items():
        if text != f.read_text(encoding="utf-8"):
            f.write_text(text, encoding="utf-8")
    lock_text = helm.LOCK_FILE.read_text(encoding="utf-8")
    for name, c in sorted(versions.CHARTS.items()):
        entry = helm.lock().get(name)
        data = _chart_archive(name, c.version)
        mirror = _sha(data) if data is not None else None
        if entry is not None and entry.version == c.version and entry.digests.get("mirror") == mirror:
            continue
        if data is None and entry is not None and entry.version == c.version:
            continue  # nothing to compare with here
        block = (f"  {name}:\n    version: {c.version}\n    sha256:\n      mirror: {mirror or 'null'}\n"
                 f"      repo: {'null' if entry is None or entry.version != c.version else entry.digests.get('repo') or 'null'}\n")
        pattern = re.compile(rf"^  {re.escape(name)}:\n(?:    .*\n)*", re.M)
        lock_text, n = pattern.subn(block, lock_text)
        if n == 0:
            lock_text = lock_text.rstrip("\n") + "\n" + block
        changed += 1
        progress(f"pins: charts.lock {name} {c.version}: mirror {mirror or 'null'}"
                 + ("" if entry is not None and entry.version == c.version else
                    " (repo digest reset: verify it with `helm pull` before trusting the repository)"))
    helm.LOCK_FILE.write_text(lock_text, encoding="utf-8")
    helm.lock.cache_clear()
    return changed
