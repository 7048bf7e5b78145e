"""Pinned upstream files: verified by sha256, cached outside git, never committed."""
import subprocess

import pytest

from conftest import ROOT
from mlplatform.kit import upstream, versions


def test_every_crd_pin_serves_the_version_we_emit():
    from mlplatform.validate.crd import schema_for
    for pin in versions.CRDS:
        if pin.kind in ("RayCluster", "RayJob", "RayService"):
            continue  # ~1 MB each; covered by test_large_crd_loads_once
        s = schema_for(pin.api_version, pin.kind)
        assert s is not None and s.namespaced == pin.namespaced, pin.kind


def test_tampered_mirror_file_is_refused(tmp_path, monkeypatch):
    pin = versions.crd("Queue", "scheduling.volcano.sh")
    mirror = tmp_path / "mirror"
    rel = pin.url[len("https://raw.githubusercontent.com/"):]
    (mirror / rel).parent.mkdir(parents=True)
    (mirror / rel).write_text("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n")
    monkeypatch.setattr(upstream, "CACHE", tmp_path / "cache")
    with pytest.raises(upstream.UpstreamError, match="sha256 mismatch"):
        upstream._fetch_one(pin.url, upstream.crd_cache_path(pin), pin.sha256, mirror / rel, lambda: b"")
    assert not upstream.crd_cache_path(pin).exists()


def test_cache_is_ignored_and_nothing_pinned_is_committed():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not any(f.startswith("imports/upstream/") for f in files)
    from mlplatform.kit import helm
    pinned = {p.sha256 for p in versions.CRDS} | {d for c in helm.lock().values() for d in c.digests.values() if d} \
        | {versions.TOOLS["helm"].sha256}
    import hashlib
    for f in files:
        path = ROOT / f
        if path.is_file():
            assert hashlib.sha256(path.read_bytes()).hexdigest() not in pinned, f


def test_every_pinned_file_is_in_the_cache_and_matches():
    for pin in versions.CRDS:
        data = upstream.crd_cache_path(pin).read_bytes()
        assert upstream._sha256(data) == pin.sha256, pin.url
    from mlplatform.kit import helm
    for chart in helm.lock():
        assert helm.archive_digest(chart) in helm.lock()[chart].digests.values()


def test_bom_lists_every_pin():
    rows = versions.bom_rows()
    assert ("chart", "jupyterhub", "4.4.0", "https://hub.jupyter.org/helm-chart/") in rows
    assert any(r[0] == "crd" and r[1] == "NodePool.karpenter.sh" and r[2] == "v1" for r in rows)
    assert all(r[2] and r[2] != "latest" for r in rows)


def test_every_crd_pin_is_used(rendered):
    """A pin nothing deploys is noise in the BOM (and a bump nobody needs): every CRD pin validates
    custom resources some env applies, or is the pinned content of a CRD some env installs (a chart's,
    a manifest's, or Argo CD's own from the bootstrap chart)."""
    from mlplatform.kit import argocd
    from mlplatform.kit.meta import group_of
    used = set(argocd.BOOTSTRAP_CRDS)
    for r in rendered.values():
        objs = [o for objs in r.components.values() for o in objs] + r.bootstrap + \
            [d.obj for docs in r.renders.docs.values() for d in docs]
        used |= {(group_of(o["apiVersion"]), o["kind"]) for o in objs}
        used |= set(r.renders.crds)
    unused = sorted(f"{p.kind}.{p.group}" for p in versions.CRDS if (p.group, p.kind) not in used)
    assert unused == [], f"CRD pins nothing uses: {unused} (drop them from kit/versions.py CRDS)"
