"""Component `registry`: the organisation's registry mirror (issue 17, part 4).

No Application of its own: the images are rewritten where every unit's objects and chart values
are collected (`plan.render`, through `kit/mirror.py`), and the pull Secret lands through the
`secrets` unit. The unit owns the env section (`registry`), the pull credential and the Secrets it
wants; `validate/mirror.py` refuses an env in which an image escapes the mirror.

The unit's public surface: `UNIT` (the registry reads it) and the facts other units may read."""
from __future__ import annotations

from ...kit.component import Component, no_objects
from .access import CREDENTIALS, secrets
from .config import PULL_SECRET

NAME = "registry"

UNIT = Component(
    NAME,
    "the registry mirror every image is pulled from, and its pull Secret",
    no_objects,
    credentials=CREDENTIALS,
    secrets=secrets,
)

__all__ = ["UNIT", "NAME", "PULL_SECRET"]
