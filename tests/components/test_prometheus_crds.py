"""The `prometheus-crds` unit: the Prometheus Operator CRDs from their pinned release tag, synced
first and server-side, serving the versions of every monitoring kind the platform emits."""
from collections import Counter

from conftest import find
from mlplatform.components.prometheus_crds import objects as prometheus_crds
from mlplatform.kit import versions
from mlplatform.kit.component import UpstreamManifests

GROUP = "monitoring.coreos.com"


def test_the_source_is_the_pinned_release_with_every_file_verified(envs):
    for env in envs.values():
        assert prometheus_crds.upstream(env) == UpstreamManifests(source="prometheus-operator-crds", namespace=None)
    m = versions.MANIFESTS["prometheus-operator-crds"]
    assert m.revision.startswith("v") and m.server_side_apply
    assert len(m.files) == len(m.provides_crds) and all(sha for _, sha in m.files)


def test_the_application_syncs_first_and_server_side(rendered):
    for name, r in rendered.items():
        app = find(r.components["argocd-apps"], "Application", f"{name}-prometheus-crds")
        m = versions.MANIFESTS["prometheus-operator-crds"]
        src = app["spec"]["source"]
        assert (src["repoURL"], src["targetRevision"], src["path"]) == (m.repo_url, m.revision, m.path)
        assert "namespace" not in app["spec"]["destination"], "CRDs are cluster-scoped"
        assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"], "six CRDs exceed the apply annotation"
        users = ("gpu-operator", "karpenter", "monitoring", "prometheus-rules", "kuberay")
        assert all(r.waves["prometheus-crds"] < r.waves[c] for c in users if c in r.waves), r.waves


def test_every_monitoring_kind_we_emit_is_served_by_these_crds(rendered):
    for name, r in rendered.items():
        emitted = Counter(o["kind"] for objs in r.components.values() for o in objs
                          if o.get("apiVersion", "").startswith(GROUP + "/"))
        assert {"ServiceMonitor", "PodMonitor", "PrometheusRule"} <= set(emitted), (name, emitted)
        for kind in emitted:
            assert r.renders.crd_origin[(GROUP, kind)] == "prometheus-crds", (name, kind)
            crd = r.renders.crds[(GROUP, kind)]
            served = {v["name"] for v in crd["spec"]["versions"] if v.get("served")}
            assert versions.crd(kind).version in served, (name, kind)
