"""Versions rows of unit `external-secrets`: its chart, the CRDs of the ExternalSecrets and stores the platform
emits, and the image the chart's render runs. `kit/versions.py` collects every unit's rows into the one
versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, WEBHOOKS, ChartImages, CrdPin, HelmChart
from ...kit.versions import MirrorValue

VERSIONS = (
    HelmChart("external-secrets", "https://charts.external-secrets.io", "2.9.0", "v2.9.0",
              crds_need_server_side_apply=True, values_schema=True, cluster_kinds=CLUSTER_RBAC + CRD_KIND + WEBHOOKS,
              provides_crds=("ExternalSecret.external-secrets.io", "SecretStore.external-secrets.io", "ClusterSecretStore.external-secrets.io"),
              # pod securityContexts (the default values and schema show only the chart's `enabled`)
              free_form_values=("podSecurityContext", "webhook.podSecurityContext", "certController.podSecurityContext")),
    CrdPin("ClusterSecretStore", "external-secrets.io", "v1", namespaced=False,
           url="https://raw.githubusercontent.com/external-secrets/external-secrets/v2.9.0/config/crds/bases/external-secrets.io_clustersecretstores.yaml",
           sha256="f847c69ae317a76527fc37c163ddfe15d9026e14eb47dd325319e914e0433c2a"),
    CrdPin("ExternalSecret", "external-secrets.io", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/external-secrets/external-secrets/v2.9.0/config/crds/bases/external-secrets.io_externalsecrets.yaml",
           sha256="5044be5a610ca90a075f34f03ed20b462695c43387ba9410db7f4250e47b1e2f"),
    CrdPin("SecretStore", "external-secrets.io", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/external-secrets/external-secrets/v2.9.0/config/crds/bases/external-secrets.io_secretstores.yaml",
           sha256="7f750858d393913915a2f15daff9e1d2f56ca207c09920c055d7a68cceacb641"),
    ChartImages("external-secrets", ("ghcr.io/external-secrets/external-secrets:v2.9.0",)),
)

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("external-secrets", "image.repository", "ghcr.io/external-secrets/external-secrets"),
    MirrorValue("external-secrets", "webhook.image.repository", "ghcr.io/external-secrets/external-secrets"),
    MirrorValue("external-secrets", "certController.image.repository", "ghcr.io/external-secrets/external-secrets"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("external-secrets", "global.imagePullSecrets", "", part="pull_secrets"),
)
