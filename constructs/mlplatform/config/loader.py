"""Load `environments/<env>.yaml` (+ `environments/infra/<env>.yaml`) into a validated `Env`.

Every failure becomes an `EnvError` whose lines read `file:line: field.path: message` -- never
a traceback. YAML is parsed into nodes first so each validation error can point at the line
of the offending value; duplicate keys (silently merged by plain YAML loaders) are errors.

Hostile input is refused before it can hurt (tests/test_fuzz.py): text that isn't UTF-8,
nesting deeper than `MAX_DEPTH` (libyaml's composer recurses in C: ~100k nested `[` is a
segfault), aliases that refer to their own enclosing node or that expand past `MAX_NODES`
(the "billion laughs"), and unhashable mapping keys. Merge keys (`<<: *defaults`) work.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .models import Env
from .strict import FieldProblems

ROOT = Path(__file__).resolve().parents[3]
ENV_DIR = ROOT / "environments"
INFRA_SECTION = "infrastructure"


# Far beyond any real env file (depth ~8, ~1k nodes), far below what hurts.
MAX_DEPTH = 64
MAX_NODES = 100_000
MAX_PROBLEMS = 50


class EnvError(Exception):
    def __init__(self, problems: list[str]):
        if len(problems) > MAX_PROBLEMS:
            problems = problems[:MAX_PROBLEMS] + [f"... and {len(problems) - MAX_PROBLEMS} more problems"]
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class _Doc:
    path: Path
    node: yaml.Node | None
    data: Any


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when available
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, IndexError, KeyError, OverflowError) as e:
            # PyYAML's scalar constructors fail like this on explicit tags: `!!int ;`, `!!bool x`, `!!float`
            what = node.tag.rsplit(":", 1)[-1] if node.tag.startswith("tag:yaml.org,2002:") else node.tag
            raise yaml.constructor.ConstructorError(
                None, None, f"{str(node.value)[:40]!r} is not a valid {what} ({type(e).__name__})",
                node.start_mark) from None


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode):  # noqa: ANN201 - a constructor generator
    # A generator, like PyYAML's own mapping constructor, so nested mappings are built iteratively.
    data: dict = {}
    yield data
    if not isinstance(node, yaml.MappingNode):  # `!!map [a]`
        raise yaml.constructor.ConstructorError(
            None, None, f"expected a mapping node, but found {node.id}", node.start_mark)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue  # `<<: *base`: merged keys may be overridden, that's what merging is for
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found a {type(key).__name__} as a key (keys must be plain scalars)", key_node.start_mark) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})",
                key_node.start_mark)
        seen[key] = key_node
    data.update(yaml.SafeLoader.construct_mapping(loader, node))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise EnvError([f"{_rel(path)}:{line}:{col}: not UTF-8 text (byte 0x{raw[e.start]:02x}); "
                        f"save the file as UTF-8"]) from None


def _refuse_hostile(text: str) -> None:
    """Walk libyaml's event stream (iterative, no recursion) before anything recursive sees the text."""
    depth, total = 0, 0
    sizes: dict[str, int] = {}          # anchor -> node count of its (expanded) subtree
    stack: list[list] = []              # open collections: [anchor, node count so far]
    for ev in yaml.parse(text, Loader=_StrictLoader):
        if isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(None, None, f"nesting deeper than {MAX_DEPTH} levels", ev.start_mark)
            stack.append([ev.anchor, 1])
            total += 1
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1
            anchor, n = stack.pop()
            if anchor is not None:
                sizes[anchor] = n
            if stack:
                stack[-1][1] += n
        elif isinstance(ev, (yaml.ScalarEvent, yaml.AliasEvent)):
            if isinstance(ev, yaml.AliasEvent) and any(f[0] == ev.anchor for f in stack):
                raise yaml.MarkedYAMLError(None, None, f"alias *{ev.anchor} refers to a node that contains it "
                                           f"(a recursive structure)", ev.start_mark)
            n = sizes.get(ev.anchor, 1) if isinstance(ev, yaml.AliasEvent) else 1
            if isinstance(ev, yaml.ScalarEvent) and ev.anchor is not None:
                sizes[ev.anchor] = 1
            total += n
            if stack:
                stack[-1][1] += n
        if total > MAX_NODES:
            raise yaml.MarkedYAMLError(None, None, f"more than {MAX_NODES} values once aliases are expanded",
                                       ev.start_mark)


def _read_yaml(path: Path) -> _Doc:
    if not path.exists():
        raise EnvError([f"{_rel(path)}: file not found"])
    if not path.is_file():
        raise EnvError([f"{_rel(path)}: not a file"])
    text = _decode(path, path.read_bytes())
    try:
        _refuse_hostile(text)
        loader = _StrictLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{_rel(path)}:{mark.line + 1}:{mark.column + 1}" if mark else _rel(path)
        what = " ".join(x for x in (e.context, e.problem) if x)
        raise EnvError([f"{where}: YAML error: {what}"]) from None
    except yaml.reader.ReaderError as e:  # a character YAML doesn't allow; it knows the offset, not the line
        line = text[:e.position].count("\n") + 1
        raise EnvError([f"{_rel(path)}:{line}: YAML error: unacceptable character #x{e.character:04x}: "
                        f"{e.reason}"]) from None
    except yaml.YAMLError as e:
        raise EnvError([f"{_rel(path)}:1: YAML error: {e}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EnvError([f"{_rel(path)}:1: the document must be a mapping of settings, not {type(data).__name__}"])
    return _Doc(path, node, data)


def _is_key(k: yaml.Node, part: Any) -> bool:
    """Does key node `k` hold the key pydantic calls `part`? (`1:` is the int 1, `on:` True, ...)"""
    if not isinstance(k, yaml.ScalarNode):
        return False
    if isinstance(part, str):
        return k.value == part
    try:
        return k.style is None and yaml.load(k.value, Loader=_StrictLoader) == part
    except yaml.YAMLError:
        return False


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line (1-based) of the deepest node that `loc` reaches (1 for an empty document)."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if _is_key(k, part)), None)
            if nxt is None:
                # an unknown key: point at the key itself
                nxt = next((k for k, _ in node.value if _is_key(k, part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node, line = nxt, nxt.start_mark.line + 1
    return line


_PLAIN_KEY = re.compile(r"[\w.\-/]+")


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:  # an empty, spaced, control-character or non-string key: quoted, so the message stays readable
            out += f"[{part!r}]"
    return out or "(document)"


def _located(e: ValidationError):
    """(error, loc, message) of each problem: a cross-field rule's problems (`FieldProblems`) at the
    fields they are about, without pydantic's "Value error, " prefix."""
    for err in e.errors(include_url=False):
        loc = tuple(err["loc"])
        cause = (err.get("ctx") or {}).get("error")
        if err["type"] == "value_error" and isinstance(cause, FieldProblems):
            for sub, msg in cause.problems:
                yield err, (*loc, *sub), msg
        else:
            yield err, loc, err["msg"].removeprefix("Value error, ")


def _type_hint(value: Any) -> str:
    """Why a value YAML parsed has the wrong type (the models are strict: config/strict.py)."""
    if isinstance(value, bool):
        return (f", got the boolean {str(value).lower()} (YAML reads yes/no/on/off/true/false as booleans; "
                "quote it for text)")
    if isinstance(value, (int, float)):
        return f", got the number {value!r} (quote it if text is meant)"
    if isinstance(value, str):
        return f", got the text {value[:40]!r} (unquote it if a number or boolean is meant)"
    return ""


def env_names(env_dir: Path = ENV_DIR) -> list[str]:
    return sorted(p.stem for p in env_dir.glob("*.yaml"))


def load_env(name_or_path: str | Path, env_dir: Path = ENV_DIR) -> Env:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = env_dir / f"{name_or_path}.yaml"
    main = _read_yaml(path)
    infra_path = path.parent / "infra" / path.name
    docs = {"": main}
    data = dict(main.data)
    if INFRA_SECTION in data:
        raise EnvError([f"{_rel(path)}:{_line_of(main.node, (INFRA_SECTION,))}: {INFRA_SECTION}: "
                        f"infrastructure inputs belong in {_rel(infra_path)} (generated from Terraform outputs)"])
    if infra_path.exists():
        infra = _read_yaml(infra_path)
        docs[INFRA_SECTION] = infra
        data[INFRA_SECTION] = infra.data
    expected = path.stem
    try:
        env = Env.model_validate(data)
    except ValidationError as e:
        problems = []
        for err, loc, msg in _located(e):
            if loc and loc[0] == INFRA_SECTION and INFRA_SECTION in docs:
                doc, sub = docs[INFRA_SECTION], loc[1:]
            else:
                doc, sub = main, loc
            if err["type"] == "missing" and loc == (INFRA_SECTION,):
                msg = f"missing infrastructure inputs: expected {_rel(infra_path)} (from `terraform output -json`)"
            elif err["type"] == "missing":
                msg = "required field is missing"
            elif err["type"] == "extra_forbidden":
                msg = "unknown field (not part of the schema; check the spelling)"
            elif err["type"].endswith("_type"):
                msg += _type_hint(err.get("input"))
            line = _line_of(doc.node, sub)
            where = f"{_rel(doc.path)}:{line}" if line else _rel(doc.path)
            problems.append(f"{where}: {_fmt_loc(loc)}: {msg}")
        raise EnvError(problems) from None
    if env.name != expected:
        raise EnvError([f"{_rel(path)}:{_line_of(main.node, ('name',))}: name: is {env.name!r} but the file is "
                        f"{path.name}; they must match so dist/{expected}/ is unambiguous"])
    return env


# Public names for other readers of env files (the destructive-change guard reads only its own
# `guard:` section, so a broken env elsewhere doesn't hide its settings).
read_yaml, line_of, fmt_loc, rel = _read_yaml, _line_of, _fmt_loc, _rel
