"""Versions rows of unit `volcano`: its chart, the Volcano CRDs and the images the chart's render runs.
`kit/versions.py` collects every unit's rows into the one versions table (`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, CRD_KIND, WEBHOOKS, ChartImages, CrdPin, HelmChart, minors
from ...kit.versions import MirrorValue

VERSIONS = (
    HelmChart("volcano", "https://volcano-sh.github.io/helm-charts", "1.15.1", "1.15.1",
              cluster_kinds=CLUSTER_RBAC + CRD_KIND + WEBHOOKS + (("scheduling.volcano.sh", "Queue"),),
              provides_crds=("Queue.scheduling.volcano.sh", "PodGroup.scheduling.volcano.sh", "Job.batch.volcano.sh"),
              # volcano-sh/volcano README "Kubernetes compatibility": v1.15 is marked exactly
              # compatible with 1.24 through 1.35 (1.36 is not); re-check on every chart bump.
              kubernetes_minors=minors("1.24", "1.35"),
              free_form_values=("custom.default_csc",)),
    CrdPin("Job", "batch.volcano.sh", "v1alpha1", namespaced=True,
           url="https://raw.githubusercontent.com/volcano-sh/volcano/v1.15.1/config/crd/volcano/bases/batch.volcano.sh_jobs.yaml",
           sha256="a03feedc265bc8c9d71240063a37e0e818fa70fcad7b8a113b0875dc53fffa90"),
    CrdPin("PodGroup", "scheduling.volcano.sh", "v1beta1", namespaced=True,
           url="https://raw.githubusercontent.com/volcano-sh/volcano/v1.15.1/config/crd/volcano/bases/scheduling.volcano.sh_podgroups.yaml",
           sha256="c297c0fdcf00cea6a35daa2b6153a8590b56df0e22a96dbfa44f773814685017"),
    CrdPin("Queue", "scheduling.volcano.sh", "v1beta1", namespaced=False,
           url="https://raw.githubusercontent.com/volcano-sh/volcano/v1.15.1/config/crd/volcano/bases/scheduling.volcano.sh_queues.yaml",
           sha256="92203dee889b6d3bb628f96d27779e98967d8ba21e58c425c7379bcbcee8b482"),
    ChartImages("volcano", ("docker.io/volcanosh/vc-controller-manager:v1.15.1", "docker.io/volcanosh/vc-scheduler:v1.15.1",
                            "docker.io/volcanosh/vc-webhook-manager:v1.15.1")),
)

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("volcano", "basic.image_registry", "docker.io", part="registry"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("volcano", "basic.image_pull_secret", "", part="pull_secret_name"),
)
