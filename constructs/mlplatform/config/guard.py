"""The destructive-change guard's per-env settings (`guard:` in environments/<env>.yaml).

The guard (`mlplatform/guard.py`, run by `python app.py check` and `diff`) compares the new
`dist/<env>/` with the base ref and refuses changes the API server cannot apply in place or that
destroy state. `allow` is the reviewed way through: each entry names one object (and optionally
one field) exactly as the guard prints it, with the reason a reviewer reads in the PR.
"""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from .strict import StrictModel

# Kind/name or Kind/namespace/name (names as Kubernetes allows them, RBAC's "system:..." included),
# or a bare env name (the env-wide prune limit).
_OBJECT_RE = re.compile(r"^[A-Z][A-Za-z0-9]*/([a-z0-9][-a-z0-9.]*/)?[A-Za-z0-9][-A-Za-z0-9.:_@]*$")
_ENV_RE = re.compile(r"^[a-z0-9][-a-z0-9]*$")


class _Model(StrictModel):
    """Unknown keys are errors; scalars are strict (config/strict.py)."""


class AllowedChange(_Model):
    """One reviewed exception: a change the guard would refuse, let through on purpose."""

    object: str = Field(description="Kind/name or Kind/namespace/name as the guard prints it (e.g. "
                                    "PersistentVolumeClaim/airflow/efs-shared-airflow), or the env's name "
                                    "for the prune limit")
    field: str | None = Field(default=None, description="the field the guard names, e.g. spec.selector (covers "
                                                        "everything below it); (object) for a removal, prune for the "
                                                        "env's prune limit; omit: every refused change of the object")
    reason: str = Field(description="why this is safe (at least 10 characters): reviewers read it in the PR")

    @field_validator("object")
    @classmethod
    def _object_shape(cls, v: str) -> str:
        if not (_OBJECT_RE.match(v) or _ENV_RE.match(v)):
            raise ValueError(f"{v!r} is not an object the guard names: use Kind/name, Kind/namespace/name "
                             "(as printed by `python app.py diff`) or the env's name for the prune limit")
        return v

    @field_validator("field")
    @classmethod
    def _field_shape(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or v != v.strip()):
            raise ValueError("must be a field path such as spec.selector (no surrounding blanks), or omitted")
        return v

    @field_validator("reason")
    @classmethod
    def _reason_says_something(cls, v: str) -> str:
        if len(v.strip()) < 10:
            raise ValueError("say why this change is safe (at least 10 characters): reviewers read it in the PR")
        return v.strip()


class GuardConfig(_Model):
    max_prune_percent: Annotated[int, Field(ge=0, le=100)] = Field(
        default=10, description="refuse a change after which Argo CD would delete more than this share (percent) "
                                "of the env's objects")
    allow: list[AllowedChange] = Field(
        default_factory=list, description="reviewed exceptions, each with a reason; remove an entry once its change "
                                          "has merged (a stale entry is reported)")
