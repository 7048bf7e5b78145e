"""Destructive-change guard: each rule fires on real dist/ objects with a line naming env,
component, object and field; harmless changes pass; the prune limit, the allow-list (reason
required, stale entries reported), moves between Applications and the CLI exit codes."""
import copy
import re
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT
from mlplatform.cli import main
from mlplatform.commands.gate import guard_against_ref
from mlplatform.config.guard import AllowedChange, GuardConfig
from mlplatform.config.loader import EnvError
from mlplatform.guard import guard_trees, load_configs
from mlplatform.kit import yamltext
from mlplatform.review import load_tree

LINE = re.compile(r"^dev/[a-z0-9-]+/[A-Z][A-Za-z]+/([a-z0-9.-]+/)?[a-z0-9.-]+: \S[^:]*: .+ -> .+: .+$")


@pytest.fixture(scope="session")
def dev_tree():
    """dist/dev as committed, loaded once (tests deep-copy it)."""
    tree = load_tree(ROOT / "dist")
    assert "dev" in tree, "dist/dev is missing: run `python app.py synth`"
    return {"dev": tree["dev"]}


@pytest.fixture
def old(dev_tree):
    return copy.deepcopy(dev_tree)


@pytest.fixture
def new(dev_tree):
    return copy.deepcopy(dev_tree)


def obj(tree, comp, key):
    return tree["dev"][comp][key]


def run(old, new, cfg=None):
    return guard_trees(old, new, {"dev": cfg or GuardConfig()})


def refused(old, new, cfg=None):
    res = run(old, new, cfg)
    lines = [f.line() for f in res.refused]
    for line in lines:
        assert LINE.match(line) or line.startswith("dev: prune: "), line
    return lines


def one(lines, start):
    hits = [x for x in lines if x.startswith(start)]
    assert len(hits) == 1, f"{start!r} in {lines}"
    return hits[0]


# ---------------------------------------------------------------------------------------------
# harmless changes pass


def test_unchanged_and_harmless_changes_pass(old, new):
    assert refused(old, new) == []
    dep = obj(new, "mlflow", "Deployment/mlflow/mlflow")
    dep["spec"]["replicas"] = 3
    c = dep["spec"]["template"]["spec"]["containers"][0]
    c["image"] = c["image"].rsplit(":", 1)[0] + ":9.9.9"
    dep["spec"]["template"]["metadata"]["labels"]["platform.mlops.io/extra"] = "yes"  # not in the selector
    dep["metadata"]["labels"]["tier"] = "web"
    obj(new, "mlflow", "Service/mlflow/mlflow")["spec"]["ports"][0]["port"] = 8080
    gp3_claim = copy.deepcopy(obj(new, "storage", "PersistentVolumeClaim/airflow/efs-shared-airflow"))
    pvc = obj(new, "storage", "PersistentVolumeClaim/jupyterhub/efs-shared-jupyterhub")
    pv = obj(new, "storage", "PersistentVolume/efs-shared-jupyterhub")
    pv["spec"]["capacity"]["storage"] = "50Gi"
    pv["spec"]["mountOptions"] = ["tls", "iam"]
    obj(new, "storage", "StorageClass/gp3")["allowVolumeExpansion"] = True
    assert pvc["spec"]["storageClassName"] == "efs-sc"
    job = obj(new, "keycloak", "Job/keycloak/keycloak-realm-sync")  # Force=true,Replace=true: recreated on change
    assert "Replace=true" in job["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
    job["spec"]["template"]["metadata"]["annotations"]["platform.mlops.io/realm-sha256"] = "0" * 64
    # a gp3 claim may grow: the class allows expansion
    gp3_claim["metadata"]["name"] = gp3_claim["spec"]["volumeName"] = "grows"
    gp3_claim["spec"]["storageClassName"] = "gp3"
    old["dev"]["storage"]["PersistentVolumeClaim/airflow/grows"] = copy.deepcopy(gp3_claim)
    gp3_claim["spec"]["resources"]["requests"]["storage"] = "500Gi"
    new["dev"]["storage"]["PersistentVolumeClaim/airflow/grows"] = gp3_claim
    # adding objects is never destructive
    new["dev"]["mlflow"]["ConfigMap/mlflow/extra"] = {"apiVersion": "v1", "kind": "ConfigMap",
                                                       "metadata": {"name": "extra", "namespace": "mlflow"}}
    res = run(old, new)
    assert res.refused == [] and res.allowed == [] and res.stale == []
    assert res.report()[-1] == "guard: ok: nothing destructive in dist/ (envs: dev)"


# ---------------------------------------------------------------------------------------------
# immutable fields


def test_deployment_selector_change_is_refused(old, new):
    dep = obj(new, "mlflow", "Deployment/mlflow/mlflow")
    dep["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "tracking"
    dep["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] = "tracking"
    lines = refused(old, new)
    assert lines == ["dev/mlflow/Deployment/mlflow/mlflow: spec.selector.matchLabels.app.kubernetes.io/name: "
                     "'mlflow' -> 'tracking': immutable: the API server refuses the update and the sync fails "
                     "until the object is deleted and recreated (every pod replaced at once); or give it a new "
                     "name, or let Argo CD recreate it with sync-options Force=true,Replace=true"]


def _statefulset(**spec):
    base = {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "mlflow"},
            "spec": {"replicas": 1, "serviceName": "db", "podManagementPolicy": "OrderedReady",
                     "selector": {"matchLabels": {"app": "db"}},
                     "template": {"metadata": {"labels": {"app": "db"}},
                                  "spec": {"containers": [{"name": "db", "image": "postgres:16.4"}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                         "resources": {"requests": {"storage": "10Gi"}}}}]}}
    base["spec"].update(spec)
    return base


def test_statefulset_and_daemonset_immutable_fields(old, new):
    old["dev"]["mlflow"]["StatefulSet/mlflow/db"] = _statefulset()
    sts = _statefulset(serviceName="db-headless", podManagementPolicy="Parallel", replicas=3)
    sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "20Gi"
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = "postgres:16.5"  # in place: fine
    new["dev"]["mlflow"]["StatefulSet/mlflow/db"] = sts
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "mlflow"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}}}}
    old["dev"]["mlflow"]["DaemonSet/mlflow/agent"] = ds
    ds2 = copy.deepcopy(ds)
    ds2["spec"]["selector"]["matchLabels"]["app"] = "node-agent"
    new["dev"]["mlflow"]["DaemonSet/mlflow/agent"] = ds2
    lines = refused(old, new)
    assert len(lines) == 4, lines
    assert one(lines, "dev/mlflow/StatefulSet/mlflow/db: spec.serviceName: 'db' -> 'db-headless': immutable on a "
                      "StatefulSet")
    assert one(lines, "dev/mlflow/StatefulSet/mlflow/db: spec.podManagementPolicy: 'OrderedReady' -> 'Parallel': ")
    vct = one(lines, "dev/mlflow/StatefulSet/mlflow/db: spec.volumeClaimTemplates[0].spec.resources.requests.storage: "
                     "'10Gi' -> '20Gi': volumeClaimTemplates are immutable")
    assert "existing claims would not follow" in vct
    assert one(lines, "dev/mlflow/DaemonSet/mlflow/agent: spec.selector.matchLabels.app: 'agent' -> 'node-agent': "
                      "immutable")


def test_job_template_is_immutable_unless_argo_recreates_it(old, new):
    for tree in (old, new):  # the same Job without Force=true,Replace=true
        del obj(tree, "keycloak", "Job/keycloak/keycloak-realm-sync")["metadata"]["annotations"]
    tpl = obj(new, "keycloak", "Job/keycloak/keycloak-realm-sync")["spec"]["template"]
    tpl["metadata"]["annotations"]["platform.mlops.io/realm-sha256"] = "0" * 64
    line = one(refused(old, new), "dev/keycloak/Job/keycloak/keycloak-realm-sync: spec.template.metadata.annotations."
                                  "platform.mlops.io/realm-sha256: '")
    assert "immutable on a Job" in line and "Force=true,Replace=true" in line


def test_pvc_storage_class_access_modes_and_shrinking_are_refused(old, new):
    pvc = obj(new, "storage", "PersistentVolumeClaim/airflow/efs-shared-airflow")
    pvc["spec"]["storageClassName"] = "gp3"
    pvc["spec"]["accessModes"] = ["ReadWriteOnce"]
    pvc["spec"]["resources"]["requests"]["storage"] = "1Gi"
    grow = obj(new, "storage", "PersistentVolumeClaim/jupyterhub/efs-shared-jupyterhub")
    grow["spec"]["resources"]["requests"]["storage"] = "100Gi"  # efs-sc does not allow expansion
    lines = refused(old, new)
    p = "dev/storage/PersistentVolumeClaim/airflow/efs-shared-airflow: "
    assert "new, empty volume" in one(lines, p + "spec.storageClassName: 'efs-sc' -> 'gp3': immutable")
    assert one(lines, p + "spec.accessModes[0]: 'ReadWriteMany' -> 'ReadWriteOnce': immutable")
    assert one(lines, p + "spec.resources.requests.storage: '5Gi' -> '1Gi': a claim cannot shrink")
    assert one(lines, "dev/storage/PersistentVolumeClaim/jupyterhub/efs-shared-jupyterhub: "
                      "spec.resources.requests.storage: '5Gi' -> '100Gi': StorageClass efs-sc does not allow "
                      "volume expansion")
    assert len(lines) == 4


def test_pv_source_and_storage_class_parameters_are_refused(old, new):
    pv = obj(new, "storage", "PersistentVolume/efs-shared-airflow")
    handle = pv["spec"]["csi"]["volumeHandle"]
    pv["spec"]["csi"]["volumeHandle"] = "fs-0aaaaaaaaaaaaaaaa::fsap-0bbbbbbbbbbbbbbbb"
    obj(new, "storage", "StorageClass/gp3")["parameters"]["type"] = "io2"
    lines = refused(old, new)
    assert len(lines) == 2, lines
    assert "the volume source is immutable" in one(
        lines, f"dev/storage/PersistentVolume/efs-shared-airflow: spec.csi.volumeHandle: '{handle}' -> "
               "'fs-0aaaaaaaaaaaaaaaa::fsap-0bbbbbbbbbbbbbbbb': ")
    assert one(lines, "dev/storage/StorageClass/gp3: parameters.type: 'gp3' -> 'io2': immutable")


def test_service_type_and_cluster_ip_changes_are_refused(old, new):
    obj(old, "mlflow", "Service/mlflow/mlflow")["spec"]["clusterIP"] = "172.20.10.10"
    svc = obj(new, "mlflow", "Service/mlflow/mlflow")
    svc["spec"].update(type="LoadBalancer", clusterIP="172.20.10.11")
    lines = refused(old, new)
    assert "provisions a cloud load balancer" in one(
        lines, "dev/mlflow/Service/mlflow/mlflow: spec.type: 'ClusterIP' -> 'LoadBalancer': ")
    assert "immutable once allocated" in one(
        lines, "dev/mlflow/Service/mlflow/mlflow: spec.clusterIP: '172.20.10.10' -> '172.20.10.11': ")
    # back from LoadBalancer: its address is gone for good; dropping an allocated IP from git keeps it
    old2, new2 = copy.deepcopy(new), copy.deepcopy(old)
    del obj(new2, "mlflow", "Service/mlflow/mlflow")["spec"]["clusterIP"]
    lines = refused(old2, new2)
    assert len(lines) == 1 and "deletes its cloud load balancer" in lines[0]


def test_rolebinding_roleref_is_immutable(old, new):
    key = next(k for k in new["dev"]["ingress"] if k.startswith("RoleBinding/"))
    obj(new, "ingress", key)["roleRef"]["name"] = "another-role"
    line = one(refused(old, new), f"dev/ingress/{key}: roleRef.name: ")
    assert "-> 'another-role': immutable" in line


# ---------------------------------------------------------------------------------------------
# stateful objects, CRDs, charts


def test_removing_stateful_objects_is_refused_even_when_argo_keeps_them(old, new):
    del new["dev"]["storage"]["PersistentVolumeClaim/airflow/efs-shared-airflow"]    # storage: prune false
    del new["dev"]["namespaces"]["Namespace/team-nlp"]
    del new["dev"]["secrets"]["ExternalSecret/keycloak/keycloak-db"]
    del new["dev"]["secrets"]["ExternalSecret/jupyterhub/jupyterhub-oidc"]           # no database credentials
    lines = refused(old, new)
    assert len(lines) == 3, lines
    pvc = one(lines, "dev/storage/PersistentVolumeClaim/airflow/efs-shared-airflow: (object): present -> removed: ")
    assert "dev-storage has automated prune off" in pvc and "a sync with prune deletes it" in pvc
    ns = one(lines, "dev/namespaces/Namespace/team-nlp: (object): present -> removed: dev-namespaces prunes it")
    assert "deletes everything in it" in ns
    db = one(lines, "dev/secrets/ExternalSecret/keycloak/keycloak-db: (object): present -> removed: ")
    assert "rds/keycloak" in db and "Secret keycloak/keycloak-db" in db and "garbage-collected" in db
    # the EFS claim is bound to a Retain volume; a claim of the default class (gp3) loses its data
    assert "reclaimPolicy Retain): the data survives" in pvc
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "scratch", "namespace": "mlflow"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}
    old["dev"]["mlflow"]["PersistentVolumeClaim/mlflow/scratch"] = claim
    assert one(refused(old, new), "dev/mlflow/PersistentVolumeClaim/mlflow/scratch: (object): present -> removed: "
                                  "dev-mlflow prunes it on the next sync; deleting the claim deletes its volume "
                                  "(reclaimPolicy Delete): the data is destroyed")


def test_removing_a_crd_while_its_custom_resources_remain(old, new):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget", "plural": "widgets"}}}
    cr = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "mlflow"}}
    for tree in (old, new):
        tree["dev"]["mlflow"]["Widget/mlflow/w1"] = copy.deepcopy(cr)
    old["dev"]["mlflow"]["CustomResourceDefinition/widgets.example.com"] = crd
    line = one(refused(old, new), "dev/mlflow/CustomResourceDefinition/widgets.example.com: (object): present -> "
                                  "removed: dev-mlflow prunes it on the next sync; deleting the CRD deletes every "
                                  "Widget (example.com) in the cluster")
    assert "Widget/mlflow/w1 (mlflow)" in line


def test_removing_a_chart_that_provides_crds_in_use(old, new):
    del new["dev"]["argocd-apps"]["Application/argocd/dev-kuberay"]  # the RayCluster stays
    assert "RayCluster/team-research/research" in new["dev"]["kuberay"]
    lines = refused(old, new)
    app = "dev/argocd-apps/Application/argocd/dev-kuberay: "
    src = one(lines, app + "(source): chart kuberay-operator 1.7.0 -> removed: Application dev-kuberay is removed "
                           "and its resources-finalizer deletes everything the chart installed")
    assert "dist/ does not show" in src
    ray = one(lines, app + "crd RayCluster.ray.io: chart kuberay-operator 1.7.0 -> nobody: ")
    assert "deletes every RayCluster (ray.io) in the cluster" in ray
    assert "RayCluster/team-research/research (kuberay)" in ray
    assert one(lines, app + "crd RayJob.ray.io: ")
    assert one(lines, app + "crd RayService.ray.io: ")
    # another provider in the new tree: the CRD still goes first (and every RayCluster with it)
    new["dev"]["kuberay"]["CustomResourceDefinition/rayclusters.ray.io"] = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "rayclusters.ray.io"},
        "spec": {"group": "ray.io", "scope": "Namespaced", "names": {"kind": "RayCluster", "plural": "rayclusters"}}}
    ray = one(refused(old, new), app + "crd RayCluster.ray.io: chart kuberay-operator 1.7.0 -> "
                                       "CustomResourceDefinition/rayclusters.ray.io (kuberay): ")
    assert ray.endswith("deletes every RayCluster (ray.io) in the cluster, before "
                        "CustomResourceDefinition/rayclusters.ray.io (kuberay) creates it again")


def test_removing_upstream_manifests_that_provide_crds_in_use(old, new):
    del new["dev"]["argocd-apps"]["Application/argocd/dev-keycloak-operator"]
    lines = refused(old, new)
    app = "dev/argocd-apps/Application/argocd/dev-keycloak-operator: "
    assert one(lines, app + "(source): upstream manifests keycloak-operator 26.0.0 -> removed: ")
    line = one(lines, app + "crd Keycloak.k8s.keycloak.org: upstream manifests keycloak-operator 26.0.0 -> nobody: ")
    assert "helm.sh" not in line and "Keycloak/keycloak/keycloak (keycloak)" in line


def test_retiring_a_chart_component_without_crds_still_names_what_goes(old, new):
    del new["dev"]["argocd-apps"]["Application/argocd/dev-jupyterhub"]
    del new["dev"]["jupyterhub"]
    lines = refused(old, new)
    assert len(lines) == 1
    assert lines[0].startswith("dev/argocd-apps/Application/argocd/dev-jupyterhub: (source): chart jupyterhub 4.4.0 "
                               "-> removed: ")


def test_retiring_a_stateless_component_of_ours_passes(old, new):
    del new["dev"]["argocd-apps"]["Application/argocd/dev-node-pools"]
    del new["dev"]["node-pools"]
    res = run(old, new)
    assert res.refused == []


# ---------------------------------------------------------------------------------------------
# moves between Applications


def test_a_move_is_not_a_prune(old, new):
    moved = new["dev"]["airflow"].pop("ConfigMap/airflow/airflow-pools")
    new["dev"]["spark-operator"]["ConfigMap/airflow/airflow-pools"] = moved
    res = run(old, new, GuardConfig(max_prune_percent=0))  # any prune at all would be refused
    assert res.refused == []
    assert res.moves == ["dev/airflow/ConfigMap/airflow/airflow-pools: airflow -> spark-operator (the same object "
                         "in the cluster: not a prune)"]
    # a claim leaving storage (prune: false) is not pruned on the way either
    pvc = new["dev"]["storage"].pop("PersistentVolumeClaim/airflow/efs-shared-airflow")
    new["dev"]["airflow"]["PersistentVolumeClaim/airflow/efs-shared-airflow"] = pvc
    assert run(old, new, GuardConfig(max_prune_percent=0)).refused == []


def test_moving_database_credentials_out_of_a_pruning_application_is_refused(old, new):
    es = new["dev"]["secrets"].pop("ExternalSecret/keycloak/keycloak-db")
    new["dev"]["keycloak"]["ExternalSecret/keycloak/keycloak-db"] = es
    line = one(refused(old, new), "dev/secrets/ExternalSecret/keycloak/keycloak-db: (component): secrets -> keycloak: ")
    assert "FailOnSharedResource=true" in line and "dev-secrets prunes it" in line and "rds/keycloak" in line
    # the hand-over: Prune=false on the live (base) object first, then the move is just a move
    obj(old, "secrets", "ExternalSecret/keycloak/keycloak-db")["metadata"]["annotations"][
        "argocd.argoproj.io/sync-options"] = "Prune=false,SkipDryRunOnMissingResource=true"
    res = run(old, new)
    assert res.refused == [] and res.moves[0].startswith("dev/secrets/ExternalSecret/keycloak/keycloak-db: secrets -> ")


# ---------------------------------------------------------------------------------------------
# prune limit


def _drop_network_policies(tree, n):
    keys = sorted(k for k in tree["dev"]["namespaces"] if k.startswith("NetworkPolicy/"))[:n]
    for k in keys:
        del tree["dev"]["namespaces"][k]


def test_prune_limit(old, new):
    total = sum(len(c) for c in old["dev"].values())
    limit = total // 10  # the most that stays within 10%
    _drop_network_policies(new, limit)
    assert refused(old, new) == []
    _drop_network_policies(new, 1)
    line = one(refused(old, new), f"dev: prune: {total} objects -> {limit + 1} deleted (")
    assert "more than guard.max_prune_percent (10%)" in line and "namespaces (" in line
    assert refused(old, new, GuardConfig(max_prune_percent=15)) == []
    allow = GuardConfig(allow=[AllowedChange(object="dev", field="prune", reason="retiring default-deny policies")])
    res = run(old, new, allow)
    assert res.refused == [] and len(res.allowed) == 1


# ---------------------------------------------------------------------------------------------
# allow-list


def _selector_and_image(new):
    dep = obj(new, "mlflow", "Deployment/mlflow/mlflow")
    dep["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "tracking"
    svc = obj(new, "mlflow", "Service/mlflow/mlflow")
    svc["spec"]["type"] = "NodePort"


def test_allow_entry_lets_exactly_that_change_through(old, new):
    _selector_and_image(new)
    cfg = GuardConfig(allow=[AllowedChange(object="Deployment/mlflow/mlflow", field="spec.selector",
                                           reason="relabelled in the mlflow v3 migration; downtime accepted")])
    res = run(old, new, cfg)
    assert [f.line().split(": ")[0] for f in res.refused] == ["dev/mlflow/Service/mlflow/mlflow"]
    (f, how), = res.allowed
    assert f.field == "spec.selector.matchLabels.app.kubernetes.io/name"
    assert how == "environments/dev.yaml guard.allow[0]: relabelled in the mlflow v3 migration; downtime accepted"
    report = res.report()
    assert any(x.endswith("[allowed by environments/dev.yaml guard.allow[0]: relabelled in the mlflow v3 migration; "
                          "downtime accepted]") for x in report)
    assert report[-1].startswith("guard: FAILED: 1 destructive change(s) in dev.")
    # another field of the same object is not covered
    cfg = GuardConfig(allow=[AllowedChange(object="Service/mlflow/mlflow", field="spec.clusterIP",
                                           reason="not the field that changes here")])
    res = run(old, new, cfg)
    assert len(res.refused) == 2 and res.stale


def test_stale_allow_entry_fails_the_gate(old, new):
    cfg = GuardConfig(allow=[AllowedChange(object="Deployment/mlflow/mlflow", field="spec.selector",
                                           reason="relabelled in the mlflow v3 migration")])
    res = run(old, new, cfg)
    assert res.refused == []
    assert res.stale == ["environments/dev.yaml: guard.allow[0] (Deployment/mlflow/mlflow spec.selector) matches no "
                         "refused change in dev: remove it (left in place it lets a future change of the same field "
                         "through unreviewed)"]
    assert "guard: stale exception: environments/dev.yaml: guard.allow[0]" in "\n".join(res.report())
    assert res.failed() and res.report()[-1].startswith("guard: FAILED: 1 guard.allow entry match nothing")
    assert not res.failed(allow_destructive=True)


def test_allow_list_config_errors_name_file_line_and_field(tmp_path):
    d = tmp_path / "environments"
    d.mkdir()
    (d / "dev.yaml").write_text("name: dev\nguard:\n  allow:\n"
                                "    - object: Deployment/mlflow/mlflow\n      field: spec.selector\n"
                                "    - {object: Service/mlflow/mlflow, reason: short}\n"
                                "    - {object: not an object, reason: a good long reason}\n"
                                "    - {object: prod, field: prune, reason: the wrong env's limit}\n"
                                "    - {object: dev, field: spec.selector, reason: not a field of the env}\n")
    with pytest.raises(EnvError) as e:
        load_configs(["dev"], d)
    where = f"{d / 'dev.yaml'}"
    assert e.value.problems == [
        f"{where}:4: guard.allow[0].reason: required field is missing",
        f"{where}:6: guard.allow[1].reason: say why this change is safe (at least 10 characters): reviewers read it "
        "in the PR",
        f"{where}:7: guard.allow[2].object: 'not an object' is not an object the guard names: use Kind/name, "
        "Kind/namespace/name (as printed by `python app.py diff`) or the env's name for the prune limit",
    ]
    (d / "dev.yaml").write_text("name: dev\nguard:\n  allow:\n"
                                "    - {object: prod, field: prune, reason: the wrong env's limit}\n"
                                "    - {object: dev, field: spec.selector, reason: not a field of the env}\n")
    with pytest.raises(EnvError) as e:
        load_configs(["dev"], d)
    assert e.value.problems == [
        f"{where}:4: guard.allow[0].object: 'prod' is neither Kind/name, Kind/namespace/name nor this env's name "
        "('dev')",
        f"{where}:5: guard.allow[1].field: the env itself (dev) has only the field 'prune' (the prune limit)",
    ]
    configs, _ = load_configs(["dev", "staging"], d.parent / "nowhere")  # no env files: defaults
    assert configs == {"dev": GuardConfig(), "staging": GuardConfig()}


def test_committed_env_files_have_valid_guard_settings():
    configs, sources = load_configs(["dev", "staging", "prod"], ROOT / "environments")
    assert set(configs) == {"dev", "staging", "prod"} and sources["dev"] == "environments/dev.yaml"


# ---------------------------------------------------------------------------------------------
# CLI


def write_tree(tree, root: Path):
    for env, comps in tree.items():
        for comp, objs in comps.items():
            for key, o in objs.items():
                f = root / env / comp / (key.replace("/", ".") + ".k8s.yaml")
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_text(yamltext.dump(o, sort_keys=True))


def test_diff_cli_exit_codes(tmp_path, old, new, capsys):
    a, b, envs = tmp_path / "a", tmp_path / "b", tmp_path / "environments"
    write_tree(old, a)
    write_tree(old, b)
    envs.mkdir()
    diff = ["diff", "--dirs", str(a), str(b), "--env-dir", str(envs)]
    assert main(diff) == 0
    out = capsys.readouterr().out.splitlines()
    # no rendered/ beside either folder: said, and the summary names only what was compared
    assert out[-1] == "guard: ok: nothing destructive in dist/ (envs: dev)"
    assert ("guard: not compared: rendered/ of dev: one side has no chart renders, so only the Applications' chart "
            "sources were compared there, not the objects the charts make") in out
    assert any(x.startswith("guard: not compared: argocd/ (the bootstrap") for x in out)

    obj(new, "mlflow", "Deployment/mlflow/mlflow")["spec"]["replicas"] = 2
    write_tree(new, b)
    assert main(diff) == 1
    out = capsys.readouterr().out
    assert "    changed Deployment/mlflow/mlflow" in out and "guard: ok" in out

    (b / "dev/storage/PersistentVolumeClaim.airflow.efs-shared-airflow.k8s.yaml").unlink()
    assert main(diff) == 3
    out = capsys.readouterr().out.splitlines()
    assert "    removed PersistentVolumeClaim/airflow/efs-shared-airflow" in out  # the diff as before
    assert out[-7] == "guard: 1 destructive change(s) refused:"
    assert out[-6].startswith("dev/storage/PersistentVolumeClaim/airflow/efs-shared-airflow: (object): present -> "
                              "removed: ")
    assert out[-1].startswith("guard: FAILED: 1 destructive change(s) in dev.")
    # the hint is an entry the allow-list accepts, and it lets exactly that change through
    hint = out[-1].split("e.g. in environments/dev.yaml: ", 1)[1]
    assert hint.startswith("{object: PersistentVolumeClaim/airflow/efs-shared-airflow, field: (object), reason: ")
    (envs / "dev.yaml").write_text(f"guard:\n  allow:\n    - {hint}\n")
    assert main(diff) == 1
    assert "guard: ok: nothing destructive in dist/ (envs: dev; 1 allowed by guard.allow)" in capsys.readouterr().out
    (envs / "dev.yaml").unlink()

    assert main([*diff, "--allow-destructive"]) == 1
    out = capsys.readouterr().out
    assert "guard: 1 destructive change(s) (NOT refused: --allow-destructive):" in out
    assert "This flag is for emergencies; prefer a guard.allow entry" in out

    (envs / "dev.yaml").write_text("guard:\n  allow:\n    - object: PersistentVolumeClaim/airflow/efs-shared-airflow\n"
                                   "      field: (object)\n      reason: the airflow share moves to S3 (#42)\n"
                                   "    - {object: Deployment/mlflow/mlflow, reason: left over from the last change}\n")
    assert main(diff) == 3  # the stale second entry fails the gate
    out = capsys.readouterr().out
    assert "[allowed by " in out and "guard.allow[0]: the airflow share moves to S3 (#42)]" in out
    assert "guard: stale exception: " in out and "guard.allow[1] (Deployment/mlflow/mlflow) matches no refused change" in out

    (envs / "dev.yaml").write_text("guard:\n  allow:\n    - {object: Deployment/mlflow/mlflow}\n")
    assert main(diff) == 2
    err = capsys.readouterr().err
    assert "the guard settings (guard: in the env files) are invalid" in err
    assert "dev.yaml:3: guard.allow[0].reason: required field is missing" in err


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo,
                          capture_output=True, text=True, check=True).stdout


def test_check_guards_against_the_base_or_says_why_not(tmp_path, old, new):
    repo, fresh, envs = tmp_path / "repo", tmp_path / "fresh", tmp_path / "environments"
    envs.mkdir()
    write_tree(old, repo / "dist")
    _git(repo, "init", "-q", "-b", "feature")
    _git(repo, "add", "dist")
    _git(repo, "commit", "-q", "-m", "base")
    del new["dev"]["namespaces"]["Namespace/team-nlp"]
    write_tree(new, fresh)
    out: list[str] = []
    # no main in this clone: skipped, said so, not a failure
    assert guard_against_ref(fresh, None, repo, envs, out=out.append) == 0
    assert out[0].startswith("guard: SKIPPED: no base to compare with")
    # an explicit base that isn't there is an error
    out.clear()
    assert guard_against_ref(fresh, "origin/main", repo, envs, out=out.append) == 2
    assert out == ["guard: --base origin/main names no commit in this clone (a typo? not fetched? CI: "
                   "actions/checkout with fetch-depth: 0), so nothing was compared"]
    # with main: the merge base is the default
    _git(repo, "branch", "main")
    out.clear()
    assert guard_against_ref(fresh, None, repo, envs, out=out.append) == 1
    assert out[0].startswith("guard: the fresh dist/ and rendered/ against the merge base with main (")
    assert any(x.startswith("dev/namespaces/Namespace/team-nlp: (object): present -> removed: ") for x in out)
    out.clear()
    assert guard_against_ref(fresh, None, repo, envs, allow_destructive=True, out=out.append) == 0
    # not a git checkout at all
    plain = tmp_path / "plain"
    plain.mkdir()
    out.clear()
    assert guard_against_ref(fresh, None, plain, envs, out=out.append) == 0 and "SKIPPED" in out[0]
    # a base without dist/ is no base: an error, not "everything is added, nothing destructive"
    (repo / "README.md").write_text("before dist/\n")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "readme")
    _git(repo, "rm", "-q", "-r", "dist")
    _git(repo, "commit", "-q", "-m", "no dist")
    out.clear()
    assert guard_against_ref(fresh, "HEAD", repo, envs, out=out.append) == 2
    assert out == [f"guard: HEAD ({_git(repo, 'rev-parse', 'HEAD')[:12]}) has no objects under dist/, so nothing was "
                   "compared; pass --base with a ref that has them"]


def test_check_command_runs_the_guard_after_the_staleness_gate(monkeypatch, capsys):
    """`check` wiring: the fresh synth (here: dist/ and argocd/ at HEAD, minus a volume) is guarded too."""
    import shutil

    import mlplatform.synth
    from mlplatform.review import git_tree

    destructive = [True]
    head = git_tree("HEAD", ROOT, ("dist", "argocd", "rendered"))

    def fake_synth(envs, out, log=None, **kw):
        shutil.copytree(head / "dist", out)
        shutil.copytree(head / "argocd", out / "_argocd")
        shutil.copytree(head / "rendered", out / "_rendered", ignore=shutil.ignore_patterns("README.md"))
        if destructive[0]:
            (out / "dev/storage/PersistentVolume.efs-shared-airflow.k8s.yaml").unlink()
        return 0

    monkeypatch.setattr(mlplatform.synth, "synth", fake_synth)
    envs = ", ".join(sorted(d.name for d in (head / "dist").iterdir() if d.is_dir()))
    try:
        assert main(["check", "--base", "HEAD"]) == 1
        err = capsys.readouterr().err.splitlines()
        destructive[0] = False
        main(["check", "--base", "HEAD"])  # stale or not: whatever the working tree holds
        err2 = capsys.readouterr().err.splitlines()
    finally:
        shutil.rmtree(head)
    assert "  only in committed: dist/dev/storage/PersistentVolume.efs-shared-airflow.k8s.yaml" in err
    assert any(x.startswith("guard: the fresh dist/ and rendered/ against HEAD (") for x in err)
    assert any(x.startswith("dev/storage/PersistentVolume/efs-shared-airflow: (object): present -> removed: "
                            "dev-storage has automated prune off") for x in err)
    assert f"guard: ok: nothing destructive in dist/ and rendered/ (envs: {envs})" in err2  # the bootstrap (_argocd/) is no env
