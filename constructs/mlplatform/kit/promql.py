"""What a PromQL expression reads: the metric names and the label names it uses, and where.

Not a PromQL parser (promtool judges syntax in the tests); a tokenizer that knows the few
places a name can stand -- enough for the facts check (validate/metrics.py) to ask "is every
metric and label this query uses one the pinned exporters emit?":

* a metric is an identifier that is not a function/aggregation (followed by `(`), not a keyword;
* a label is a matcher name inside `{...}` (tied to the metric right before the brace), a name in
  `by`/`without`/`on`/`ignoring`/`group_left`/`group_right` lists, or the source label of
  `label_replace` (whose target label the expression then has);
* prometheus-adapter templates (`<<.GroupBy>>`, `<<.LabelMatchers>>`) stand for the resource labels.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"""
    (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z_:]))
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=(){},@])
  | (?P<ws>\s+)
""", re.X)
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = GROUPING | {"and", "or", "unless", "bool", "offset", "inf", "nan", "Inf", "NaN"}
AGGREGATIONS = {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile",
                "count_values", "limitk", "limit_ratio"}
# The adapter's templates: GroupBy/LabelMatchers are the labels that tie a series to its
# resources (rules' `resources.overrides`: namespace, pod).
_ADAPTER = {"<<.GroupBy>>": "pod", ",<<.LabelMatchers>>": "", "<<.LabelMatchers>>": ""}


@dataclass
class Uses:
    metrics: set[str] = field(default_factory=set)
    selector_labels: set[tuple[str, str]] = field(default_factory=set)  # (metric, label)
    other_labels: set[str] = field(default_factory=set)  # by/on lists, label_replace sources
    made_labels: set[str] = field(default_factory=set)  # label_replace targets


class PromQLError(ValueError):
    pass


def _unquote(s: str) -> str:
    return s[1:-1]


def tokens(expr: str) -> list[tuple[str, str]]:
    for k, v in _ADAPTER.items():
        expr = expr.replace(k, v)
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise PromQLError(f"cannot read {expr[pos:pos + 20]!r}")
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
    return out


def uses(expr: str) -> Uses:
    """The metrics and labels `expr` reads (raises PromQLError on text it cannot tokenize)."""
    toks, u = tokens(expr), Uses()
    calls: list[tuple[str, int]] = []  # open call: (function, depth inside it)
    strings: dict[int, list[str]] = {}  # label_replace call index -> its string arguments
    depth, i = 0, 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if kind == "ident" and text in GROUPING and nxt == "(":
            j = i + 2
            while j < len(toks) and toks[j][1] != ")":
                if toks[j][0] == "ident":
                    u.other_labels.add(toks[j][1])
                j += 1
            i = j + 1
            continue
        if kind == "ident" and nxt == "(":
            calls.append((text, depth + 1))
            strings[len(calls) - 1] = []
            depth += 1
            i += 2
            continue
        if kind == "ident" and text in AGGREGATIONS and nxt in ("by", "without"):
            i += 1  # `sum by (x) (...)`: the grouping, then its `(`
            continue
        if kind == "ident" and text not in KEYWORDS:
            u.metrics.add(text)
            if nxt == "{":
                i = _matchers(toks, i + 1, text, u)
                continue
        elif text == "{":  # a selector without a metric name
            i = _matchers(toks, i, "", u)
            continue
        elif text == "(":
            calls.append(("", depth + 1))
            depth += 1
        elif text == ")":
            if calls:
                fn, _ = calls.pop()
                args = strings.pop(len(calls), [])
                if fn == "label_replace" and len(args) == 4:
                    u.made_labels.add(args[0])
                    u.other_labels.add(args[2])
            depth -= 1
        elif kind == "str" and calls and calls[-1][0] == "label_replace" and calls[-1][1] == depth:
            strings[len(calls) - 1].append(_unquote(text))
        i += 1
    return u


def _matchers(toks, i: int, metric: str, u: Uses) -> int:
    """Read `{name op "value", ...}` starting at the `{` at toks[i]; return the index after `}`."""
    i += 1
    while i < len(toks) and toks[i][1] != "}":
        if toks[i][0] == "ident" and i + 1 < len(toks) and toks[i + 1][1] in ("=", "!=", "=~", "!~"):
            if toks[i][1] == "__name__":
                u.metrics.add(_unquote(toks[i + 2][1]))
            else:
                u.selector_labels.add((metric, toks[i][1]))
        i += 1
    return i + 1
