"""Chart values: check a generated `valuesObject` before Argo CD renders it.

Charts that ship `values.schema.json` are validated against it (what `helm template` would
reject, we reject first). For charts without one, every key we set must exist in the chart's
pinned default `values.yaml`, except below maps that default to `{}` (free-form maps such as
`podAnnotations`) -- so a typo can't be silently ignored by the chart.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

import jsonschema

from ..kit import upstream, versions


@lru_cache(maxsize=None)
def _schema_validator(chart: str):
    schema = upstream.chart_values_schema(chart)
    if schema is None:
        return None
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


def _unknown_keys(values: Any, defaults: Any, schema: Any, path: str, free: tuple[str, ...] = ()) -> Iterable[str]:
    """Keys we set that neither the default values nor the schema's `properties` know."""
    if not isinstance(values, dict):
        return
    defaults = defaults if isinstance(defaults, dict) else {}
    schema = schema if isinstance(schema, dict) else {}
    props = schema.get("properties") or {}
    free_form = (path in free or (not defaults and not props)
                 or isinstance(schema.get("additionalProperties"), dict) or "patternProperties" in schema)
    if free_form:
        return
    for k, v in values.items():
        p = f"{path}.{k}" if path else str(k)
        if k not in defaults and k not in props:
            yield f"{p}: not a value of this chart (no such key in its default values.yaml)"
        else:
            yield from _unknown_keys(v, defaults.get(k), props.get(k), p, free)


def merged(defaults: Any, ours: Any) -> Any:
    """Helm's coalescing of user values over the chart's defaults (maps merge, the rest replaces;
    a null deletes the default key)."""
    if isinstance(defaults, dict) and isinstance(ours, dict):
        out = dict(defaults)
        for k, v in ours.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = merged(defaults.get(k), v)
        return out
    return ours


def _with_path(values: dict, keys: list[str]) -> dict:
    """`values` (a copy where it changes) with the path `keys` present (a missing leaf: None)."""
    head, rest = keys[0], keys[1:]
    if not rest:
        return values if head in values else {**values, head: None}
    child = values.get(head)
    return {**values, head: _with_path(child if isinstance(child, dict) else {}, rest)}


def subchart_defaults(chart: str) -> dict[str, dict]:
    """Subchart name -> its default values.yaml, for the subcharts the pinned archive vendors as
    folders (`<chart>/charts/<sub>/values.yaml`, e.g. the GPU operator's node-feature-discovery):
    read once per archive digest with the archive's other facts."""
    from ..kit import helm

    return helm.archive_facts(chart)["subchart_values"]


def check_values(chart: str, values: dict) -> list[str]:
    """Schema errors (where the chart ships a schema) plus keys the chart doesn't know: charts
    whose schema allows unknown keys would otherwise ignore a typo silently. Like Helm, the
    schema judges our values coalesced over the chart's defaults."""
    out: list[str] = []
    v = _schema_validator(chart)
    if v is not None:
        full = merged(upstream.chart_values(chart) or {}, values)
        out += [f"values.{e.json_path[2:] or '(root)'}: {e.message}"
                for e in sorted(v.iter_errors(full), key=lambda e: e.json_path)]
    c = versions.CHARTS[chart]
    defaults = upstream.chart_values(chart)
    if isinstance(defaults, dict):  # values under a subchart's name are that subchart's values
        defaults = {**defaults, **{k: merged(v, defaults.get(k)) for k, v in subchart_defaults(chart).items()}}
        # a registry-mirror row declares a value the chart's templates read (tests/test_registry.py
        # checks each), although its default values.yaml may not show it (gpu-operator dcgm.imagePullSecrets)
        for row in versions.MIRROR_VALUES.get(chart, ()):
            defaults = _with_path(defaults, row.path.split("."))
    if c.commented_values and isinstance(defaults, dict):
        defaults = {**{k: None for k in c.commented_values}, **defaults}
    out += list(_unknown_keys(values, defaults, upstream.chart_values_schema(chart) or {}, "", c.free_form_values))
    return out


def _storage_only(v: dict) -> bool:
    """A PersistentVolumeClaim's size (a volumeClaimTemplate's `spec.resources`), not a container's."""
    return all(isinstance(x, dict) and set(x) <= {"storage"} for x in (v.get("requests"), v.get("limits"))
               if x is not None)


def check_resources(values: Any, path: str = "") -> list[str]:
    """Every container size we set in chart values has cpu and memory requests *and* limits
    (the platform rule for our own objects, applied to what we hand to charts)."""
    out: list[str] = []
    if isinstance(values, dict):
        for k, v in values.items():
            p = f"{path}.{k}" if path else str(k)
            # container sizes only: prometheus-adapter's rule `resources` (overrides/template) is
            # something else, and says so with its keys
            if k == "resources" and isinstance(v, dict) and v and set(v) <= {"requests", "limits", "claims"} \
                    and not _storage_only(v):
                for part in ("requests", "limits"):
                    for res in ("cpu", "memory"):
                        if not isinstance(v.get(part), dict) or res not in v[part]:
                            out.append(f"{p}: no {part}.{res} (requests and limits for cpu and memory on every container)")
            else:
                out += check_resources(v, p)
    elif isinstance(values, list):
        for i, x in enumerate(values):
            out += check_resources(x, f"{path}[{i}]")
    return out
