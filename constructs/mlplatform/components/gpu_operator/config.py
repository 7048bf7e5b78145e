"""The `compute.gpu` section: the NVIDIA GPU operator's MIG handling and DCGM metrics."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ...config.base import Model


class GpuConfig(Model):
    """The NVIDIA GPU operator: device plugin, GPU feature discovery, DCGM metrics (the node AMI
    ships the driver and container toolkit)."""

    enabled: bool = Field(default=True,
        description="install the NVIDIA GPU operator (required when compute.karpenter.gpu_pool is set)")
    mig_strategy: Literal["none", "single", "mixed"] = Field(
        default="single", description="how MIG slices are advertised (single: as nvidia.com/gpu)")
    mig_manager: bool = Field(default=False, description="run the MIG manager (A100/H100-class GPUs only)")
    cdi: bool = Field(default=False, description="device plugin injects GPUs via CDI instead of the AMI's nvidia runtime")
    dcgm_exporter: bool = Field(default=True,
        description="run the DCGM exporter (GPU metrics: utilization, memory, temperature; the GPU alerts and dashboards need it)")
    dcgm_interval: Annotated[str, Field(pattern=r"^[0-9]+(s|m)$")] = Field(default="15s", description="scrape interval")
    service_monitor: bool = Field(default=True, description="a ServiceMonitor for the DCGM exporter (needs the Prometheus Operator CRDs)")

    @model_validator(mode="after")
    def _consistent(self) -> "GpuConfig":
        if self.mig_manager and self.mig_strategy == "none":
            raise ValueError("mig_manager needs mig_strategy single or mixed")
        if self.service_monitor and not self.dcgm_exporter:
            raise ValueError("service_monitor needs dcgm_exporter")
        return self
