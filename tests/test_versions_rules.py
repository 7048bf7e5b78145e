"""validate/bom.py: the BOM agrees with itself and covers every image an env runs (planted cases)."""
from __future__ import annotations

import dataclasses
import pytest

from mlplatform.kit import upstream, versions
from mlplatform.validate import bom



def test_the_platform_passes(rendered):
    for name, r in rendered.items():
        assert bom.check(r) == [], name


# ---------------------------------------------------------------- CRD pins <-> the release that installs them

def test_crd_pins_are_the_installing_release():
    assert bom.crd_release_problems(versions.CHARTS, versions.MANIFESTS, versions.CRDS, versions.IMAGES) == []
    # Argo CD's CRDs follow the app image we run (v3.4.7), not the chart's appVersion (v3.4.4)
    assert bom.app_version(versions.CHARTS["argo-cd"], versions.IMAGES) == "v3.4.7"


def test_planted_crd_pin_from_another_release():
    app = versions.crd("Application", "argoproj.io")
    newer = dataclasses.replace(app, url=app.url.replace("/v3.4.7/", "/v3.5.1/"))
    crds = [newer if p is app else p for p in versions.CRDS]
    assert bom.crd_release_problems(versions.CHARTS, versions.MANIFESTS, crds, versions.IMAGES) == [
        "CRD Application.argoproj.io is pinned from v3.5.1 but chart argo-cd 10.1.1 (app v3.4.7) installs it: pin "
        "the CRD of v3.4.7 in kit/versions.py CRDS (then `python app.py pins`), or the cluster serves a schema other "
        "than the one we validate against"]
    # without the image override the chart's own appVersion is the release
    charts = {**versions.CHARTS, "argo-cd": dataclasses.replace(versions.CHARTS["argo-cd"], app_image="")}
    assert len(bom.crd_release_problems(charts, versions.MANIFESTS, versions.CRDS, versions.IMAGES)) == 3
    # a manifests source takes precedence over the chart that could also ship the kind
    kps = versions.CHARTS["kube-prometheus-stack"]
    assert kps.app_version == "v0.93.1" and "ServiceMonitor.monitoring.coreos.com" in kps.provides_crds
    manifests = {k: v for k, v in versions.MANIFESTS.items() if k != "prometheus-operator-crds"}
    assert any("ServiceMonitor" in p for p in bom.crd_release_problems(versions.CHARTS, manifests, versions.CRDS,
                                                                        versions.IMAGES))


def test_argo_cd_chart_crds_equal_the_pinned_v3_4_7_ones():
    docs = bom.templated_crds("argo-cd")
    assert sorted(d["spec"]["names"]["kind"] for d in docs) == ["AppProject", "Application", "ApplicationSet"]
    assert bom.crd_content_problems([("argo-cd", d) for d in docs], bom._pinned_doc) == []


def test_planted_installed_crd_that_differs_from_the_pin():
    doc = upstream.crd_document("Application", "argoproj.io")
    changed = {**doc, "spec": {**doc["spec"], "versions": [{**doc["spec"]["versions"][0], "served": False}]}}
    assert bom.crd_content_problems([("chart argo-cd 10.1.1 (templates/crds)", changed)], bom._pinned_doc) == [
        "CRD Application.argoproj.io: chart argo-cd 10.1.1 (templates/crds) installs a schema that differs from the "
        f"pinned {versions.crd('Application').url}: pin the CRDs of the release that installs them"]
    # a CRD we have no pin for is not judged here (nothing validates against it)
    other = {**doc, "spec": {**doc["spec"], "group": "example.com"}}
    assert bom.crd_content_problems([("x", other)], bom._pinned_doc) == []


# ---------------------------------------------------------------- images an operator release documents

TRAINER_RUNTIME = """
spec:
  template:
    spec:
      replicatedJobs:
        - name: node
          template:
            spec:
              template:
                spec:
                  containers:
                    - name: node
                      image: pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime
"""


def test_documented_images_hold():
    assert bom.documented_image_problems(versions.IMAGES, bom._trainer_runtime()) == []
    assert "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime" in bom._trainer_runtime()


def test_planted_trainer_runtime_image_of_another_release():
    old = {**versions.IMAGES, "pytorch-cuda": versions.Image("pytorch-cuda", "pytorch/pytorch",
                                                               "2.10.0-cuda12.8-cudnn9-runtime")}
    assert bom.documented_image_problems(old, TRAINER_RUNTIME) == [
        "image pytorch-cuda is pytorch/pytorch:2.10.0-cuda12.8-cudnn9-runtime but the pinned Trainer 2.3.0 runtime "
        "uses pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime: set that tag in kit/versions.py IMAGES"]


def test_planted_keycloak_config_cli_built_for_another_minor():
    cli = versions.IMAGES["keycloak-config-cli"]
    old = {**versions.IMAGES, "keycloak-config-cli": dataclasses.replace(cli, tag="6.4.0-26.1.0")}
    assert bom.documented_image_problems(old, None) == [
        "image keycloak-config-cli 6.4.0-26.1.0 is built against Keycloak 26.1.0, the server is 26.0.0: use the "
        "keycloak-config-cli build for Keycloak 26.0"]


# ---------------------------------------------------------------- mutable tags

@pytest.mark.parametrize("ref", [
    "redis:7.4.11-alpine", "vllm/vllm-openai:v0.34.0", "quay.io/jupyter/scipy-notebook:2026-07-28",
    "quay.io/jupyter/pytorch-notebook:cuda12-2026-07-28", "rayproject/ray-llm:2.52.0-py311-cu128",
    "docker.io/adorsys/keycloak-config-cli:6.5.0-26.0.5", "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime",
    "public.ecr.aws/karpenter/controller:1.14.1@sha256:" + "7" * 64, "registry:5000/team/app:1.2.3",
])
def test_immutable_tags(ref):
    assert bom.mutable_tag(ref) is None


@pytest.mark.parametrize("ref", [
    "quay.io/jupyter/pytorch-notebook:cuda12-python-3.13.14", "redis:7.4-alpine", "vllm/vllm-openai:latest",
    "redis", "registry:5000/team/app", "quay.io/jupyter/pyspark-notebook:spark-3.5.3", "apache/airflow:3",
])
def test_planted_mutable_tags(ref):
    assert bom.mutable_tag(ref) is not None


# ---------------------------------------------------------------- every image has a BOM row

def _pod(image: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}}


def test_planted_images_without_a_bom_row():
    ours = {"vllm": [_pod(versions.IMAGES["vllm"].ref), _pod("vllm/vllm-openai:v0.33.0")]}
    rendered = {"volcano": ("volcano", [_pod("docker.io/volcanosh/vc-scheduler:v1.15.1"),
                                        _pod("docker.io/volcanosh/vc-agent:v1.15.1"),
                                        _pod("quay.io/jupyter/pytorch-notebook:cuda12-python-3.13.14")])}
    found = bom.image_problems(ours, rendered, versions.IMAGES, versions.CHART_IMAGES)
    assert found == [
        "vllm: image vllm/vllm-openai:v0.33.0 has no BOM row: take it from kit/versions.py IMAGES",
        "volcano: image docker.io/volcanosh/vc-agent:v1.15.1 (from chart volcano) has no BOM row: add it to "
        "kit/versions.py CHART_IMAGES['volcano'] (or IMAGES if we set it)",
        "volcano: image quay.io/jupyter/pytorch-notebook:cuda12-python-3.13.14 (from chart volcano): tag "
        "'cuda12-python-3.13.14' is not a release version, a date or a digest, so it can be re-pushed (a "
        "build-variant tag follows its base, e.g. its Python, and is re-pushed); pin it through the chart's values",
        "volcano: image quay.io/jupyter/pytorch-notebook:cuda12-python-3.13.14 (from chart volcano) has no BOM row: "
        "add it to kit/versions.py CHART_IMAGES['volcano'] (or IMAGES if we set it)",
    ]


def test_no_stale_chart_image_rows(rendered):
    ran: dict[str, set[str]] = {}
    for r in rendered.values():
        for comp, docs in r.renders.docs.items():
            chart = r.helm[comp].chart if comp in r.helm else comp
            ran.setdefault(chart, set()).update(i for d in docs for i in bom._pod_images(d.obj))
    stale = {c: sorted(set(refs) - ran.get(c, set())) for c, refs in versions.CHART_IMAGES.items()}
    assert {c: s for c, s in stale.items() if s} == {}
    listed = {r for refs in versions.CHART_IMAGES.values() for r in refs}
    assert not listed & {i.ref for i in versions.IMAGES.values()}, "an image we set belongs in IMAGES only"


def test_known_stale_rows_name_pins_that_exist(capsys):
    rows = {(t, n) for t, n, _, _ in versions.bom_rows()}
    assert set(versions.KNOWN_STALE) <= rows
    from mlplatform.cli import main
    main(["bom"])
    out = capsys.readouterr().out
    assert "4.4.0 (STALE)" in out and "26.0.0 (STALE)" in out and "known stale" in out


def test_a_digest_of_a_bom_repository_counts_as_its_row():
    digest = "vllm/vllm-openai@sha256:" + "a" * 64
    assert bom.image_problems({"vllm": [_pod(digest)]}, {}, versions.IMAGES, versions.CHART_IMAGES) == []
    other = "example.com/app@sha256:" + "a" * 64
    assert bom.image_problems({"x": [_pod(other)]}, {}, versions.IMAGES, versions.CHART_IMAGES) == [
        f"x: image {other} has no BOM row: take it from kit/versions.py IMAGES"]
