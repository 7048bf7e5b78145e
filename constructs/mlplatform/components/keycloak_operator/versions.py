"""Versions rows of unit `keycloak-operator`: its upstream release manifests, the Keycloak CRDs, the operator
image, and why they are behind. `kit/versions.py` collects every unit's rows into the one versions table
(`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, CrdPin, Image, KnownStale, ManifestSource

_KC = "https://raw.githubusercontent.com/keycloak/keycloak-k8s-resources/26.0.0/kubernetes/"

VERSIONS = (
    # No chart: the operator's own release manifests (CRDs + operator Deployment/RBAC). Its
    # ClusterRoleBinding names namespace `keycloak`, so it must be installed there.
    ManifestSource("keycloak-operator", "https://github.com/keycloak/keycloak-k8s-resources", "26.0.0",
                   "kubernetes", "{keycloaks.k8s.keycloak.org-v1.yml,keycloakrealmimports.k8s.keycloak.org-v1.yml,kubernetes.yml}",
                   cluster_kinds=CLUSTER_RBAC + CRD_KIND,
                   provides_crds=("Keycloak.k8s.keycloak.org", "KeycloakRealmImport.k8s.keycloak.org"),
                   files=((_KC + "keycloaks.k8s.keycloak.org-v1.yml",
                           "f8cf7e76df7ae348aa01ed834adf0e84922d56f71aa4260c4a895cd550833a11"),
                          (_KC + "keycloakrealmimports.k8s.keycloak.org-v1.yml",
                           "7d6bf2d033b33253743a5ba8a5de96d21a1a9bf4fc0f9fd2c3d8729c49f93c5e"),
                          (_KC + "kubernetes.yml", None))),
    CrdPin("Keycloak", "k8s.keycloak.org", "v2alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/keycloak/keycloak-k8s-resources/26.0.0/kubernetes/keycloaks.k8s.keycloak.org-v1.yml",
           sha256="f8cf7e76df7ae348aa01ed834adf0e84922d56f71aa4260c4a895cd550833a11"),
    CrdPin("KeycloakRealmImport", "k8s.keycloak.org", "v2alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/keycloak/keycloak-k8s-resources/26.0.0/kubernetes/keycloakrealmimports.k8s.keycloak.org-v1.yml",
           sha256="7d6bf2d033b33253743a5ba8a5de96d21a1a9bf4fc0f9fd2c3d8729c49f93c5e"),
    Image("keycloak-operator", "quay.io/keycloak/keycloak-operator", "26.0.0"),
    KnownStale("manifests", "keycloak-operator",
               "Keycloak 26.0.0 (Oct 2024); current is 26.8 (CRDs stored as v2beta1, two new client CRDs): its "
               "operator manifests are not in the offline mirror yet"),
    KnownStale("image", "keycloak-operator",
               "follows the keycloak-operator manifests (26.0.0): not mirrored beyond it"),
)
