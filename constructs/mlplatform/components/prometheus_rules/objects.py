"""Component `prometheus-rules`: the platform's recording rules and alerts, from every unit.

The collector unit: each unit whose software emits metrics contributes its rule areas (`rules`
hook, written next to its metric families in `components/<unit>/monitoring.py`); this unit emits
one PrometheusRule per area, in registry order, through `kit.rules.prometheus_rules` (labels for
the kube-prometheus-stack Prometheus, `recording` and `alerts` groups, severity, runbook and
`runbook_url` on every alert). It names no unit. Thresholds come from `monitoring.alerts`
(`AlertThresholds`). Nothing is emitted when `monitoring.enabled` is false.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import rules
from ...kit.meta import Obj

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "prometheus-rules"


def build(env: Env) -> list[Obj]:
    if not env.monitoring.enabled:
        return []
    return rules.build_prometheus_rules(env, NAME)
