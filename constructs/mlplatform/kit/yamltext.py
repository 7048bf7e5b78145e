"""YAML in and out, one way for the whole code base: libyaml when PyYAML has it (an order of
magnitude faster on megabyte CRDs and embedded manifests), the pure-Python classes otherwise."""
from __future__ import annotations

from typing import Any

import yaml

_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader, plus: a plain `=` scalar (YAML 1.1's `!!value` tag, which one Prometheus
    Operator CRD contains) stays the string "=" instead of failing the whole file."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
LOADER = _Loader
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(data: Any, **kw: Any) -> str:
    """Safe YAML text of `data` (keyword arguments as for `yaml.dump`)."""
    return yaml.dump(data, Dumper=DUMPER, **kw)


def load_all(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=LOADER))
