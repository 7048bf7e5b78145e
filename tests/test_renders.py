"""Everything Argo CD applies is seen before merge: the pinned helm, locked chart archives, renders
as Argo CD makes them (cached), validated, admitted like the cluster, snapshotted for review and
guarded. Each check is shown to catch a planted case."""
import copy
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, find
from mlplatform.components import APPS_FOLDER
from mlplatform.guard import guard_trees
from mlplatform.config.guard import GuardConfig
from mlplatform.kit import helm, helm_template, upstream, versions
from mlplatform.plan import render
from mlplatform.renders import MASK, UNSEEN, api_versions, snapshot, snapshot_files
from mlplatform.review import load_tree, with_renders
from mlplatform.validate import admission, validate


def _docs(r, comp, kind, name):
    hits = [d for d in r.renders.docs[comp] if d.obj["kind"] == kind and d.obj["metadata"]["name"] == name]
    assert len(hits) == 1, (comp, kind, name, len(hits))
    return hits[0]


def _copy(r):
    """A render whose chart objects can be planted on without touching the session's."""
    r2 = copy.copy(r)
    r2.renders = copy.copy(r.renders)
    r2.renders.docs = {c: [copy.deepcopy(d) for d in docs] for c, docs in r.renders.docs.items()}
    r2.renders.keys = {}  # planted documents are no longer what the render's key stands for
    r2.bootstrap = copy.deepcopy(r.bootstrap)
    return r2


# --- the renderer ------------------------------------------------------------------------------

def test_helm_is_the_pinned_binary_from_the_registry_package():
    tool = versions.TOOLS["helm"]
    out = subprocess.run([helm.helm_binary(), "version", "--template", "{{.Version}}"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == tool.version == "v4.1.4"
    assert ("tool", "helm", "v4.1.4", f"pypi:{tool.package}=={tool.package_version}//helm/helm") in versions.bom_rows()


def test_every_chart_a_component_uses_is_locked_at_its_pinned_version(rendered):
    used = {rel.chart for r in rendered.values() for rel in r.helm.values()}
    lock = helm.lock()
    assert used <= set(lock), used - set(lock)
    for chart, entry in lock.items():
        assert entry.version == versions.CHARTS[chart].version, chart
        assert entry.digests.get("mirror"), chart


def test_a_tampered_or_missing_archive_is_refused_with_chart_version_and_source(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    c = versions.CHARTS["volcano"]
    dest = mirror / "volcano" / c.version
    dest.mkdir(parents=True)
    (dest / f"volcano-{c.version}.tgz").write_bytes(b"not the chart")
    monkeypatch.setenv("CHART_MIRROR", str(mirror))
    monkeypatch.setattr(helm, "ARCHIVES", tmp_path / "cache")
    with pytest.raises(helm.HelmError, match=r"chart volcano 1\.15\.1 from mirror .*differs from the locked"):
        helm.fetch_chart("volcano")
    assert not helm.archive_path("volcano").exists()
    with pytest.raises(helm.HelmError, match=r"chart karpenter 1\.14\.1: not in the chart mirror"):
        helm.fetch_chart("karpenter")


def test_a_source_without_a_verified_digest_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("CHART_MIRROR", raising=False)
    monkeypatch.setattr(helm, "chart_mirror", lambda: None)
    monkeypatch.setattr(helm, "ARCHIVES", tmp_path / "cache")
    archive = ROOT / "imports" / "upstream" / "chart-archives" / "volcano" / "1.15.1" / "volcano-1.15.1.tgz"
    monkeypatch.setattr(helm, "_pull_from_repo", lambda chart, d: archive.read_bytes())
    with pytest.raises(helm.HelmError, match="records no verified digest for this source"):
        helm.fetch_chart("volcano")  # the repo's published archive was never verified: no trust on first use


def test_values_and_schemas_come_from_the_archive():
    assert upstream.chart_values("volcano")["custom"]["default_csc"]["capabilities"]["add"] == ["DAC_OVERRIDE"]
    assert upstream.chart_values_schema("jupyterhub")["type"] == "object"
    assert upstream.chart_values_schema("volcano") is None


def test_renders_are_cached_by_everything_that_shapes_them(envs, monkeypatch, tmp_path):
    monkeypatch.setattr(helm, "RENDER_CACHE", tmp_path / "cache")
    env = envs["dev"]
    rel = render(env, with_renders=False).helm["external-dns"]
    req = helm_template.RenderRequest(rel.chart, rel.release, rel.namespace, json.loads(json.dumps(rel.values)),
                                      "1.34", ("v1", "apps/v1"))
    before = dict(helm_template.STATS)
    (a,) = helm_template.render_many([req])
    (b,) = helm_template.render_many([req])
    assert helm_template.STATS["misses"] - before["misses"] == 1 and helm_template.STATS["hits"] - before["hits"] == 1
    assert [d.obj for d in a] == [d.obj for d in b]
    changed = helm_template.RenderRequest(req.chart, req.release, req.namespace,
                                          {**req.values, "podLabels": {"planted": "yes"}},
                                          req.kube_version, req.api_versions)
    assert len({req.key(), changed.key(),
                helm_template.RenderRequest(*[getattr(req, f) for f in ("chart", "release", "namespace", "values")],
                                            "1.33", req.api_versions).key()}) == 3
    (c,) = helm_template.render_many([changed])
    assert find([d.obj for d in c], "Deployment", "external-dns")["spec"]["template"]["metadata"]["labels"]["planted"] == "yes"


def test_renders_pass_the_env_minor_and_the_crds_the_env_installs(rendered):
    r = rendered["dev"]
    apis = set(api_versions(r.env.kubernetes_version, r.renders))
    assert {"monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor", "apps/v1/Deployment",
            "scheduling.volcano.sh/v1beta1/Queue", "nvidia.com/v1/ClusterPolicy"} <= apis
    # charts branch on .Capabilities: kube-prometheus-stack saw the ServiceMonitor API and rendered monitors
    assert any(d.obj["kind"] == "ServiceMonitor" for d in r.renders.docs["monitoring"])


def test_every_helm_application_is_rendered_and_counted(rendered):
    for name, r in rendered.items():
        apps = [a for a in r.components[APPS_FOLDER] if any(s.get("chart") for s in
                ([a["spec"]["source"]] if "source" in a["spec"] else a["spec"]["sources"]))]
        charted = {a["metadata"]["labels"]["platform.mlops.io/component"] for a in apps}
        assert charted <= set(r.renders.docs) and all(r.renders.docs[c] for c in charted), name
        assert sum(len(d) for d in r.renders.docs.values()) > 350, name


def test_unseen_upstream_files_are_listed_with_a_reason_and_not_stale(rendered):
    unseen = {url for m in versions.MANIFESTS.values() for url, sha in m.files if sha is None}
    assert unseen == set(UNSEEN), "renders.UNSEEN must list exactly the upstream files we cannot load"
    assert all(len(why) > 40 for why in UNSEEN.values())


# --- validation and admission: planted cases ---------------------------------------------------

def test_committed_envs_admit_cleanly(rendered):
    for name, r in rendered.items():
        assert admission.check(r) == [], name


def test_a_chart_value_that_breaks_restricted_pod_security_is_caught(envs):
    """The bug this issue found: Volcano's chart default adds DAC_OVERRIDE, which `restricted`
    refuses. Our values remove it; without them every Volcano pod and the PreSync hook is rejected."""
    from mlplatform.components import COMPONENTS
    from mlplatform.components.volcano import objects as volcano
    from mlplatform.kit.component import Component
    env = envs["dev"]

    def chart_defaults(e):
        rel = volcano.helm(e)
        values = copy.deepcopy(rel.values)
        values["custom"].pop("default_csc")
        return type(rel)(**{**rel.__dict__, "values": values})

    comps = tuple(Component(c.name, c.description, c.build, helm=chart_defaults, upstream=c.upstream, prune=c.prune)
                  if c.name == "volcano" else c for c in COMPONENTS)
    problems = [p for p in validate(render(env, comps)) if "pod-security" in p]
    assert any(p.startswith("dev/volcano/Deployment/volcano-scheduler: [volcano/templates/scheduler.yaml] pod-security: ")
               and "adds capability DAC_OVERRIDE" in p and "enforce=restricted" in p for p in problems), problems
    assert any(p.startswith("dev/volcano/Job/volcano-admission-init:") and "the hook never completes" in p
               for p in problems), problems


def test_a_cluster_scoped_chart_kind_missing_from_the_whitelist_is_caught(rendered):
    """The other wave-1 blocker: the GPU operator's ClusterPolicy must be whitelisted (computed from
    the render); a project without it makes Argo CD refuse the whole gpu-operator sync."""
    r = _copy(rendered["dev"])
    project = find(r.bootstrap, "AppProject", r.env.project)
    wl = project["spec"]["clusterResourceWhitelist"]
    assert {"group": "nvidia.com", "kind": "ClusterPolicy"} in wl
    wl.remove({"group": "nvidia.com", "kind": "ClusterPolicy"})
    (p,) = admission.check_app_project(r)
    assert p.startswith("dev/gpu-operator/ClusterPolicy/cluster-policy: [gpu-operator/templates/clusterpolicy.yaml] "
                        "app-project: cluster-scoped ClusterPolicy.nvidia.com is not in AppProject")
    assert "refuses the whole dev-gpu-operator sync" in p


def test_the_whitelist_holds_exactly_the_cluster_scoped_kinds_applied(rendered):
    for r in rendered.values():
        project = find(r.bootstrap, "AppProject", r.env.project)
        wl = {(g["group"], g["kind"]) for g in project["spec"]["clusterResourceWhitelist"]}
        applied = set()
        for comp, o, _ in admission._union(r):
            if admission.namespaced(r.renders, o) is False or (o["kind"] in ("Namespace", "ClusterRole")):
                applied.add((o["apiVersion"].rpartition("/")[0], o["kind"]))
        assert wl == applied, (r.env.name, wl ^ applied)


def test_a_service_selecting_nothing_is_caught(rendered):
    r = _copy(rendered["dev"])
    svc = _docs(r, "volcano", "Service", "volcano-admission-service").obj
    svc["spec"]["selector"] = {"app": "volcano-admission-typo"}
    problems = admission.check_references(r)
    assert any(p.startswith("dev/volcano/Service/volcano-admission-service: [volcano/templates/admission.yaml] "
                            "reference: spec.selector") and "selects no pods" in p for p in problems), problems
    # ... and the webhooks behind it now point at a Service without endpoints is the cluster's problem,
    # not a dangling reference: the Service exists


def test_a_secret_key_no_external_secret_provides_is_caught(rendered):
    r = _copy(rendered["dev"])
    dep = _docs(r, "airflow", "Deployment", "airflow-scheduler").obj
    dep["spec"]["template"]["spec"]["containers"][0].setdefault("env", []).append(
        {"name": "PLANTED", "valueFrom": {"secretKeyRef": {"name": "airflow-keys", "key": "no-such-key"}}})
    problems = admission.check_references(r)
    assert any(p.startswith("dev/airflow/Deployment/airflow-scheduler: [airflow/templates/scheduler/scheduler-deployment.yaml]")
               and 'has no key "no-such-key"' in p for p in problems), problems


def test_a_runtime_no_team_quota_holds_is_caught(rendered):
    r = copy.copy(rendered["staging"])
    r.components = dict(r.components)
    objs = [copy.deepcopy(o) for o in r.components["kubeflow-trainer"]]
    rt = next(o for o in objs if o["kind"] == "TrainingRuntime" and o["metadata"]["name"] == "torch-distributed-4gpu")
    rt["metadata"]["namespace"] = "team-vision"  # a team whose quota holds 2 GPUs
    r.components["kubeflow-trainer"] = objs
    p, none = admission.check_quota(r)
    assert p.startswith("staging/kubeflow-trainer/TrainingRuntime/torch-distributed-4gpu: quota: ")
    assert "requests.nvidia.com/gpu 4 > 2" in p and "limits.memory 160Gi > 128Gi" in p
    assert "no team that may use this runtime has the quota for it (team-vision)" in none


def test_a_cluster_runtime_beyond_some_gpu_teams_quotas_is_caught(rendered):
    """What staging had before runtimes took `teams`: a 4-GPU ClusterTrainingRuntime offered to every
    team, two of which have GPU quota but only 2 GPUs and 128Gi. (Teams without GPU quota are not a
    GPU runtime's audience and are not reported.)"""
    r = copy.copy(rendered["staging"])
    r.components = dict(r.components)
    objs = [copy.deepcopy(o) for o in r.components["kubeflow-trainer"]]
    rt = next(o for o in objs if o["kind"] == "TrainingRuntime")
    rt["kind"] = "ClusterTrainingRuntime"
    rt["metadata"].pop("namespace")
    r.components["kubeflow-trainer"] = objs
    problems = admission.check_quota(r)
    assert sorted(p.split("ResourceQuota ")[1].split(":")[0] for p in problems) == [
        "team-research/team-research-quota", "team-vision/team-vision-quota"]


def test_an_invalid_chart_object_names_its_template(rendered):
    from mlplatform.validate import core, rendered as rv
    r = _copy(rendered["dev"])
    _docs(r, "volcano", "Deployment", "volcano-scheduler").obj["spec"]["replicaz"] = 1
    seen: dict = {}
    problems = rv.check("dev", core.schemas(r.env.kubernetes_version), r.renders, {"volcano-system"}, seen)
    assert ("dev/volcano/Deployment/volcano-scheduler: [volcano/templates/scheduler.yaml] spec: Additional "
            "properties are not allowed ('replicaz' was unexpected)") in problems


def test_a_chart_kind_nothing_serves_is_an_error(rendered):
    from mlplatform.validate import core, rendered as rv
    r = _copy(rendered["dev"])
    r.renders.docs["volcano"].append(type(r.renders.docs["volcano"][0])(
        "volcano/templates/planted.yaml", {"apiVersion": "example.com/v1", "kind": "Widget",
                                          "metadata": {"name": "w", "namespace": "volcano-system"}}))
    problems = rv.check("dev", core.schemas(r.env.kubernetes_version), r.renders, {"volcano-system"}, {})
    assert any(p.startswith("dev/volcano/Widget/w: [volcano/templates/planted.yaml] unknown kind Widget") for p in problems)


# --- snapshots: reviewable, stable, never applied ----------------------------------------------

def test_snapshots_mask_secret_material_and_summarize_crds(rendered):
    r = rendered["dev"]
    hub = snapshot(_docs(r, "jupyterhub", "Secret", "hub").obj)
    assert hub["data"] and set(hub["data"].values()) == {MASK}
    hook = snapshot(_docs(r, "aws-load-balancer-controller", "MutatingWebhookConfiguration",
                          "aws-load-balancer-webhook").obj)
    assert {w["clientConfig"]["caBundle"] for w in hook["webhooks"]} == {MASK}
    crd = snapshot(next(d.obj for d in r.renders.docs["kuberay"] if d.obj["kind"] == "CustomResourceDefinition"))
    assert "openAPIV3Schema" not in json.dumps(crd)
    assert all(set(v) >= {"name", "served", "storage", "schemaSha256"} for v in crd["spec"]["versions"])


def test_snapshots_are_byte_stable_across_fresh_renders(envs, monkeypatch, tmp_path):
    """Charts generate certificates and tokens on every render; two cold renders of staging still
    give the same snapshot bytes."""
    env = envs["staging"]
    out = []
    for i in range(2):
        monkeypatch.setattr(helm, "RENDER_CACHE", tmp_path / f"cache{i}")
        monkeypatch.setattr(helm, "_CHUNKS", {})
        out.append(snapshot_files(render(env).renders))
    assert out[0] == out[1]


def test_committed_snapshots_are_current_and_nothing_applies_them(rendered):
    for name, r in rendered.items():
        files = snapshot_files(r.renders)
        root = ROOT / "rendered" / name
        on_disk = {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in root.rglob("*.yaml")}
        assert on_disk == files, f"rendered/{name} is stale: run `python app.py synth`"
        for app in r.components[APPS_FOLDER] + r.bootstrap:
            spec = app.get("spec") or {}
            for s in ([spec["source"]] if spec.get("source") else []) + list(spec.get("sources") or []):
                assert not str(s.get("path", "")).startswith("rendered"), app["metadata"]["name"]
                assert str(s.get("path", "dist/")).startswith("dist/") or s.get("chart") or \
                    s.get("repoURL") != r.env.gitops.repo_url


def test_guard_catches_a_chart_bump_that_changes_an_immutable_field():
    dist, ren = load_tree(ROOT / "dist"), load_tree(ROOT / "rendered")
    old = with_renders({"dev": dist["dev"]}, {"dev": ren["dev"]})
    new = copy.deepcopy(old)
    dep = new["dev"]["volcano"]["Deployment/volcano-system/volcano-scheduler"]
    dep["spec"]["selector"]["matchLabels"]["app"] = "volcano-scheduler-v2"
    dep["spec"]["template"]["metadata"]["labels"]["app"] = "volcano-scheduler-v2"
    res = guard_trees(old, new, {"dev": GuardConfig()})
    lines = [f.line() for f in res.refused]
    assert any(x.startswith("dev/volcano/Deployment/volcano-system/volcano-scheduler: spec.selector.matchLabels.app:")
               and "immutable" in x for x in lines), lines


def test_guard_catches_a_crd_version_a_chart_stops_serving():
    dist, ren = load_tree(ROOT / "dist"), load_tree(ROOT / "rendered")
    old = with_renders({"dev": dist["dev"]}, {"dev": ren["dev"]})
    new = copy.deepcopy(old)
    crd = new["dev"]["kuberay"]["CustomResourceDefinition/rayclusters.ray.io"]
    crd["spec"]["versions"] = [v for v in crd["spec"]["versions"] if v["name"] != "v1"]
    lines = [f.line() for f in guard_trees(old, new, {"dev": GuardConfig()}).refused]
    assert any("CustomResourceDefinition/rayclusters.ray.io: spec.versions[v1]" in x and "storage version" in x
               for x in lines), lines


def test_pods_a_controller_creates_from_a_configmap_template_are_admitted(rendered):
    """Airflow's KubernetesExecutor starts every task pod from the chart's `pod_template_file`:
    those pods are judged like ours (Pod Security of the namespace, the Secrets they read)."""
    r = _copy(rendered["dev"])
    (comp, pod, what), = admission.embedded_pods(r)
    assert comp == "airflow" and pod["metadata"]["namespace"] == "airflow" and "pod_template_file" in what
    cm = _docs(r, "airflow", "ConfigMap", "airflow-config").obj
    text = cm["data"]["pod_template_file.yaml"]
    assert "allowPrivilegeEscalation: false" in text and "key: fernet-key" in text
    cm["data"]["pod_template_file.yaml"] = (text.replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")
                                            .replace("key: fernet-key", "key: fernet"))
    problems = admission.check(r)
    assert any("pod_template_file.yaml" in p and "allowPrivilegeEscalation" in p and "enforce=restricted" in p
               for p in problems), problems
    assert any(p.startswith("dev/airflow/Pod/placeholder-name: [ConfigMap/airflow-config key pod_template_file.yaml")
               and 'Secret "airflow-keys" has no key "fernet"' in p for p in problems), problems


def test_a_network_policy_that_selects_no_pod_is_caught(rendered):
    """A platform namespace's allow rule for pods that don't exist (a guessed label) admits nothing:
    the UI behind the ALB stays unreachable. Operator-made pods (Keycloak's server) count."""
    r = copy.copy(rendered["dev"])
    r.components = dict(r.components)
    objs = [copy.deepcopy(o) for o in r.components["namespaces"]]
    pol = next(o for o in objs if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "keycloak-allow-alb-keycloak")
    assert admission.check_network_policies(r) == []
    pol["spec"]["podSelector"] = {"matchLabels": {"app": "keycloak-server"}}
    r.components["namespaces"] = objs
    (p,) = admission.check_network_policies(r)
    assert p.startswith("dev/namespaces/NetworkPolicy/keycloak-allow-alb-keycloak: network-policy: spec.podSelector "
                        "selects no pod in keycloak")


def test_argocd_specifics_too_large_for_client_side_apply_and_crd_after_its_resources(rendered):
    r = copy.copy(rendered["dev"])
    r.components = dict(r.components)
    big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big", "namespace": "mlflow"},
           "data": {"blob": "x" * 300_000}}
    r.components["mlflow"] = [*r.components["mlflow"], big]
    (p,) = admission.check_argocd(r)
    assert p.startswith("dev/mlflow/ConfigMap/big: argocd: ") and "does not use ServerSideApply=true" in p
    # a custom resource whose CRD's Application syncs in a later wave never gets created in time
    r = copy.copy(rendered["dev"])
    r.waves = {**r.waves, "prometheus-crds": 9}
    problems = admission.check_argocd(r)
    assert any(p.startswith("dev/vllm/ServiceMonitor/") and "its CRD comes with dev-prometheus-crds in wave 9" in p
               for p in problems), problems


def test_only_enabled_subcharts_install_their_crds(rendered):
    """Helm's dependency conditions: Trainer's lws subchart is off in our values (dataCache.enabled:
    false), so its crds/ are not installed -- nor advertised to other charts as an API the cluster has."""
    from mlplatform.renders import crds_installed
    rel = rendered["dev"].helm["kubeflow-trainer"]
    kinds = {d["spec"]["names"]["kind"] for d in crds_installed(rel)}
    assert "JobSet" in kinds and "LeaderWorkerSet" not in kinds
    assert ("leaderworkerset.x-k8s.io", "LeaderWorkerSet") not in rendered["dev"].renders.crds
    on = type(rel)(**{**rel.__dict__, "values": {**rel.values, "dataCache": {"enabled": True, "lws": {"install": True}}}})
    assert "LeaderWorkerSet" in {d["spec"]["names"]["kind"] for d in crds_installed(on)}
