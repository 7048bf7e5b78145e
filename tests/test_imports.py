"""Imports go one way, and units reach each other only through their published facts.

Layers, bottom to top: `kit` -> `config` -> `components` -> the whole-env machinery (`renders`,
`validate`, `plan`, `inventory`, `review`, `guard`, `envdiff`, `write`) -> `synth` -> `commands` ->
`cli` -> `app.py`; `bench/` sits above the product. The rules, each failing with file and line:

- `kit` imports nothing above it (no `config`, no `components`, no machinery);
- a unit (`components/<name>/...`) imports another unit only as `mlplatform.components.<other>` (its
  `__init__`, the published facts), never `components.<other>.<module>`, and never the registry;
- a name imported from another unit must be in that unit's `__all__`;
- outside `components/`, only the registry (`mlplatform.components`) is imported, never a unit —
  except `config/models.py`, which composes `Env` from each unit's `config` module;
- nothing in the product imports `bench`;
- a unit imports `config.models` (`Env`) only under `if TYPE_CHECKING:` -- `config/models.py` imports
  the units' `config` modules, so an import-time read of it from a unit is a cycle.
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "constructs"
PKG = SRC / "mlplatform"

MACHINERY = {"renders", "validate", "plan", "inventory", "review", "guard", "envdiff", "write", "synth", "commands",
             "cli"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) of every import in the file."""
    mod = _module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((node.lineno, target, [a.name for a in node.names]))
    return out


def _expand(target: str, names: list[str]) -> list[str]:
    """`from mlplatform.components import vllm` names the module mlplatform.components.vllm."""
    out = [target]
    for n in names:
        cand = f"{target}.{n}"
        if (SRC / cand.replace(".", "/")).is_dir() or (SRC / (cand.replace(".", "/") + ".py")).is_file():
            out.append(cand)
    return out


def _unit_of(mod: str) -> str | None:
    parts = mod.split(".")
    if len(parts) >= 3 and parts[:2] == ["mlplatform", "components"]:
        return parts[2]
    return None


def problems(pkg: Path = PKG) -> list[str]:
    out = []
    for path in sorted(pkg.rglob("*.py")):
        mod = _module_name(path)
        layer = mod.split(".")[1] if "." in mod else ""
        me_unit = _unit_of(mod)
        where = path.relative_to(SRC)
        for line, target, names in _imports(path):
            if not target.startswith("mlplatform") and not target.startswith("bench"):
                continue
            for t in _expand(target, names):
                parts = t.split(".")
                if parts[0] == "bench":
                    out.append(f"{where}:{line}: the product imports {t} (bench/ imports the product, not back)")
                    continue
                top = parts[1] if len(parts) > 1 else ""
                other = _unit_of(t)
                if layer == "kit" and top not in ("kit", ""):
                    out.append(f"{where}:{line}: kit imports {t} (kit imports only kit)")
                elif layer == "config" and top not in ("kit", "config", ""):
                    if not (mod == "mlplatform.config.models" and other and len(parts) == 4 and parts[3] == "config"):
                        out.append(f"{where}:{line}: config imports {t} (only config/models.py composes units' "
                                   f"`config` modules)")
                elif layer == "components":
                    if me_unit and t == "mlplatform.components":
                        if names and set(names) - {n for n in names if (PKG / "components" / n).is_dir()}:
                            out.append(f"{where}:{line}: unit {me_unit} imports the registry ({', '.join(names)}); "
                                       f"use kit.component.units()")
                    elif top in MACHINERY:
                        out.append(f"{where}:{line}: a unit imports {t} (machinery sits above the units)")
                    elif other and other != me_unit and len(parts) > 3:
                        out.append(f"{where}:{line}: unit {me_unit} imports {t}, an internal module of {other} "
                                   f"(import mlplatform.components.{other}: its published facts)")
                    elif other and other != me_unit and len(parts) == 3 and t == target:
                        published = set(getattr(importlib.import_module(t), "__all__", ()))
                        for n in names:
                            if n not in published:
                                out.append(f"{where}:{line}: unit {me_unit} imports {n} from {other}, "
                                           f"which does not publish it (__all__)")
                elif layer in MACHINERY and other:
                    out.append(f"{where}:{line}: {mod} imports unit {t} (reach units through the registry)")
    return out


# Known violations the component-unit refactor is removing; the list must end empty.
ALLOWED: set[str] = set()


def test_imports_go_one_way():
    found = problems()
    assert sorted(p for p in found if not any(p.startswith(a) for a in ALLOWED)) == []


def test_no_stale_allowances():
    found = problems()
    stale = [a for a in ALLOWED if not any(p.startswith(a) for p in found)]
    assert stale == []


def test_attribute_access_to_a_unit_uses_published_facts():
    """`from .. import vllm` then `vllm.selector(...)`: the attribute must be in vllm's __all__."""
    out = []
    for path in sorted((PKG / "components").rglob("*.py")):
        me = _unit_of(_module_name(path))
        tree = ast.parse(path.read_text())
        alias = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    full = None
                    if node.level == 2 and not node.module and (PKG / "components" / a.name).is_dir():
                        full = a.name
                    elif (node.module or "").endswith("components") and (PKG / "components" / a.name).is_dir():
                        full = a.name
                    if full and full != me:
                        alias[a.asname or a.name] = full
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in alias:
                unit = alias[node.value.id]
                published = set(importlib.import_module(f"mlplatform.components.{unit}").__all__)
                if node.attr not in published:
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno}: {unit}.{node.attr} is not published "
                               f"by {unit} (__all__)")
    assert sorted(p for p in out if not any(p.startswith(a) for a in ALLOWED)) == []


def test_the_rules_catch_a_planted_violation(tmp_path):
    """A kit module importing a unit, a unit reaching into another's module, and the machinery
    importing a unit are each reported with file and line."""
    pkg = tmp_path / "mlplatform"
    for d in ("kit", "components/a", "components/b", "validate"):
        (pkg / d).mkdir(parents=True)
        (pkg / d / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "components" / "__init__.py").write_text("")
    (pkg / "kit" / "routes.py").write_text("from ..components import a\n")
    (pkg / "components" / "a" / "objects.py").write_text("from ..b.objects import X\n")
    (pkg / "validate" / "serving.py").write_text("from ..components.b import objects\n")
    global SRC
    old = SRC
    try:
        SRC = tmp_path
        found = problems(pkg)
    finally:
        SRC = old
    joined = "\n".join(found)
    assert "mlplatform/kit/routes.py:1: kit imports mlplatform.components" in joined
    assert "mlplatform/components/a/objects.py:1: unit a imports mlplatform.components.b.objects" in joined
    assert "mlplatform/validate/serving.py:1:" in joined


def _import_time_nodes(body: list[ast.stmt]):
    """Import statements that run when the module is imported: not inside a function, nor under
    `if TYPE_CHECKING:`."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(node.orelse)
        elif isinstance(node, (ast.Try, ast.With, ast.ClassDef)):
            for part in ("body", "handlers", "orelse", "finalbody"):
                for sub in getattr(node, part, []):
                    yield from _import_time_nodes(sub.body if isinstance(sub, ast.ExceptHandler) else [sub])


def env_at_import_time(pkg: Path = PKG) -> list[str]:
    """Unit modules that import `config.models` when they are imported. `config/models.py` imports
    every unit's `config` module, which imports the registry and so every unit: a unit reading
    `config.models` at import time finds it half-initialised (no `Env` yet)."""
    out = []
    for path in sorted((pkg / "components").rglob("*.py")):
        mod = _module_name(path)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in _import_time_nodes(ast.parse(path.read_text(), str(path)).body):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                targets = [".".join(base + ([node.module] if node.module else []))]
                targets += [f"{targets[0]}.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                targets = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                targets = [a.name for a in node.names]
            if any(t == "mlplatform.config.models" for t in targets):
                out.append(f"{path.relative_to(pkg.parent)}:{node.lineno}: imports config.models at import time "
                           f"(annotations only: `if TYPE_CHECKING: from ...config.models import Env`)")
    return out


def test_units_read_the_env_model_only_for_type_checking():
    assert env_at_import_time() == []


def test_the_env_rule_catches_a_planted_import(tmp_path):
    """A unit module importing `config.models` at import time is reported; the same import under
    `if TYPE_CHECKING:` or inside a function is not."""
    unit = tmp_path / "mlplatform" / "components" / "a"
    unit.mkdir(parents=True)
    (unit / "objects.py").write_text("from ...config.models import Env\n")
    (unit / "config.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                     "    from ...config.models import Env\n"
                                     "def f():\n    from ...config import models\n")
    (unit / "checks.py").write_text("from ...config import models\n")
    global SRC
    old = SRC
    try:
        SRC = tmp_path
        found = env_at_import_time(tmp_path / "mlplatform")
    finally:
        SRC = old
    assert [f.split(": ")[0] for f in found] == ["mlplatform/components/a/checks.py:1",
                                                  "mlplatform/components/a/objects.py:1"]


@pytest.mark.parametrize("path", sorted(p for p in PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_module_size(path):
    """No module over ~400 lines without a reason at its top (a docstring line starting `Long because`)."""
    lines = path.read_text().splitlines()
    if len(lines) <= 420:
        return
    head = "\n".join(lines[:40])
    assert "Long because" in head, f"{path.relative_to(ROOT)} has {len(lines)} lines and no reason at its top"


def units_without_tests(components: Path = PKG / "components", tests: Path = ROOT / "tests" / "components") -> list[str]:
    """Units (packages under `components/`) with no `tests/components/test_<unit>.py`: tests mirror the
    units, one module per unit that calls its contributions directly."""
    units = sorted(p.name for p in components.iterdir() if (p / "__init__.py").is_file())
    return [f"components/{u}: no tests/components/test_{u}.py" for u in units if not (tests / f"test_{u}.py").is_file()]


def test_every_unit_has_its_test_module():
    assert units_without_tests() == []


def test_a_unit_without_its_test_module_is_reported(tmp_path):
    """A unit package with no test module is named; one with its module, and a non-package folder, are not."""
    comps, tests = tmp_path / "components", tmp_path / "tests"
    for unit in ("alpha", "beta"):
        (comps / unit).mkdir(parents=True)
        (comps / unit / "__init__.py").write_text("")
    (comps / "__pycache__").mkdir()
    tests.mkdir()
    (tests / "test_alpha.py").write_text("")
    assert units_without_tests(comps, tests) == ["components/beta: no tests/components/test_beta.py"]
