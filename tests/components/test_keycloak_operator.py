"""The `keycloak-operator` unit: the operator's pinned release manifests as an Argo CD directory
source in namespace `keycloak`, the CRDs they serve (loaded and verified by the synth), and the
Services the operator makes for each Keycloak CR (`made_services`), with a planted CR."""
from types import SimpleNamespace

from conftest import find
from mlplatform.components.keycloak_operator import checks as keycloak_operator_checks
from mlplatform.components.keycloak_operator import objects as keycloak_operator
from mlplatform.kit import versions
from mlplatform.kit.component import UpstreamManifests


def test_the_source_is_the_pinned_release_installed_where_its_rbac_points(envs):
    for env in envs.values():
        assert keycloak_operator.upstream(env) == UpstreamManifests(source="keycloak-operator", namespace="keycloak")
    m = versions.MANIFESTS["keycloak-operator"]
    assert m.revision == "26.0.0" and not m.revision.startswith(("main", "master"))
    assert set(m.provides_crds) == {"Keycloak.k8s.keycloak.org", "KeycloakRealmImport.k8s.keycloak.org"}


def test_the_application_reads_the_release_tag_into_the_keycloak_namespace(rendered):
    for name, r in rendered.items():
        app = find(r.components["argocd-apps"], "Application", f"{name}-keycloak-operator")
        m = versions.MANIFESTS["keycloak-operator"]
        assert app["spec"]["destination"]["namespace"] == "keycloak"
        src = app["spec"]["source"]
        assert (src["repoURL"], src["targetRevision"], src["path"]) == (m.repo_url, m.revision, m.path)
        assert src["directory"] == {"include": m.include, "recurse": False}
        assert r.waves["keycloak-operator"] < r.waves["keycloak"], "the CRDs exist before the Keycloak CR"


def test_its_crds_serve_the_versions_the_keycloak_unit_emits(rendered):
    r = rendered["dev"]
    for kind in ("Keycloak", "KeycloakRealmImport"):
        pin = versions.crd(kind)
        assert r.renders.crd_origin[("k8s.keycloak.org", kind)] == "keycloak-operator"
        crd = r.renders.crds[("k8s.keycloak.org", kind)]
        served = {v["name"] for v in crd["spec"]["versions"] if v.get("served")}
        assert pin.version in served
    # The operator Deployment/RBAC file is not mirrored: applied unseen, and said so.
    assert [u for u in r.renders.unseen if u[0] == "keycloak-operator" and u[1].endswith("/kubernetes.yml") and u[2]]


def test_made_services_names_the_service_of_every_keycloak_cr(rendered):
    planted = SimpleNamespace(components={"keycloak": [
        {"apiVersion": "k8s.keycloak.org/v2alpha1", "kind": "Keycloak", "metadata": {"name": "idp", "namespace": "auth"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "idp", "namespace": "auth"}}]})
    assert keycloak_operator_checks.made_services(planted) == {("auth", "idp-service"): None}
    real = keycloak_operator_checks.made_services(rendered["prod"])
    assert real == {("keycloak", "keycloak-service"): None}
