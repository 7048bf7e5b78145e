"""The checkov findings the platform accepts: one reviewed table, applied as annotations.

`tests/test_policy_scan.py` runs checkov's Kubernetes checks over every object an env renders.
A finding is fixed in the component that builds the object, or excused here: each `Exemption`
names a check, which objects it covers (a predicate over the rendered object, so it keeps
covering a vLLM model or a team added later, and never depends on how many objects an env has)
and why the finding is inherent. `plan.render` calls `annotate`, which writes the excuse onto the
object itself, in checkov's inline form:

    metadata.annotations["checkov.io/skip1"] = "CKV_K8S_43=<reason>"

so the reason sits in `dist/` next to the thing it excuses, while every reason lives here, in one
place a reviewer reads. The test fails on any finding without an exemption, on an exemption that
matches no object of any env, and on an exemption put on an object that passes the check anyway.

Annotation values: checkov 3.x matches any annotation key containing `checkov.io/skip` and splits
the value once on `=`, so a reason must not contain `=`. Keys are numbered per object in check
order (`skip1`, `skip2`, ...), which keeps the output byte-stable. Note: the keycloak realm and
Airflow pools Jobs are replaced by Argo CD on any change (`Replace=true`), so editing a reason
that applies to them re-runs them once (both are idempotent).

Chart renders (`plan.render(env).renders.docs`: what Argo CD applies from each Helm chart and
upstream manifest) are scanned too, but we cannot write annotations onto them: Argo CD renders
the chart itself. Their findings are fixed through the chart's values in the component
(securityContext, resources, probes, ...) or excused by `CHART_EXEMPTIONS` (kit/chart_policy.py), a
second table of the same shape plus the components it applies to. The test fails on a chart finding no
row excuses, and on a row that excuses no finding in any env (stale).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

from . import mirror, versions
from .meta import LABEL_COMPONENT, Obj, add_annotation

SKIP_KEY = "checkov.io/skip"
CHECK_ID = re.compile(r"^CKV2?_K8S_\d+$")

# Kinds whose pod template checkov inspects, and where that template lives.
_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


@dataclass(frozen=True)
class Exemption:
    check: str      # checkov check id, e.g. CKV_K8S_43
    objects: str    # which objects, in words (what `match` selects)
    reason: str     # why the finding is inherent there; becomes the annotation text
    match: Callable[[Obj], bool]

    def __post_init__(self) -> None:
        if not CHECK_ID.match(self.check):
            raise ValueError(f"{self.check!r}: not a checkov Kubernetes check id")
        if "=" in self.reason or "\n" in self.reason:
            raise ValueError(f"{self.check}: a reason must be one line without '=' (checkov splits on it)")

    def annotation(self) -> str:
        return f"{self.check}={self.reason}"


# ----------------------------------------------------------------------------- predicates
def pod_spec(obj: Obj) -> dict | None:
    """The pod spec of a workload object (None for anything that has no pod template)."""
    node = obj
    path = _POD_SPEC_PATHS.get(obj.get("kind", ""))
    if path is None:
        return None
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def images(obj: Obj) -> list[str]:
    spec = pod_spec(obj) or {}
    return [c.get("image", "") for key in ("initContainers", "containers") for c in spec.get(key) or []]


def bom_source(image: str, chart_images: bool = False) -> str | None:
    """The versions-table reference `image` is, or is the registry mirror's copy of (kit/mirror.py
    keeps the source's path and tag under a mirror prefix; validate/mirror.py makes sure the prefix
    is the env's mirror); None for anything else. `chart_images`: the charts' own images
    (`CHART_IMAGES`) count too."""
    refs = [i.ref for i in versions.IMAGES.values()]
    if chart_images:
        refs += [r for rs in versions.CHART_IMAGES.values() for r in rs]
    for ref in refs:
        if image == ref or image.endswith("/" + mirror.normalize(ref)) or image.endswith("/" + mirror.split(ref)[1]):
            return ref
    return None


def _pinned_by_tag(obj: Obj) -> bool:
    """A workload whose every image is a row of the versions table (kit/versions.py) or a registry
    mirror's copy of one, at least one of them pinned by tag rather than digest."""
    found = images(obj)
    return bool(found) and all(bom_source(i) for i in found) and any("@sha256:" not in i for i in found)


# Registries that serve anonymous pulls of the images in the versions table. A private registry
# (ECR, ...) is not here: there Always makes the kubelet check the pod's pull credentials.
PUBLIC_REGISTRIES = frozenset({"docker.io", "quay.io", "ghcr.io", "registry.k8s.io", "public.ecr.aws", "nvcr.io"})


def registry(image: str) -> str:
    """The registry host of an image reference (Docker Hub when the first part is no host)."""
    first, sep, _ = image.partition("/")
    return first if sep and ("." in first or ":" in first or first == "localhost") else "docker.io"


def _public_and_pinned_by_tag(obj: Obj) -> bool:
    """Pinned by tag, and public content: from a public registry, or a mirror's copy of such an image
    (anyone can pull the same bytes from the source, so a node's cached copy bypasses nothing)."""
    return _pinned_by_tag(obj) and all(registry(bom_source(i) or i) in PUBLIC_REGISTRIES for i in images(obj))


def _named(kind: str, namespace: str, name: str) -> Callable[[Obj], bool]:
    def match(obj: Obj) -> bool:
        md = obj.get("metadata") or {}
        return obj.get("kind") == kind and md.get("namespace") == namespace and md.get("name") == name
    return match


def _of_component(kind: str, component: str) -> Callable[[Obj], bool]:
    def match(obj: Obj) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return obj.get("kind") == kind and labels.get(LABEL_COMPONENT) == component
    return match


# ----------------------------------------------------------------------------- the table
_TAG_PINS = ("every workload whose images are all rows of the versions table (kit/versions.py), "
             "pinned by tag")

EXEMPTIONS: tuple[Exemption, ...] = (
    Exemption(
        "CKV_K8S_43", _TAG_PINS,
        "images are pinned by release tag, never latest, in one reviewed table (kit/versions.py, "
        "shown by the bom command) that every object takes its image from; a digest belongs in "
        "that table rather than in single objects, and the table does not record digests yet",
        _pinned_by_tag),
    Exemption(
        "CKV_K8S_15", _TAG_PINS + ", from public registries",
        "public images at a pinned version tag: no pull credentials that a cached copy could "
        "bypass, and Always would not make a tag immutable (only a digest does, see CKV_K8S_43) "
        "but would add a registry round trip and registry rate limits to every container start",
        _public_and_pinned_by_tag),
    Exemption(
        "CKV_K8S_35", "Deployment mlflow/mlflow (server and its db-upgrade init container)",
        "MLflow reads its backend store URI, which holds the database password, only from "
        "MLFLOW_BACKEND_STORE_URI or a command line argument and has no file option; the value "
        "comes by reference from the mlflow-db ExternalSecret",
        _named("Deployment", "mlflow", "mlflow")),
    Exemption(
        "CKV_K8S_35", "every vLLM model Deployment (component vllm)",
        "vLLM reads the key clients must present only from VLLM_API_KEY or the api-key argument, "
        "and an argument would show in the pod spec and the process list; the value comes by "
        "reference from the vllm-api-key ExternalSecret",
        _of_component("Deployment", "vllm")),
    Exemption(
        "CKV_K8S_40", "every vLLM model Deployment (component vllm)",
        "uid 1000 and gid 100 are the owner of the team EFS share (the Terraform access point) "
        "that holds the model cache, the identity notebooks, Ray and training pods use as well; "
        "moving the platform to a high uid is one coordinated change, not a per component one",
        _of_component("Deployment", "vllm")),
)


# ----------------------------------------------------------------------------- applying it
def exemptions_for(obj: Obj, table: tuple[Exemption, ...] = EXEMPTIONS) -> list[Exemption]:
    """The exemptions that cover `obj`, one per check (in check order)."""
    by_check: dict[str, Exemption] = {}
    for e in table:
        if e.match(obj):
            if e.check in by_check:
                raise ValueError(f"two exemptions for {e.check}: {by_check[e.check].objects!r} and {e.objects!r}")
            by_check[e.check] = e
    return [by_check[c] for c in sorted(by_check, key=_check_order)]


def _check_order(check: str) -> tuple[int, int]:
    prefix, _, number = check.rpartition("_")
    return (0 if prefix == "CKV_K8S" else 1, int(number))


def skip_annotations(obj: Obj) -> dict[str, str]:
    """The `checkov.io/skip<N>` annotations an object carries."""
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    return {k: v for k, v in ann.items() if SKIP_KEY in k}


def annotate(components: dict[str, list[Obj]], table: tuple[Exemption, ...] = EXEMPTIONS) -> list[str]:
    """Write each object's exemptions onto it as `checkov.io/skip<N>: <check>=<reason>`.

    Returns problems as `<component>/<Kind>/<name>: message`: an object that already carries
    other skip annotations (excuses are made here only) or that two exemptions of one check
    cover. Idempotent: an object annotated by an earlier render is left as it is."""
    problems: list[str] = []
    for comp, objs in components.items():
        for o in objs:
            where = f"{comp}/{o.get('kind')}/{(o.get('metadata') or {}).get('name')}"
            try:
                found = exemptions_for(o, table)
            except ValueError as e:
                problems.append(f"{where}: {e}")
                continue
            want = {f"{SKIP_KEY}{n}": e.annotation() for n, e in enumerate(found, start=1)}
            have = skip_annotations(o)
            if have and have != want:
                problems.append(f"{where}: carries {SKIP_KEY}* annotations kit/policy.py did not make; "
                                f"excuse findings in its table instead")
                continue
            for key, value in want.items():
                add_annotation(o, key, value)
    return problems


def skipped_checks(obj: Obj) -> Iterator[str]:
    """The check ids an (annotated) object skips."""
    for value in skip_annotations(obj).values():
        yield value.partition("=")[0]
