"""Argo CD wiring: app-of-apps, computed sync waves, sync options, project whitelist."""
import yaml

from conftest import ROOT, find
from mlplatform.components import APPS_FOLDER, COMPONENTS
from mlplatform.kit import argocd
from mlplatform.kit.component import Component, HelmRelease
from mlplatform.kit.meta import SYNC_OPTIONS, SYNC_WAVE, metadata
from mlplatform.plan import render
from mlplatform.validate import validate
from mlplatform.validate.charts import check_values


def test_every_component_is_an_automated_application(rendered):
    for name, r in rendered.items():
        apps = r.components[APPS_FOLDER]
        comps = sorted({c for c in r.components if c != APPS_FOLDER} | set(r.helm) | set(r.upstream))
        assert sorted(a["metadata"]["name"] for a in apps) == [f"{name}-{c}" for c in comps]
        by_name = {c.name: c for c in COMPONENTS}
        for app in apps:
            spec = app["spec"]
            comp = app["metadata"]["name"][len(name) + 1:]
            ours = {"repoURL": r.env.gitops.repo_url, "targetRevision": r.env.gitops.revision,
                    "path": f"dist/{name}/{comp}"}
            if comp in r.helm or comp in r.upstream:
                if comp in r.components:  # chart/manifests + our objects: one Application, two sources
                    assert "source" not in spec and spec["sources"][1] == ours
                    first = spec["sources"][0]
                else:
                    assert "sources" not in spec
                    first = spec["source"]
                if comp in r.helm:  # a pinned chart with typed values
                    rel = r.helm[comp]
                    assert first["chart"] == rel.chart and first["helm"]["valuesObject"] == rel.values
                    assert spec["destination"]["namespace"] == rel.namespace
                else:  # pinned upstream manifests at a release tag
                    assert first["directory"]["include"] and not first["targetRevision"].startswith("main")
            else:
                assert spec["source"]["path"] == f"dist/{name}/{comp}"
                assert (ROOT / spec["source"]["path"]).is_dir()
            assert spec["syncPolicy"]["automated"] == {"prune": by_name[comp].prune, "selfHeal": True}
            assert spec["syncPolicy"]["retry"]["limit"] == r.env.gitops.retry.limit
            assert spec["project"] == r.env.project
            assert app["metadata"]["annotations"][SYNC_WAVE] == str(r.waves[comp])
            assert "resources-finalizer.argocd.argoproj.io" in app["metadata"]["finalizers"]


def test_root_app_and_project(rendered):
    for name, r in rendered.items():
        project = find(r.bootstrap, "AppProject", f"ml-platform-{name}")
        root = find(r.bootstrap, "Application", f"{name}-root")
        assert root["spec"]["source"]["path"] == f"dist/{name}/{APPS_FOLDER}"
        wl = project["spec"]["clusterResourceWhitelist"]
        assert {"group": "", "kind": "Namespace"} in wl
        assert all(e["kind"] != "*" and e["group"] != "*" for e in wl)
        dests = {d["namespace"] for d in project["spec"]["destinations"]}
        used = {o["metadata"].get("namespace") for objs in r.components.values() for o in objs} - {None}
        assert used <= dests and "*" not in dests
        from mlplatform.kit import versions
        assert project["spec"]["sourceRepos"] == sorted(
            {r.env.gitops.repo_url} | {versions.CHARTS[h.chart].repo_url for h in r.helm.values()}
            | {versions.MANIFESTS[u.source].repo_url for u in r.upstream.values()})


def test_application_health_check_is_part_of_bootstrap(rendered):
    for name in rendered:
        values = yaml.safe_load((ROOT / "argocd" / name / "argo-cd.values.yaml").read_text())
        lua = values["configs"]["cm"]["resource.customizations.health.argoproj.io_Application"]
        assert "obj.status.health" in lua and "Synced" in lua
        assert check_values("argo-cd", values) == []


# The registry without the components the tests below stand in for with fakes.
_FAKED = ("volcano", "kubeflow-trainer", "kuberay")
BASE = tuple(c for c in COMPONENTS if c.name not in _FAKED)


def _queue(env):
    return {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "Queue",
            "metadata": metadata("research", component="queues", env=env), "spec": {"weight": 1}}


def _team_queues(env):
    """Stand-in queues with the names team namespaces point at (`team-<team>`)."""
    out = []
    for t in env.teams:
        q = _queue(env.name)
        q["metadata"]["name"] = env.team_namespace(t)
        out.append(q)
    return out


def test_waves_and_dry_run_come_from_the_objects(envs):
    env = envs["dev"]
    comps = BASE + (
        Component("volcano", "scheduler", lambda e: [],
                  helm=lambda e: HelmRelease("volcano", "volcano", "volcano-system", {})),
        Component("queues", "team queues", lambda e: _team_queues(e)),
        Component("kuberay", "operator", lambda e: [],
                  helm=lambda e: HelmRelease("kuberay-operator", "kuberay-operator", "kuberay-system",
                                             {"batchScheduler": {"name": "volcano"}})),
    )
    r = render(env, comps, with_renders=False)  # waves only: charts with bare values are not the point
    assert r.problems == [] and validate(r) == []
    assert {k: r.waves[k] for k in ("namespaces", "volcano", "kuberay", "queues")} == {
        "namespaces": 0, "volcano": 1, "kuberay": 1, "queues": 2}
    for queue in r.components["queues"]:
        assert queue["metadata"]["annotations"][SYNC_OPTIONS] == "SkipDryRunOnMissingResource=true"
    apps = {a["metadata"]["name"]: a for a in r.components[APPS_FOLDER]}
    assert "ServerSideApply=true" in apps["dev-kuberay"]["spec"]["syncPolicy"]["syncOptions"]
    assert "ServerSideApply=true" not in apps["dev-volcano"]["spec"]["syncPolicy"]["syncOptions"]
    helm = apps["dev-kuberay"]["spec"]["source"]
    assert helm["chart"] == "kuberay-operator" and helm["targetRevision"] == "1.7.0"
    assert helm["helm"]["valuesObject"] == {"batchScheduler": {"name": "volcano"}}
    project = find(r.bootstrap, "AppProject", "ml-platform-dev")
    assert "https://ray-project.github.io/kuberay-helm/" in project["spec"]["sourceRepos"]
    assert {"group": "scheduling.volcano.sh", "kind": "Queue"} in project["spec"]["clusterResourceWhitelist"]


def test_custom_resource_without_its_crd_provider_is_an_error(envs):
    r = render(envs["dev"], BASE + (Component("queues", "team queues", lambda e: [_queue(e.name)]),))
    assert r.problems == ["dev/queues/Queue/research: no component in this env installs the CRD for "
                          "Queue.scheduling.volcano.sh"]


def test_dependency_cycle_is_an_error(envs):
    def ns(name, other):
        return lambda e: [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata(name, component=name, env=e.name)},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata("c", component=name, env=e.name,
                                                                            namespace=other)}]
    r = render(envs["dev"], (Component("a", "", ns("a", "b")), Component("b", "", ns("b", "a"))))
    assert r.problems == ["dev: dependency cycle between components: a -> b -> a"]


def test_helm_values_are_checked_against_the_pinned_chart():
    assert check_values("external-dns", {"provider": {"name": "aws"}, "txtOwnerId": "ml-dev"}) == []
    assert check_values("external-dns", {"txtOwnerID": "ml-dev"}) != []  # schema: wrong key
    assert check_values("jupyterhub", {"hub": {"notAKey": 1}})  # strict schema
    assert check_values("volcano", {"basic": {"image_tag_version": "v1.15.1"}}) == []  # no schema: defaults
    assert check_values("volcano", {"basic": {"image_tag_verison": "v1.15.1"}}) == [
        "basic.image_tag_verison: not a value of this chart (no such key in its default values.yaml)"]


def test_typed_argocd_models_reject_unknown_fields():
    import pytest
    from pydantic import ValidationError
    with pytest.raises(ValidationError):
        argocd.Automated(prune=True, self_heel=True)


def test_chart_plus_own_objects_is_one_application_with_two_sources(envs):
    env = envs["dev"]
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": metadata("extra", component="volcano", env="dev", namespace="volcano-system"), "data": {"a": "b"}}
    comps = BASE + (Component("volcano", "scheduler", lambda e: [cm],
                              helm=lambda e: HelmRelease("volcano", "volcano", "volcano-system", {})),
                    Component("queues", "team queues", lambda e: _team_queues(e)))
    r = render(env, comps, with_renders=False)
    assert r.problems == [] and validate(r) == []
    app = find(r.components[APPS_FOLDER], "Application", "dev-volcano")
    first, second = app["spec"]["sources"]
    assert first["chart"] == "volcano" and second["path"] == "dist/dev/volcano"
    assert "source" not in app["spec"]
