"""Custom resources: the pinned CRDs' `x-kubernetes-validations` (CEL) rules, evaluated at synth.

`crd.py` checks a custom resource against the CRD's OpenAPI schema; the API server also runs the
CRD's CEL rules (Karpenter's requirement and selector-term rules, External Secrets' "exactly one
of", Kubeflow Trainer's name rules, ...). A rule we didn't run is a rejected sync at apply time,
so every rule runs here too, the way the API server runs it:

* a rule runs at the schema node that declares it, on every value there: under `items` once per
  item, under `additionalProperties` once per map value, never on an absent or null field;
* `self` is the node's value after structural defaulting (schema `default`s filled in), typed
  like the API server types it: `number` -> double, `integer` -> int, `string` of format
  `byte`/`date`/`date-time`/`duration` -> bytes/timestamp/duration, property names escaped
  (`foo-bar` -> `foo__dash__bar`, `namespace` -> `__namespace__`, also reachable unescaped);
  at the root, `self.metadata` holds only `name` and `generateName`;
* transition rules (those that read `oldSelf`) need the stored object, which a synth doesn't
  have: they are skipped and counted (`STATS["transition_skipped"]`);
* the message is the rule's `messageExpression` when it gives a non-empty one-line string, else
  `message`, else "failed rule"; `fieldPath` refines the reported path.

The evaluator is Google's CEL C++ runtime (`cel-expr-python`) with the strings and optional
extensions. The Kubernetes CEL library functions our pinned rules use beyond those (`find`,
`findAll` of the regex library) are implemented below. A rule that doesn't compile here (an
unimplemented library function, say) is never a silent pass: it is listed by `survey()` (a test
pins that list) and reported as a problem wherever it would have run.

Problems read `<path>: <message> (x-kubernetes-validations rule: <rule>)` and are memoized by
object body, like the schema results in `validate/__init__.py`.
"""
from __future__ import annotations

import base64
import binascii
import copy
import datetime as _dt
import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cel_expr_python import cel as _cel
from cel_expr_python.ext import ext_optional, ext_strings

from ..kit import upstream, versions
from ..kit.meta import Obj

SUFFIX = "x-kubernetes-validations rule"
# What happened, process-wide: rules evaluated, failed, errored, unsupported, transition rules
# skipped (no old object at synth), and memo hits. Tests and `bench` read it; nothing depends on it.
STATS: Counter[str] = Counter()

# --- the CEL environment -------------------------------------------------------------------------

# Kubernetes' regex library (k8s.io/apiserver/pkg/cel/library/regex.go), by its documented
# behaviour: `s.find(re)` is the first match or "", `s.findAll(re[, limit])` every match (at most
# `limit`; a negative limit means all). Python's `re` stands in for RE2 (same syntax for the
# patterns CRDs use; a pattern `re` rejects is an evaluation error, as a bad RE2 pattern is).


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
    out = [m.group(0) for m in _regex(pattern).finditer(s)]
    return out if limit < 0 else out[:limit]


def _k8s_functions() -> list[Any]:
    S, I, L = _cel.Type.STRING, _cel.Type.INT, _cel.Type.List(_cel.Type.STRING)
    return [
        _cel.FunctionDecl("find", [_cel.Overload("string_find_string", return_type=S, parameters=[S, S],
                                                 is_member=True, impl=_find)]),
        _cel.FunctionDecl("findAll", [
            _cel.Overload("string_find_all_string", return_type=L, parameters=[S, S], is_member=True, impl=_find_all),
            _cel.Overload("string_find_all_string_int", return_type=L, parameters=[S, S, I], is_member=True,
                          impl=_find_all)]),
    ]


@lru_cache(maxsize=None)
def _env(with_old_self: bool = False) -> Any:
    variables = {"self": _cel.Type.DYN}
    if with_old_self:
        variables["oldSelf"] = _cel.Type.DYN
    return _cel.NewEnv(variables=variables, functions=_k8s_functions(),
                       extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()])


def _compile_error(e: Exception) -> str:
    # cel-cpp: "INVALID_ARGUMENT: ERROR: <input>:1:10: undeclared reference to 'x' ...\n | source\n | ^"
    first = str(e).splitlines()[0]
    return re.sub(r"^[A-Z_]+: (ERROR: )?(<input>:\d+:\d+: )?", "", first).strip()


@dataclass(frozen=True)
class Compiled:
    program: Any | None   # None: not evaluated here (transition or unsupported)
    transition: bool
    unsupported: str      # why this rule can't be evaluated here ("" when it can)


@lru_cache(maxsize=None)
def compile_rule(rule: str, optional_old_self: bool = False) -> Compiled:
    try:
        return Compiled(_env().compile(rule), False, "")
    except Exception as e:  # cel-cpp raises RuntimeError with the checker's message
        error = _compile_error(e)
    try:
        _env(True).compile(rule)
    except Exception:
        return Compiled(None, False, error)
    if optional_old_self:
        return Compiled(None, True, "optionalOldSelf rule: needs oldSelf as optional.none() on create")
    return Compiled(None, True, "")


@lru_cache(maxsize=None)
def _compile_message(expr: str) -> Any | None:
    try:
        return _env().compile(expr)
    except Exception:
        return None


# --- the schema, reduced to what the rules need ---------------------------------------------------

_RESERVED = frozenset({"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
                       "function", "if", "import", "let", "loop", "package", "namespace", "return",
                       "var", "void", "while"})
_PLAIN_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPABLE = re.compile(r"[A-Za-z_.\-/][A-Za-z0-9_.\-/]*")
_ESCAPES = re.compile(r"__|[.\-/]")
_ESCAPE_TO = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
_FORMATS = ("byte", "date", "date-time", "duration")
_MISSING = object()


def escape(name: str) -> str | None:
    """The CEL field name of a schema property (Kubernetes' escaping); None: not reachable from CEL."""
    if name in _RESERVED:
        return f"__{name}__"
    if _PLAIN_IDENT.fullmatch(name) and "__" not in name:
        return name
    if not _ESCAPABLE.fullmatch(name) or name[0].isdigit():
        return None
    return _ESCAPES.sub(lambda m: _ESCAPE_TO[m.group(0)], name)


@dataclass(frozen=True)
class Rule:
    kind: str          # the CRD's kind
    where: str         # schema location: spec.requirements[*].key, spec.tags{*}, (root)
    rule: str
    message: str
    message_expression: str
    field_path: str
    optional_old_self: bool


class _Node:
    """A schema node on the way to (or under) a rule; irrelevant subtrees are dropped."""

    __slots__ = ("type", "rules", "props", "items", "values", "default", "nullable", "conv", "renames")

    def __init__(self, s: dict):
        self.type = s.get("type")
        self.rules: tuple[Rule, ...] = ()
        self.props: dict[str, _Node] = {}
        self.items: _Node | None = None
        self.values: _Node | None = None
        self.default: Any = _MISSING
        self.nullable = bool(s.get("nullable"))
        fmt = s.get("format")
        self.conv = ("double" if self.type == "number" else
                     fmt if self.type == "string" and fmt in _FORMATS else None)
        self.renames: dict[str, tuple[str, ...]] = {}


def _where(parent: str, step: str) -> str:
    return step.lstrip(".") if parent == "(root)" else parent + step


class _Builder:
    def __init__(self, kind: str):
        self.kind = kind
        self.rules: list[Rule] = []
        self.misplaced: list[Rule] = []   # under allOf/anyOf/oneOf/not: the API server forbids them there

    def _rules_of(self, s: dict, where: str) -> tuple[Rule, ...]:
        return tuple(Rule(self.kind, where, r["rule"], r.get("message") or "", r.get("messageExpression") or "",
                          r.get("fieldPath") or "", bool(r.get("optionalOldSelf")))
                     for r in s.get("x-kubernetes-validations") or ())

    def _junctors(self, s: dict, where: str) -> None:
        for k in ("allOf", "anyOf", "oneOf", "not"):
            for sub in (s.get(k) if k != "not" else [s.get("not")]) or ():
                if isinstance(sub, dict):
                    self.misplaced += self._rules_of(sub, f"{where}<{k}>")
                    self._junctors(sub, where)

    def build(self, s: dict, where: str, under_rule: bool, root: bool = False) -> _Node | None:
        node = _Node(s)
        node.rules = self._rules_of(s, where)
        self.rules += node.rules
        if any(k in s for k in ("allOf", "anyOf", "oneOf", "not")):
            self._junctors(s, where)
        ur = under_rule or bool(node.rules)
        keep = bool(node.rules) or (ur and node.conv is not None)
        for name, ps in (s.get("properties") or {}).items():
            if root and name in ("metadata", "status"):
                continue  # metadata: ObjectMeta, checked on its own; status: the controller's
            child = self.build(ps, _where(where, f".{name}"), ur)
            if child is None and ur and "default" in ps:
                child = _Node(ps)
            if child is not None:
                child.default = ps.get("default", _MISSING)
                node.props[name] = child
            if ur:
                cel_name = escape(name)
                if cel_name != name:
                    node.renames[name] = (cel_name, name) if cel_name and name in _RESERVED else \
                        (cel_name,) if cel_name else ()
        if isinstance(s.get("items"), dict):
            node.items = self.build(s["items"], _where(where, "[*]"), ur)
        if isinstance(s.get("additionalProperties"), dict):
            node.values = self.build(s["additionalProperties"], _where(where, "{*}"), ur)
        keep = keep or bool(node.props) or node.items is not None or node.values is not None or bool(node.renames)
        return node if keep or root else None


class RuleSet:
    """The rules of one pinned CRD version, and the schema skeleton that reaches them."""

    def __init__(self, pin: versions.CrdPin):
        doc = upstream.crd_document(pin.kind, pin.group)
        version = next(v for v in doc["spec"]["versions"] if v["name"] == pin.version)
        b = _Builder(pin.kind)
        self.root = b.build(version["schema"]["openAPIV3Schema"], "(root)", False, root=True)
        self.rules: tuple[Rule, ...] = tuple(b.rules)
        self.misplaced: tuple[Rule, ...] = tuple(b.misplaced)
        self.root_reads_metadata = bool(self.root.rules)


@lru_cache(maxsize=None)
def rules_for(api_version: str, kind: str) -> RuleSet | None:
    """The CEL rules of the pinned CRD serving this apiVersion/kind; None if it has none (or no pin)."""
    pin = versions.crd_for(api_version, kind)
    if pin is None or pin.api_version != api_version:
        return None
    rs = RuleSet(pin)
    return rs if rs.rules or rs.misplaced else None


# --- values as the API server types them ----------------------------------------------------------

_GO_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _go_duration(text: str) -> _dt.timedelta | None:
    """Go's time.ParseDuration (the `duration` format): "1h30m", "-1.5s", "300ms", "0"."""
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


def _typed_string(value: str, fmt: str) -> Any:
    """bytes / google.protobuf.Timestamp / Duration for the formats the API server types; a value
    that doesn't parse stays a string (the format check is the schema's; a rule that uses it as a
    timestamp then fails with an evaluation error instead of passing on a wrong type)."""
    if fmt == "byte":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value
    from google.protobuf import duration_pb2, timestamp_pb2  # only when a formatted value is present
    if fmt == "duration":
        d = _go_duration(value)
        if d is None:
            return value
        msg = duration_pb2.Duration()
        msg.FromTimedelta(d)
        return msg
    try:
        t = _dt.datetime.fromisoformat(value if fmt == "date-time" else value + "T00:00:00+00:00")
    except ValueError:
        return value
    if fmt == "date" and len(value) != 10 or fmt == "date-time" and "T" not in value.upper():
        return value
    msg = timestamp_pb2.Timestamp()
    msg.FromDatetime(t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc))
    return msg


# --- evaluation -----------------------------------------------------------------------------------


def _step(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]" if path else f"[{name}]"
    return f"{path}.{name}" if path else name


class _Run:
    def __init__(self):
        self.problems: list[str] = []

    def visit(self, value: Any, node: _Node, path: str) -> Any:
        """`value` typed and defaulted as the API server sees it; runs the rules in the subtree."""
        if value is None:
            return value
        t = node.type
        if t == "object" and not isinstance(value, dict) or t == "array" and not isinstance(value, list):
            return value  # the schema check reports the wrong type; rules would only add noise
        mark = len(self.problems)
        out = value
        if isinstance(value, dict):
            out = self._object(value, node, path)
        elif isinstance(value, list) and node.items is not None:
            items = [self.visit(v, node.items, _step(path, i)) for i, v in enumerate(value)]
            if any(a is not b for a, b in zip(items, value)):
                out = items
        elif node.conv == "double":
            if isinstance(value, int) and not isinstance(value, bool):
                out = float(value)
        elif node.conv is not None and isinstance(value, str):
            out = _typed_string(value, node.conv)
        if node.rules:
            own = self.evaluate(out, node.rules, path)
            self.problems[mark:mark] = own  # a node's own problems before its children's
        return out

    def _object(self, value: dict, node: _Node, path: str) -> dict:
        changed: dict[str, Any] = {}
        for name, child in node.props.items():
            v = value.get(name, _MISSING)
            if v is _MISSING or (v is None and not child.nullable):
                if child.default is _MISSING:
                    continue
                v = copy.deepcopy(child.default)
                changed[name] = v
            nv = self.visit(v, child, _step(path, name))
            if nv is not v or name in changed:
                changed[name] = nv
        if node.values is not None:
            for k, v in value.items():
                nv = self.visit(v, node.values, _step(path, k))
                if nv is not v:
                    changed[k] = nv
        if not changed and not node.renames:
            return value
        out = {**value, **changed}
        for name, cel_names in node.renames.items():
            if name in out:
                v = out.pop(name)
                for cn in cel_names:
                    out[cn] = v
        return out

    def evaluate(self, value: Any, rules: tuple[Rule, ...], path: str) -> list[str]:
        found: list[str] = []
        activation = None
        for r in rules:
            c = compile_rule(r.rule, r.optional_old_self)
            at = path + r.field_path if r.field_path.startswith(("[", ".")) else \
                _step(path, r.field_path) if r.field_path else path
            at = at or "(root)"
            if c.transition and not c.unsupported:
                STATS["transition_skipped"] += 1
                continue
            if c.program is None:
                STATS["unsupported"] += 1
                found.append(f"{at}: rule not evaluated here: {c.unsupported} ({SUFFIX}: {r.rule})")
                continue
            if activation is None:
                activation = _env().Activation({"self": value})
            STATS["evaluated"] += 1
            res = c.program.eval(activation)
            rtype = res.type()
            if rtype == _cel.Type.BOOL and res.value() is True:
                continue
            if rtype == _cel.Type.ERROR:
                STATS["errors"] += 1
                found.append(f"{at}: rule evaluation error: {res.value()} ({SUFFIX}: {r.rule})")
            elif rtype != _cel.Type.BOOL:
                STATS["errors"] += 1
                found.append(f"{at}: rule evaluated to {rtype.name().lower()}, not bool ({SUFFIX}: {r.rule})")
            else:
                STATS["failed"] += 1
                found.append(f"{at}: {_message(r, activation)} ({SUFFIX}: {r.rule})")
        return found


def _message(r: Rule, activation: Any) -> str:
    if r.message_expression:
        program = _compile_message(r.message_expression)
        if program is not None:
            res = program.eval(activation)
            if res.type() == _cel.Type.STRING:
                text = res.value().strip()
                if text and "\n" not in text:
                    return text
    return r.message or "failed rule"


_MEMO: dict[tuple[str, str, str], tuple[str, ...]] = {}


def check_object(obj: Obj) -> list[str]:
    """Problems of one object under its pinned CRD's CEL rules ([] for core kinds and CRDs without rules)."""
    av, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(av, str) or not isinstance(kind, str):
        return []
    rs = rules_for(av, kind)
    if rs is None:
        return []
    body = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if rs.root_reads_metadata:
        body["metadata"] = {k: meta[k] for k in ("name", "generateName") if k in meta}
    key = (av, kind, json.dumps(body, sort_keys=True, separators=(",", ":"), default=str))
    hit = _MEMO.get(key)
    if hit is None:
        run = _Run()
        run.visit(body, rs.root, "")
        hit = _MEMO[key] = tuple(run.problems)
    else:
        STATS["memo_hits"] += 1
    return list(hit)


# --- the inventory: what the pinned CRDs declare, and what we can't run ---------------------------


@dataclass(frozen=True)
class Survey:
    rules: tuple[Rule, ...]                       # every rule of every pinned CRD version we emit
    transition: tuple[Rule, ...]                  # read oldSelf: skipped at synth
    unsupported: tuple[tuple[Rule, str], ...]     # (rule, why): reported wherever they'd run


def survey() -> Survey:
    """Classify every rule of every pinned CRD (compiles them all: for tests and the README)."""
    rules: list[Rule] = []
    for pin in versions.CRDS:
        rs = rules_for(pin.api_version, pin.kind)
        if rs is not None:
            rules += rs.rules
            rules += rs.misplaced
    transition, unsupported = [], []
    for r in rules:
        c = compile_rule(r.rule, r.optional_old_self)
        if c.transition:
            transition.append(r)
        if c.unsupported:
            unsupported.append((r, c.unsupported))
    for pin in versions.CRDS:
        rs = rules_for(pin.api_version, pin.kind)
        if rs is not None:
            unsupported += [(r, "declared under allOf/anyOf/oneOf/not: not evaluated") for r in rs.misplaced]
    return Survey(tuple(rules), tuple(transition), tuple(unsupported))
