"""Versions rows of unit `prometheus-crds`: the Prometheus Operator CRDs as upstream manifests, and the pins of
the kinds the platform emits. `kit/versions.py` collects every unit's rows into the one versions table
(`python app.py bom`).
"""
from __future__ import annotations

from ...kit.versions import CRD_KIND, CrdPin, ManifestSource

_PO = "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd/"

VERSIONS = (
    # The Prometheus Operator CRDs on their own, so charts that ship ServiceMonitors (GPU
    # operator, ...) can sync before the monitoring stack; kube-prometheus-stack then runs with
    # crds.enabled=false. Six of them exceed the client-side apply annotation limit.
    ManifestSource("prometheus-operator-crds", "https://github.com/prometheus-operator/prometheus-operator",
                   "v0.93.0", "example/prometheus-operator-crd", "*.yaml", cluster_kinds=CRD_KIND,
                   provides_crds=tuple(f"{k}.monitoring.coreos.com" for k in (
                       "Alertmanager", "AlertmanagerConfig", "PodMonitor", "Probe", "Prometheus", "PrometheusAgent",
                       "PrometheusRule", "ScrapeConfig", "ServiceMonitor", "ThanosRuler")),
                   server_side_apply=True,
                   files=tuple((_PO + f"monitoring.coreos.com_{n}.yaml", sha) for n, sha in (
                       ("alertmanagerconfigs", "fed47c462483a47a4d1912bf8a7a3767618644cfdee86dc73d7624c55d6a8b9d"),
                       ("alertmanagers", "0e8eccd22699818c93f619c8fe2d92dbbd783a7e9232827a886dedeac1fb5dc1"),
                       ("podmonitors", "45a93443daa687d3654f7e9631909ff7edcdf3ec09c5e60251b74aa2722aee5d"),
                       ("probes", "f4ead9704bd4c6303d53e4cc15670faaf0609022a5e08c0ce496286f453666b7"),
                       ("prometheusagents", "6bb4afd89a2721ba02327336623344358c57b5a1a2ecaeccd792e0234ef6b612"),
                       ("prometheuses", "c0eed4b2c38a58e3a5be7e2f5846df067804c694b0c9316b35029ab68fa183a4"),
                       ("prometheusrules", "78be98554b9c8506ab2b4f4feb91c5f3a56e536a0a510f3a8e876a459970d56d"),
                       ("scrapeconfigs", "d525ef261d8a3a050528a7d90cecab13f1f3f9020eb0f1f54850b6f5c1f2e641"),
                       ("servicemonitors", "a99047972c9dd7679ce2050b9968e8a08773492e671b3e17abd476d42aa78a32"),
                       ("thanosrulers", "160bcffd1ce4904b5fde97ac40676019aa02427f0d64432f4dd71a711275b82c")))),
    CrdPin("PodMonitor", "monitoring.coreos.com", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
           sha256="45a93443daa687d3654f7e9631909ff7edcdf3ec09c5e60251b74aa2722aee5d"),
    CrdPin("PrometheusRule", "monitoring.coreos.com", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
           sha256="78be98554b9c8506ab2b4f4feb91c5f3a56e536a0a510f3a8e876a459970d56d"),
    CrdPin("ServiceMonitor", "monitoring.coreos.com", "v1", namespaced=True,
           url="https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
           sha256="a99047972c9dd7679ce2050b9968e8a08773492e671b3e17abd476d42aa78a32"),
)
