"""renovate.json's custom managers find every pin of the BOM exactly once (their matchStrings are
regexes: applied here with Python's `re`), and the derived pins follow a version (`app.py pins`)."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from mlplatform.kit import helm, pins, versions

ROOT = Path(__file__).resolve().parents[1]
CONFIG = json.loads((ROOT / "renovate.json").read_text())


def _py(rx: str) -> re.Pattern:
    return re.compile(rx.replace("(?<", "(?P<"))  # JS named groups -> Python


def matches(path: str, text: str) -> list[tuple[str, str, int]]:
    """(depName, currentValue, offset) of every match of every manager whose fileMatch takes `path`."""
    out = []
    for m in CONFIG["customManagers"]:
        if not any(re.search(f, path) for f in m["fileMatch"]):
            continue
        for rx in m["matchStrings"]:
            for hit in _py(rx).finditer(text):
                g = hit.groupdict()
                dep = m.get("depNameTemplate") or g["depName"]
                if "packageNameTemplate" in m:
                    dep = f"{g['registry']}/{g['depName']}"
                out.append((dep, g["currentValue"], hit.start("currentValue")))
    return out


def expected() -> Counter:
    want: Counter = Counter()
    for c in versions.CHARTS.values():
        want[(f"{c.repo_url}/{c.name}" if c.oci else c.name, c.version)] += 1
    for m in versions.MANIFESTS.values():
        owner_repo = m.repo_url.removeprefix("https://github.com/")
        want[(owner_repo, m.revision)] += 1
        # the files' URL prefix (one literal per source)
        want.update({(u.split("/")[3] + "/" + u.split("/")[4], u.split("/")[5]) for u, _ in m.files})
    for p in versions.CRDS:
        want[(p.url.split("/")[3] + "/" + p.url.split("/")[4], p.url.split("/")[5])] += 1
    for i in versions.IMAGES.values():
        want[(i.repository, i.tag)] += 1
    for t in versions.TOOLS.values():
        want[(t.package, t.package_version)] += 1
    for alias in versions.NODE_AMIS.values():
        want[("awslabs/amazon-eks-ami", alias.partition("@")[2])] += 1
    return want


def _versions_files() -> list[str]:
    """The files that declare versions rows, as repo-relative paths (what renovate.json's fileMatch sees)."""
    return [str(f.relative_to(ROOT)) for f in versions.files()]


def test_every_bom_pin_is_found_exactly_once():
    found = []
    for path in _versions_files():
        hits = matches(path, (ROOT / path).read_text())
        assert hits, f"{path}: no manager's fileMatch takes it, or it declares no pin"
        offsets = [o for _, _, o in hits]
        assert len(offsets) == len(set(offsets)), f"{path}: two managers match the same pin"
        found += hits
    assert Counter((d, v) for d, v, _ in found) == expected()
    # derived pins are not Renovate's: charts.lock follows through `app.py pins`, chart images through renders
    assert matches("charts.lock", (ROOT / "charts.lock").read_text()) == []
    assert not any(d == r.rpartition(":")[0] for d, _, _ in found
                   for refs in versions.CHART_IMAGES.values() for r in refs)


def test_a_planted_pin_no_manager_finds_is_caught():
    texts = {p: (ROOT / p).read_text() for p in _versions_files()}
    planted = {p: t.replace('Image("redis", "redis", "7.4.11-alpine")', 'Image("redis", "redis", "7.4-alpine")')
               for p, t in texts.items()}
    assert planted != texts
    assert Counter((d, v) for p, t in planted.items() for d, v, _ in matches(p, t)) != expected()


def test_the_versions_files_are_the_units_rows():
    """Renovate and `app.py pins` edit the files `versions.files()` lists: kit/versions.py for the shared
    rows and each unit's `versions.py` for its own, which is exactly what the unit's `versions` hook holds."""
    from mlplatform.components import COMPONENTS
    import importlib
    units = {c.name.replace("-", "_"): c for c in COMPONENTS}
    for path in versions.files()[1:]:
        unit = path.parent.name
        module = importlib.import_module(f"mlplatform.components.{unit}.versions")
        assert units[unit].versions is module.VERSIONS, unit
    declared = {p.parent.name for p in versions.files()[1:]}
    assert [n for n, c in units.items() if c.versions and n not in declared] == []


def test_groups_keep_a_chart_with_its_crds():
    groups = {r["groupName"]: set(r["matchDepNames"]) for r in CONFIG["packageRules"] if "groupName" in r}
    for c in versions.CHARTS.values():
        tags = {p.url.split("/")[3] + "/" + p.url.split("/")[4] for p in versions.CRDS
                if f"{p.kind}.{p.group}" in c.provides_crds}
        if tags and not any(p.startswith("prometheus-operator") for p in tags):
            dep = f"{c.repo_url}/{c.name}" if c.oci else c.name
            assert any({dep} | tags <= g or ({c.name} | tags) <= g for g in groups.values()), c.name
    assert any(r.get("matchUpdateTypes") == ["patch"] and r.get("schedule") for r in CONFIG["packageRules"])


# ---------------------------------------------------------------- derived pins follow a version

def test_the_derived_pins_are_current():
    assert pins.stale() == []


def test_planted_version_moved_without_its_hashes():
    app = versions.crd("Application", "argoproj.io")
    lock = {**helm.lock(), "volcano": helm.ChartLock("volcano", "1.15.0", {"mirror": "0" * 64})}
    found = pins.stale(read_raw=lambda u: b"another file" if u == app.url else None,
                       read_chart=lambda c, v: None, lock=lock)
    assert found == [
        f"{app.url}: pinned sha256 {app.sha256[:12]}… is not the file's "
        f"({pins._sha(b'another file')[:12]}…)",
        "chart volcano: kit/versions.py pins 1.15.1, charts.lock locks 1.15.0"]


def test_refresh_rewrites_the_hash_in_place(tmp_path, monkeypatch):
    copies = []
    for i, f in enumerate(pins.VERSION_FILES):
        copies.append(tmp_path / f"{i}-versions.py")
        copies[-1].write_text(f.read_text())
    vf, lf = copies[0], tmp_path / "charts.lock"  # kit/versions.py: the Argo CD CRDs
    lf.write_text(helm.LOCK_FILE.read_text().replace("version: 1.15.1", "version: 1.15.0"))
    monkeypatch.setattr(pins, "VERSION_FILES", tuple(copies))
    monkeypatch.setattr(helm, "LOCK_FILE", lf)
    helm.lock.cache_clear()
    app = versions.crd("Application", "argoproj.io")
    real = pins._raw
    monkeypatch.setattr(pins, "_raw", lambda u: b"moved" if u == app.url else real(u))
    try:
        assert pins.refresh(progress=lambda m: None) == 2
        assert pins._sha(b"moved") in vf.read_text() and app.sha256 not in vf.read_text()
        volcano = helm.lock()["volcano"]
        assert volcano.version == "1.15.1" and volcano.digests["mirror"] == "4ffe23bd1e0a4ec76fdb27ad30a6054c09e214e774a6b86440ec7731cbb1b236"
    finally:
        helm.lock.cache_clear()
