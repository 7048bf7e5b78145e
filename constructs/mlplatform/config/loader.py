"""Load `environments/<env>.yaml` (+ `environments/infra/<env>.yaml`) into a validated `Env`.

Every failure becomes an `EnvError` whose lines read `file:line: field.path: message` -- never
a traceback. YAML is parsed into nodes first so each validation error can point at the line
of the offending value; duplicate keys (silently merged by plain YAML loaders) are errors.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .models import Env

ROOT = Path(__file__).resolve().parents[3]
ENV_DIR = ROOT / "environments"
INFRA_SECTION = "infrastructure"


class EnvError(Exception):
    def __init__(self, problems: list[str]):
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
    pass


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})",
                key_node.start_mark)
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def _read_yaml(path: Path) -> _Doc:
    if not path.exists():
        raise EnvError([f"{_rel(path)}: file not found"])
    text = path.read_text(encoding="utf-8")
    try:
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
    except yaml.YAMLError as e:
        raise EnvError([f"{_rel(path)}: YAML error: {e}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EnvError([f"{_rel(path)}:1: the document must be a mapping of settings, not {type(data).__name__}"])
    return _Doc(path, node, data)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line (1-based) of the deepest node that `loc` reaches."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == part), None)
            if nxt is None:
                # an unknown key: point at the key itself
                nxt = next((k for k, _ in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node, line = nxt, nxt.start_mark.line + 1
    return line


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


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
        for err in e.errors(include_url=False):
            loc = tuple(err["loc"])
            if loc and loc[0] == INFRA_SECTION and INFRA_SECTION in docs:
                doc, sub = docs[INFRA_SECTION], loc[1:]
            else:
                doc, sub = main, loc
            msg = err["msg"]
            if err["type"] == "missing" and loc == (INFRA_SECTION,):
                msg = f"missing infrastructure inputs: expected {_rel(infra_path)} (from `terraform output -json`)"
            elif err["type"] == "missing":
                msg = "required field is missing"
            elif err["type"] == "extra_forbidden":
                msg = "unknown field (not part of the schema; check the spelling)"
            line = _line_of(doc.node, sub)
            where = f"{_rel(doc.path)}:{line}" if line else _rel(doc.path)
            problems.append(f"{where}: {_fmt_loc(loc)}: {msg}")
        raise EnvError(problems) from None
    if env.name != expected:
        raise EnvError([f"{_rel(path)}:{_line_of(main.node, ('name',))}: name: is {env.name!r} but the file is "
                        f"{path.name}; they must match so dist/{expected}/ is unambiguous"])
    return env
