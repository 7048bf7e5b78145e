"""The destructive-change guard's per-env settings (`guard:` in environments/<env>.yaml)."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AllowedChange(_Model):
    """One reviewed exception: a change the guard would refuse, let through on purpose."""

    object: Annotated[str, Field(min_length=3, description="Kind/name or Kind/namespace/name, as the guard prints it")]
    field: str | None = Field(default=None, description="the field path the guard names (omit: any refused change of the object)")
    reason: Annotated[str, Field(min_length=10, description="why this is safe: reviewers read it in the PR")]


class GuardConfig(_Model):
    max_prune_percent: Annotated[int, Field(ge=0, le=100)] = Field(
        default=10, description="refuse a change that removes more than this share of the env's objects")
    allow: list[AllowedChange] = Field(default_factory=list)
