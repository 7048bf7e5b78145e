"""Component `prometheus-crds`: the Prometheus Operator CRDs, from their pinned release tag.

They come first and on their own so any chart that ships a ServiceMonitor or PrometheusRule
(GPU operator's DCGM exporter, ...) can sync before the monitoring stack exists; the
kube-prometheus-stack release then runs with `crds.enabled: false` and never owns them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.component import UpstreamManifests

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "prometheus-crds"


def upstream(env: Env) -> UpstreamManifests:
    return UpstreamManifests(source="prometheus-operator-crds", namespace=None)
