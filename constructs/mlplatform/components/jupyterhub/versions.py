"""Versions rows of unit `jupyterhub`: its chart, the hub and notebook images, the image the chart's render
runs, and why the chart is behind. `kit/versions.py` collects every unit's rows into the one versions table
(`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CLUSTER_RBAC, ChartImages, HelmChart, Image, KnownStale
from ...kit.versions import MirrorValue

VERSIONS = (
    HelmChart("jupyterhub", "https://hub.jupyter.org/helm-chart/", "4.4.0", "5.5.0",
              values_schema=True, cluster_kinds=CLUSTER_RBAC + (("scheduling.k8s.io", "PriorityClass"),)),
    Image("notebook-scipy", "quay.io/jupyter/scipy-notebook", "2026-07-28"),
    Image("notebook-datascience", "quay.io/jupyter/datascience-notebook", "2026-07-28"),
    Image("notebook-base", "quay.io/jupyter/base-notebook", "2026-07-28"),
    # docker-stacks prefixes every tag of a variant image with the variant: `cuda12-<date>` is the
    # immutable build of the same date as the other notebooks (one Jupyter base); the former
    # `cuda12-python-3.13.14` was re-pushed on every build while Python stayed. CUDA 12 kept (the
    # `cuda13-` variant would be a deliberate change of its own).
    Image("notebook-pytorch-cuda", "quay.io/jupyter/pytorch-notebook", "cuda12-2026-07-28"),
    Image("jupyterhub-hub", "quay.io/jupyterhub/k8s-hub", "4.4.0"),
    ChartImages("jupyterhub", ("quay.io/jupyterhub/configurable-http-proxy:5.2.0",)),
    KnownStale("chart", "jupyterhub",
               "chart 4.4.0 runs JupyterHub 5.5.0; 5.5.1 fixes two advisories: needs a newer chart (none mirrored)"),
    KnownStale("image", "jupyterhub-hub",
               "k8s-hub 4.4.0 is JupyterHub 5.5.0 (5.5.1 fixes two advisories): moves with the chart"),
)

# Where the chart keeps the images it runs by default (kit/mirror.py sets them to the env's registry
# mirror, when one is configured: issue 17).
VERSIONS += (
    MirrorValue("jupyterhub", "proxy.chp.image.name", "quay.io/jupyterhub/configurable-http-proxy"),
    MirrorValue("jupyterhub", "proxy.traefik.image.name", "traefik"),
    MirrorValue("jupyterhub", "proxy.secretSync.image.name", "quay.io/jupyterhub/k8s-secret-sync"),
    MirrorValue("jupyterhub", "singleuser.networkTools.image.name", "quay.io/jupyterhub/k8s-network-tools"),
    MirrorValue("jupyterhub", "scheduling.userScheduler.image.name", "registry.k8s.io/kube-scheduler"),
    MirrorValue("jupyterhub", "scheduling.userPlaceholder.image.name", "registry.k8s.io/pause"),
    MirrorValue("jupyterhub", "prePuller.hook.image.name", "quay.io/jupyterhub/k8s-image-awaiter"),
    MirrorValue("jupyterhub", "prePuller.pause.image.name", "registry.k8s.io/pause"),
    # where it takes the mirror's pull Secret (registry.pull_secret)
    MirrorValue("jupyterhub", "imagePullSecrets", "", part="pull_secret_names"),
)
