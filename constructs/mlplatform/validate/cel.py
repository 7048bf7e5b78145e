"""Custom resources: the pinned CRDs' `x-kubernetes-validations` (CEL) rules, evaluated at synth.

`crd.py` checks a custom resource against the CRD's OpenAPI schema; the API server also runs the
CRD's CEL rules (Karpenter's requirement and selector-term rules, External Secrets' "exactly one
of", Kubeflow Trainer's name rules, ...). A rule we didn't run is a sync Argo CD can't apply, so
every rule runs here too, the way the API server runs it:

* a rule runs at the schema node that declares it, on every value there: under `items` once per
  item, under `additionalProperties` once per map value; never on an absent or null field;
* `self` is the node's value after structural defaulting (the schema's `default`s filled in),
  typed as the API server types it: `integer` -> int, `number` -> double, `string` of format
  `byte` -> bytes; a rule declared on a `date`/`date-time`/`duration` string gets a timestamp/
  duration `self`. Property names are escaped (`foo-bar` -> `foo__dash__bar`; a keyword such as
  `namespace` -> `__namespace__`, and still reachable as `namespace`). At the root,
  `self.metadata` holds only `name` and `generateName`. `status` is the controller's: not checked;
* transition rules (those that read `oldSelf`) need the stored object, which a synth doesn't
  have: they are skipped and counted (`STATS["transition_skipped"]`);
* the message is the rule's `messageExpression` when that gives a non-empty one-line string, else
  its `message`, else "failed rule"; `fieldPath` refines the reported path.

The evaluator is the CEL C++ runtime (`cel-expr-python`) with its strings and optional-types
extensions. The Kubernetes CEL library functions the pinned rules use beyond those (`find`, and
`findAll` with it, of the regex library) are implemented in `cel_runtime.py`, with the typing of
`self`. A rule that doesn't compile here
(an unimplemented library function, say) never passes silently: `survey()` lists it (a test pins
that list, so a CRD bump surfaces it) and it is reported as a problem wherever it would run.
Known approximation: a `date-time`/`duration` string *nested inside* a rule's `self` reaches CEL
as a string (the binding takes typed values only for top-level variables); a rule that uses it as
a timestamp fails with an evaluation error rather than passing. No pinned rule reads one.

Problems read `<path>: <message> (x-kubernetes-validations rule: <rule>)`, memoized by object
body like the schema results in `validate/__init__.py`.
"""
from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cel_expr_python import cel as _cel

from ..kit import upstream, versions
from ..kit.meta import Obj
from .cel_runtime import compile_message, compile_rule, environment, typed_self

SUFFIX = "x-kubernetes-validations rule"
# What happened, process-wide: rules evaluated / failed / errored / not evaluable, transition rules
# skipped (no old object at synth) and memo hits. For tests and measurements; nothing depends on it.
STATS: Counter[str] = Counter()

# --- the schema, walked lazily ------------------------------------------------------------------

_RESERVED = frozenset({"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
                       "function", "if", "import", "let", "loop", "package", "namespace", "return",
                       "var", "void", "while"})
_PLAIN_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPABLE = re.compile(r"[A-Za-z_.\-/][A-Za-z0-9_.\-/]*")
_ESCAPES = re.compile(r"__|[.\-/]")
_ESCAPE_TO = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
_MISSING = object()


def escape(name: str) -> str | None:
    """The CEL field name of a schema property (Kubernetes' escaping); None: not reachable from CEL."""
    if name in _RESERVED:
        return f"__{name}__"
    if _PLAIN_IDENT.fullmatch(name) and "__" not in name:
        return name
    if not _ESCAPABLE.fullmatch(name):
        return None
    return _ESCAPES.sub(lambda m: _ESCAPE_TO[m.group(0)], name)


@dataclass(frozen=True)
class Rule:
    kind: str          # the CRD's kind
    where: str         # schema location: `spec.requirements[*].key`, `spec.tags{*}`, `(root)`
    rule: str
    message: str
    message_expression: str
    field_path: str
    optional_old_self: bool
    self_type: str     # dyn | timestamp | duration


def _rules_of(s: dict, kind: str, where: str) -> tuple[Rule, ...]:
    fmt = s.get("format") if s.get("type") == "string" else None
    self_type = "timestamp" if fmt in ("date", "date-time") else "duration" if fmt == "duration" else "dyn"
    return tuple(Rule(kind, where, r["rule"], r.get("message") or "", r.get("messageExpression") or "",
                      r.get("fieldPath") or "", bool(r.get("optionalOldSelf")), self_type)
                 for r in s.get("x-kubernetes-validations") or () if isinstance(r, dict) and "rule" in r)


def _scan(s: dict, below: dict[int, bool]) -> bool:
    """Fill `below[id(node)]`: does the node or anything under it declare a rule? (One pass per CRD.)"""
    found = "x-kubernetes-validations" in s
    for ps in (s.get("properties") or {}).values():
        if isinstance(ps, dict) and _scan(ps, below):
            found = True
    for k in ("items", "additionalProperties"):
        if isinstance(s.get(k), dict) and _scan(s[k], below):
            found = True
    below[id(s)] = found
    return found


def _where(parent: str, step: str) -> str:
    return step.lstrip(".") if parent == "(root)" else parent + step


class _Node:
    """One schema node; children, defaults and CEL names are worked out when a value needs them."""

    __slots__ = ("s", "kind", "where", "type", "rules", "conv", "nullable", "_kids", "_defaults", "_renames")

    def __init__(self, s: dict, kind: str, where: str):
        self.s, self.kind, self.where = s, kind, where
        self.type = s.get("type")
        self.rules = _rules_of(s, kind, where)
        self.conv = "double" if self.type == "number" else \
            "byte" if self.type == "string" and s.get("format") == "byte" else None
        self.nullable = bool(s.get("nullable"))
        self._kids: dict[Any, _Node | None] = {}
        self._defaults: tuple[tuple[str, Any], ...] | None = None
        self._renames: dict[str, tuple[str, ...]] | None = None

    def _kid(self, key: Any, s: Any, step: str) -> _Node | None:
        if key not in self._kids:
            self._kids[key] = _Node(s, self.kind, _where(self.where, step)) if isinstance(s, dict) else None
        return self._kids[key]

    def prop(self, name: str) -> _Node | None:
        return self._kid(name, (self.s.get("properties") or {}).get(name), f".{name}")

    def items(self) -> _Node | None:
        return self._kid(0, self.s.get("items"), "[*]")

    def values(self) -> _Node | None:
        return self._kid(1, self.s.get("additionalProperties"), "{*}")

    def defaults(self) -> tuple[tuple[str, Any], ...]:
        if self._defaults is None:
            self._defaults = tuple((k, ps["default"]) for k, ps in (self.s.get("properties") or {}).items()
                                   if isinstance(ps, dict) and "default" in ps)
        return self._defaults

    def renames(self) -> dict[str, tuple[str, ...]]:
        """Property -> its CEL field names, for the properties whose name CEL can't use as is."""
        if self._renames is None:
            self._renames = {}
            for name in self.s.get("properties") or {}:
                cel_name = escape(name)
                if cel_name != name:
                    self._renames[name] = () if cel_name is None else \
                        (cel_name, name) if name in _RESERVED else (cel_name,)
        return self._renames


def _served_schema(pin: versions.CrdPin) -> dict:
    doc = upstream.crd_document(pin.kind, pin.group)
    return next(v for v in doc["spec"]["versions"] if v["name"] == pin.version)["schema"]["openAPIV3Schema"]


class RuleSet:
    """The rules of one CRD version (its `openAPIV3Schema`), reached through the schema."""

    def __init__(self, kind: str, schema: dict):
        self.below: dict[int, bool] = {}   # keyed by id() of the schema's dicts, which `schema` keeps alive
        self.any = _scan(schema, self.below)
        self.schema = schema
        self.root = _Node(schema, kind, "(root)")
        self.root_reads_metadata = bool(self.root.rules)


@lru_cache(maxsize=None)
def rules_for(api_version: str, kind: str) -> RuleSet | None:
    """The CEL rules of the pinned CRD serving this apiVersion/kind; None if it has none (or no pin)."""
    pin = versions.crd_for(api_version, kind)
    if pin is None or pin.api_version != api_version:
        return None
    rs = RuleSet(pin.kind, _served_schema(pin))
    return rs if rs.any else None


# --- evaluation -----------------------------------------------------------------------------------


def _step(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


class _Run:
    def __init__(self, rs: RuleSet):
        self.below = rs.below
        self.problems: list[str] = []

    def visit(self, value: Any, node: _Node, path: str, under: bool, root: bool = False) -> Any:
        """The value as a rule's `self` sees it (defaulted, typed); runs the rules at and under `node`."""
        if value is None:
            return value
        active = under or bool(node.rules)   # a rule here or above sees this value
        if not active and not self.below[id(node.s)]:
            return value
        t = node.type
        if t == "object" and not isinstance(value, dict) or t == "array" and not isinstance(value, list):
            return value  # the schema check reports the wrong type; rules would only add noise
        mark = len(self.problems)
        out = value
        if isinstance(value, dict):
            out = self._object(value, node, path, active, root)
        elif isinstance(value, list):
            child = node.items()
            if child is not None:
                items = [self.visit(v, child, _step(path, i), active) for i, v in enumerate(value)]
                if any(a is not b for a, b in zip(items, value)):
                    out = items
        elif node.conv == "double":
            if isinstance(value, int) and not isinstance(value, bool):
                out = float(value)
        elif node.conv == "byte" and isinstance(value, str):
            try:
                out = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                pass  # not base64: the schema's format check; CEL sees the string
        if node.rules:
            self.problems[mark:mark] = self.evaluate(out, node.rules, path)  # before the children's
        return out

    def _object(self, value: dict, node: _Node, path: str, active: bool, root: bool) -> dict:
        changed: dict[str, Any] = {}
        if "properties" in node.s:
            for name, v in value.items():
                if root and name in ("metadata", "status"):
                    continue
                child = node.prop(name)
                if child is None:
                    continue  # an unknown field: the schema check's
                nv = self.visit(v, child, _step(path, name), active)
                if nv is not v:
                    changed[name] = nv
            for name, default in node.defaults():
                if value.get(name) is not None or name in value and node.prop(name).nullable:
                    continue
                child = node.prop(name)
                if active or self.below[id(child.s)]:
                    changed[name] = self.visit(copy.deepcopy(default), child, _step(path, name), active)
        else:
            child = node.values()
            if child is not None:
                for k, v in value.items():
                    nv = self.visit(v, child, _step(path, k), active)
                    if nv is not v:
                        changed[k] = nv
        renames = node.renames() if active else None
        if not changed and not renames:
            return value
        out = {**value, **changed}
        for name, cel_names in (renames or {}).items():
            if name in out:
                v = out.pop(name)
                for cn in cel_names:
                    out[cn] = v
        return out

    def evaluate(self, value: Any, rules: tuple[Rule, ...], path: str) -> list[str]:
        found: list[str] = []
        activations: dict[str, Any] = {}
        for r in rules:
            c = compile_rule(r.rule, r.self_type, r.optional_old_self)
            at = path + r.field_path if r.field_path.startswith(("[", ".")) else \
                _step(path, r.field_path) if r.field_path else path
            at = at or "(root)"
            if c.program is None and not c.unsupported:
                STATS["transition_skipped"] += 1
                continue
            if c.program is None:
                STATS["unsupported"] += 1
                found.append(f"{at}: rule not evaluated: {c.unsupported} ({SUFFIX}: {r.rule})")
                continue
            activation = activations.get(r.self_type)
            if activation is None:
                activation = activations[r.self_type] = environment(r.self_type).Activation(
                    {"self": typed_self(value, r.self_type)})
            STATS["evaluated"] += 1
            res = c.program.eval(activation)
            rtype = res.type()
            if rtype == _cel.Type.BOOL and res.value() is True:
                continue
            if rtype == _cel.Type.ERROR:
                STATS["errors"] += 1
                error = re.sub(r"^[A-Z_]+: ", "", str(res.value()))  # cel-cpp's status code prefix
                found.append(f"{at}: rule evaluation error: {error} ({SUFFIX}: {r.rule})")
            elif rtype != _cel.Type.BOOL:
                STATS["errors"] += 1
                found.append(f"{at}: rule gives {rtype.name().lower()}, not bool ({SUFFIX}: {r.rule})")
            else:
                STATS["failed"] += 1
                found.append(f"{at}: {_message(r, activation)} ({SUFFIX}: {r.rule})")
        return found


def _message(r: Rule, activation: Any) -> str:
    if r.message_expression and r.self_type == "dyn":
        program = compile_message(r.message_expression)
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
    body = _body(rs, obj)
    key = (av, kind, json.dumps(body, sort_keys=True, separators=(",", ":"), default=str))
    hit = _MEMO.get(key)
    if hit is None:
        hit = _MEMO[key] = tuple(_problems(rs, body))
    else:
        STATS["memo_hits"] += 1
    return list(hit)


def _body(rs: RuleSet, obj: Obj) -> dict:
    """What the rules can see: everything but status, and of metadata only name and generateName."""
    body = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    meta = obj.get("metadata")
    if rs.root_reads_metadata and isinstance(meta, dict):
        body["metadata"] = {k: meta[k] for k in ("name", "generateName") if k in meta}
    return body


def _problems(rs: RuleSet, body: dict) -> list[str]:
    run = _Run(rs)
    run.visit(body, rs.root, "", False, root=True)
    return run.problems


def check_with(rs: RuleSet, obj: Obj) -> list[str]:
    """`check_object` against an explicit rule set, unmemoized (tests use hand-written schemas)."""
    return _problems(rs, _body(rs, obj))


# --- the inventory: every rule the pinned CRDs declare, and what we can't run -----------------------


@dataclass(frozen=True)
class Survey:
    rules: tuple[Rule, ...]                       # every rule of every pinned CRD version we emit
    transition: tuple[Rule, ...]                  # read oldSelf: skipped at synth
    unsupported: tuple[tuple[Rule, str], ...]     # (rule, why): reported wherever they'd run
    status: tuple[Rule, ...]                      # under .status: the controller's, never checked


def _all_rules(s: dict, kind: str, where: str, out: list[Rule], odd: list[tuple[Rule, str]]) -> None:
    out += _rules_of(s, kind, where)
    for name, ps in (s.get("properties") or {}).items():
        if isinstance(ps, dict):
            _all_rules(ps, kind, _where(where, f".{name}"), out, odd)
    for k, step in (("items", "[*]"), ("additionalProperties", "{*}")):
        if isinstance(s.get(k), dict):
            _all_rules(s[k], kind, _where(where, step), out, odd)
    for k in ("allOf", "anyOf", "oneOf", "not"):
        for sub in ([s[k]] if k == "not" else s[k]) if k in s else ():
            if isinstance(sub, dict):
                nested: list[Rule] = []
                _all_rules(sub, kind, f"{where}<{k}>", nested, odd)
                odd += [(r, f"declared under {k}: this evaluator doesn't run rules there") for r in nested]


def survey() -> Survey:
    """Classify every rule of every pinned CRD (compiles them all: for tests and the README)."""
    rules, odd = [], []
    for pin in versions.CRDS:
        _all_rules(_served_schema(pin), pin.kind, "(root)", rules, odd)
    status = tuple(r for r in rules if r.where == "status" or r.where.startswith(("status.", "status[")))
    transition, unsupported = [], list(odd)
    for r in rules:
        if r in status:
            continue
        c = compile_rule(r.rule, r.self_type, r.optional_old_self)
        if c.transition:
            transition.append(r)
        if c.unsupported:
            unsupported.append((r, c.unsupported))
    return Survey(tuple(rules), tuple(transition), tuple(unsupported), status)
