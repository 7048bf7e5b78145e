"""YAML in and out, one way for the whole code base: libyaml when PyYAML has it (an order of
magnitude faster on megabyte CRDs and embedded manifests), the pure-Python classes otherwise."""
from __future__ import annotations

from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(data: Any, **kw: Any) -> str:
    """Safe YAML text of `data` (keyword arguments as for `yaml.dump`)."""
    return yaml.dump(data, Dumper=DUMPER, **kw)


def load_all(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=LOADER))
