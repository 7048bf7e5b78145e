"""The CEL runtime the API server's CRD rules need, for `cel.py`: the environment (the CEL C++
runtime of `cel-expr-python` with its strings and optional-types extensions, plus the functions of
the Kubernetes regex library the pinned rules use), compiled rules and messages, and values typed
as the API server types a rule's `self` (`duration` and `date`/`date-time` strings).
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cel_expr_python import cel as _cel
from cel_expr_python.ext import ext_optional, ext_strings

# --- the CEL environment ------------------------------------------------------------------------
#
# Kubernetes' regex library, by its documented behaviour: `s.find(re)` is the first match or "",
# `s.findAll(re)` every match, `s.findAll(re, n)` at most n (n < 0: all). Python's `re` stands in
# for RE2: the same syntax for what CRDs write; a pattern `re` rejects is an evaluation error.


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as e:
        raise ValueError(f"invalid regular expression {pattern!r}: {e}") from None


def _find(s: str, pattern: str) -> str:
    m = _regex(pattern).search(s)
    return m.group(0) if m else ""


def _find_all(s: str, pattern: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    found = [m.group(0) for m in _regex(pattern).finditer(s)]
    return found if limit < 0 else found[:limit]


def _k8s_functions() -> list[Any]:
    s, i, ls = _cel.Type.STRING, _cel.Type.INT, _cel.Type.List(_cel.Type.STRING)
    return [
        _cel.FunctionDecl("find", [
            _cel.Overload("string_find_string", return_type=s, parameters=[s, s], is_member=True, impl=_find)]),
        _cel.FunctionDecl("findAll", [
            _cel.Overload("string_find_all_string", return_type=ls, parameters=[s, s], is_member=True,
                          impl=_find_all),
            _cel.Overload("string_find_all_string_int", return_type=ls, parameters=[s, s, i], is_member=True,
                          impl=_find_all)]),
    ]


_SELF_TYPES = {"dyn": "DYN", "timestamp": "TIMESTAMP", "duration": "DURATION"}


@lru_cache(maxsize=None)
def environment(self_type: str = "dyn", with_old_self: bool = False) -> Any:
    t = getattr(_cel.Type, _SELF_TYPES[self_type])
    variables = {"self": t, "oldSelf": t} if with_old_self else {"self": t}
    return _cel.NewEnv(variables=variables, functions=_k8s_functions(),
                       extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()])


def _compile_error(e: Exception) -> str:
    # cel-cpp: "INVALID_ARGUMENT: ERROR: <input>:1:10: undeclared reference to 'x' ...\n | source\n | ^"
    first = str(e).splitlines()[0] if str(e) else type(e).__name__
    return re.sub(r"^[A-Z_]+: (ERROR: )?(<input>:\d+:\d+: )?", "", first).strip()


@dataclass(frozen=True)
class Compiled:
    program: Any | None   # None: not evaluated at synth (a transition rule, or unsupported)
    transition: bool      # reads oldSelf
    unsupported: str      # why it can't be evaluated here; "" when it can (or is a plain transition rule)


@lru_cache(maxsize=None)
def compile_rule(rule: str, self_type: str = "dyn", optional_old_self: bool = False) -> Compiled:
    try:
        return Compiled(environment(self_type).compile(rule), False, "")
    except Exception as e:  # noqa: BLE001 - cel-cpp raises RuntimeError with the checker's message
        error = _compile_error(e)
    try:
        environment(self_type, True).compile(rule)
    except Exception:  # noqa: BLE001
        return Compiled(None, False, error)
    if optional_old_self:
        return Compiled(None, True, "optionalOldSelf: runs on create with oldSelf = optional.none(), "
                                    "which this evaluator doesn't bind")
    return Compiled(None, True, "")


@lru_cache(maxsize=None)
def compile_message(expr: str) -> Any | None:
    try:
        return environment().compile(expr)
    except Exception:  # noqa: BLE001 - the API server falls back to `message` too
        return None


# --- values as the API server types them ----------------------------------------------------------

_GO_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration(text: str) -> _dt.timedelta | None:
    """Go's time.ParseDuration (the `duration` format): "1h30m", "-1.5s", "300ms", "0"; None if invalid."""
    sign, rest = (-1, text[1:]) if text.startswith("-") else (1, text[1:] if text.startswith("+") else text)
    if rest == "0":
        return _dt.timedelta(0)
    pos, seconds = 0, 0.0
    while pos < len(rest):
        m = _GO_DURATION.match(rest, pos)
        if m is None or m.group(1) in ("", "."):
            return None
        seconds += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    return _dt.timedelta(seconds=sign * seconds) if rest else None


def _timestamp(text: str, date_only: bool) -> _dt.datetime | None:
    if date_only != (len(text) == 10) or not date_only and "T" not in text.upper():
        return None
    try:
        t = _dt.datetime.fromisoformat(text + "T00:00:00+00:00" if date_only else text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def typed_self(value: Any, self_type: str) -> Any:
    """A formatted string as the timestamp/duration the rule's `self` is declared as; a value that
    doesn't parse stays a string, and the typed variable then makes the rule an evaluation error."""
    if not isinstance(value, str) or self_type == "dyn":
        return value
    parsed = go_duration(value) if self_type == "duration" else _timestamp(value, len(value) == 10)
    return value if parsed is None else parsed
