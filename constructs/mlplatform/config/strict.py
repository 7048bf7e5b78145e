"""Strict scalars for config models: YAML 1.1 is ambiguous, the config must not be.

`yes`/`on` are booleans in YAML 1.1, and pydantic's lax mode turns a boolean into the integer 1 (the
text "3" into the integer 3, "1" into True): `keycloak.instances: yes` would synthesize one
instance. Every config model is `strict` -- no bool<->int, no text->number, no number->text, no
float->int truncation --, which is what the exported JSON Schema says, so the editor and the loader
agree (tests/test_config.py feeds both the same values at every field of the env files).

The one explicit coercion: an integral float (`2.0`) given to an integer field is the integer 2,
because a JSON Schema validator (the editor) accepts it as an `integer` too. `2.5` stays an error.
"""
from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


def _takes_int(annotation: Any) -> bool:
    """Is `int` what the field holds (alone or in a union, e.g. `int | None`)? Not `bool`."""
    if annotation is int:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_takes_int(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Annotated:
        return _takes_int(typing.get_args(annotation)[0])
    return False


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _integral_float_is_int(cls, v: Any, info: ValidationInfo) -> Any:
        if isinstance(v, float) and v.is_integer() and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and _takes_int(field.annotation):
                return int(v)
        return v


Loc = tuple[Any, ...]


class FieldProblems(ValueError):
    """Cross-field problems found by a model validator, each at the field it is about (a loc
    relative to the validated model, list items by index, e.g. ("serving", "models", 2, "team")),
    so the loader reports `file:<that field's line>: serving.models[2].team: message` instead of
    the model's first line. `str()` keeps every message for callers that only print it."""

    def __init__(self, problems: list[tuple[Loc, str]]):
        self.problems = problems
        super().__init__("; ".join(msg for _, msg in problems))


def raise_problems(problems: list[tuple[Loc, str]]) -> None:
    if problems:
        raise FieldProblems(problems)
