"""Hostile env files: whatever is in environments/<env>.yaml or its infra file, loading either gives
a valid Env (which then renders and validates to problems or ok) or an EnvError whose every line
names file:line -- never a traceback (TypeError, RecursionError, a segfault in libyaml...).

Deterministic (derandomized, no example database) and bounded: ~30 s on the 2-core CI machine.
`MLP_FUZZ_SCALE=20 pytest tests/test_fuzz.py` runs 20 times the examples (a deeper, slower search).
"""
from __future__ import annotations

import os
import re
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from mlplatform.config.loader import MAX_DEPTH, MAX_NODES, EnvError, load_env
from mlplatform.plan import render
from mlplatform.validate import validate

SCALE = int(os.environ.get("MLP_FUZZ_SCALE", "1"))
SETTINGS = dict(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])
DEV = (ROOT / "environments/dev.yaml").read_text()
INFRA = (ROOT / "environments/infra/dev.yaml").read_text()


@pytest.fixture(scope="module")
def env_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz") / "environments"
    shutil.copytree(ROOT / "environments", d)
    return d


@pytest.fixture(scope="module")
def baseline(env_dir):
    _write(env_dir)
    return load_env("dev", env_dir)


def _write(env_dir, dev: str | bytes = DEV, infra: str | bytes = INFRA) -> None:
    for path, content in ((env_dir / "dev.yaml", dev), (env_dir / "infra/dev.yaml", infra)):
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))


def _problem_shape(env_dir) -> re.Pattern[str]:
    files = "|".join(re.escape(str(p)) for p in (env_dir / "dev.yaml", env_dir / "infra/dev.yaml"))
    return re.compile(rf"^({files}):\d+(:\d+)?: \S.*", re.S)


def _load_or_clear_error(env_dir):
    """The property: an Env, or an EnvError naming file:line on every line. Anything else raises."""
    try:
        env = load_env("dev", env_dir)
        event("loaded")
        return env
    except EnvError as e:
        event("EnvError: YAML" if ": YAML error: " in e.problems[0] else "EnvError: fields")
        shape = _problem_shape(env_dir)
        assert e.problems
        for p in e.problems:
            assert shape.match(p) or re.fullmatch(r"\.\.\. and \d+ more problems", p), p
        return None


_rendered_envs: list = []


def _render_and_validate(env, baseline) -> None:
    """A loaded env renders and validates to problems or ok: never a traceback."""
    if env == baseline or any(env == e for e in _rendered_envs):
        event("loaded: an env rendered before")
        return  # e.g. only a default was spelt out: rendered already
    problems = validate(render(env))
    assert all(isinstance(p, str) and p for p in problems)
    event("rendered: problems" if problems else "rendered: ok")
    _rendered_envs.append(env)


# --- values -------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-(2 ** 200), max_value=2 ** 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["", "dev", "1.34", "16Gi", "500m", "-1", "0", "1e400", "on", "null",
                                            "*", "a" * 300, "dev.mlplatform.example.com", "ünïcödé", "\u202e"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)

# YAML tokens that exercise the parser and the constructors rather than the schema.
TOKENS = ["name: dev\n", "name:", " ", "  ", "\n", "\t", "- ", "[", "]", "{", "}", ",", ":", "? ", "'", '"', "#",
          "&a ", "*a", "&b ", "*b", "<<: ", "!!binary ", "!!set ", "!!omap ", "!!python/object:os.system ", "!foo ",
          "!!int ", "!!str ", "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "1e400", "0x1F", "0o17",
          ".inf", ".nan", "~", "null", "true", "on", "2020-01-01", "12:30:00", "\x00", "\ufeff", "\x85", "é",
          "teams:", "gitops:", "compute:", "kubernetes_version:", "domain:", "|\n", ">-\n", "\\", "%", "@", "`"]


# --- arbitrary input ----------------------------------------------------------------------------


@settings(max_examples=150 * SCALE, **SETTINGS)
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400),
                 st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)))
def test_junk_dev_file(env_dir, text):
    _write(env_dir, dev=text)
    _load_or_clear_error(env_dir)


@settings(max_examples=60 * SCALE, **SETTINGS)
@given(st.one_of(st.binary(max_size=400), st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)),
       st.booleans())
def test_junk_infra_file(env_dir, text, remove):
    _write(env_dir, infra=text)
    if remove:
        (env_dir / "infra/dev.yaml").unlink()
    _load_or_clear_error(env_dir)


@settings(max_examples=100 * SCALE, **SETTINGS)
@given(values, st.booleans())
def test_arbitrary_yaml_documents(env_dir, doc, flow):
    _write(env_dir, dev=yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True))
    _load_or_clear_error(env_dir)


def test_resource_bombs_are_refused_with_a_line(env_dir):
    """Nesting that would crash libyaml, aliases that would expand without bound, recursion."""
    deep = DEV + "x: " + "[" * 200_000 + "]" * 200_000 + "\n"
    laughs = DEV + "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}" if i else "x"] * 9) + "]\n" for i in range(8))
    cases = {deep: f"nesting deeper than {MAX_DEPTH} levels",
             laughs: f"more than {MAX_NODES} values once aliases are expanded",
             DEV + "x: &r {y: [*r]}\n": "alias *r refers to a node that contains it",
             DEV + "? [a]\n: b\n": "found a list as a key"}
    n = DEV.count("\n")
    for text, message in cases.items():
        _write(env_dir, dev=text)
        with pytest.raises(EnvError) as e:
            load_env("dev", env_dir)
        (p,) = e.value.problems
        assert p.startswith(f"{env_dir / 'dev.yaml'}:") and message in p, p
        assert int(p.split("dev.yaml:")[1].split(":")[0]) > n, p  # the line of the bomb, not line 1


def test_merge_keys_and_not_utf8(env_dir, baseline):
    q0 = 'quota: {cpu: "16", memory: 64Gi, gpus: 2, pods: 50, storage: 200Gi}'
    q1 = 'quota: {cpu: "16", memory: 64Gi, gpus: 3, pods: 50, storage: 200Gi}'
    assert DEV.count(q0) == 1 and DEV.count(q1) == 1, "dev.yaml's team quotas changed: update this test"
    _write(env_dir, dev=DEV.replace(q0, q0.replace("quota: ", "quota: &q ")).replace(q1, "quota: {<<: *q, gpus: 3}"))
    assert load_env("dev", env_dir) == baseline  # merged, and the explicit key wins
    _write(env_dir, dev=DEV.encode("utf-16"))
    (p,) = _problems(env_dir)
    assert p == f"{env_dir / 'dev.yaml'}:1:1: not UTF-8 text (byte 0xff); save the file as UTF-8"


def _problems(env_dir):
    with pytest.raises(EnvError) as e:
        load_env("dev", env_dir)
    return e.value.problems


# --- mutations of the real files ----------------------------------------------------------------


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _at(node, path):
    for part in path:
        node = node[part]
    return node


def tweaked(v):
    if isinstance(v, bool):
        return st.just(not v)
    if isinstance(v, int):
        return st.one_of(st.integers(-3, 100_000), st.sampled_from([0, 1, 2 ** 31, 2 ** 63, 10 ** 30]))
    if isinstance(v, float):
        return st.one_of(st.floats(0, 1e6), st.sampled_from([0.0, 1e-9, 1e300]))
    if isinstance(v, str):
        return st.one_of(st.sampled_from([v + "x", v.upper(), "", v * 3, v + "-" + v, "0", "1000000Ti", "0.001m",
                                          "1e3", "a" * 64, "x" + v, v.replace(".", "-")]),
                         st.text(min_size=1, max_size=12))
    if isinstance(v, list):
        return st.sampled_from([[], v + v, v[:1], v[1:], list(reversed(v))])
    return st.just(v)


@st.composite
def mutated(draw, text: str):
    """The real file with a few edits at random paths: drop, replace (wrong types, huge numbers,
    unicode...), insert (unknown or misplaced keys), or a textual edit (duplicate a line -> duplicate
    key, delete one, cut the file short)."""
    data = yaml.load(text, Loader=yaml.CSafeLoader)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(data))
        op = draw(st.sampled_from(["drop", "replace", "insert", "tweak", "tweak", "tweak"]))
        path = draw(st.sampled_from(paths if op == "insert" else paths[1:]))
        parent, last = (_at(data, path[:-1]), path[-1]) if path else (None, None)
        if op == "drop":
            del parent[last]
        elif op == "replace":
            parent[last] = draw(values)
        elif op == "tweak":  # same type, unusual value: what passes the schema and reaches render
            parent[last] = draw(tweaked(parent[last]))
        else:
            target = _at(data, path)
            key = draw(st.one_of(st.sampled_from(["name", "teams", "quota", "gpus", "replicas", "image",
                                                  "infrastructure", "cpu_limit", "enabled", "clusters"]),
                                 st.text(max_size=10)))
            if isinstance(target, dict):
                target[key] = draw(values)
            elif isinstance(target, list):
                target.insert(draw(st.integers(0, len(target))), draw(values))
    out = yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True,
                    default_flow_style=draw(st.booleans()))
    lines = out.splitlines(keepends=True)
    edit = draw(st.sampled_from(["none", "none", "duplicate", "delete", "truncate"]))
    if lines and edit != "none":
        i = draw(st.integers(0, len(lines) - 1))
        lines = lines[:i] + [lines[i]] + lines[i:] if edit == "duplicate" else \
            lines[:i] + lines[i + 1:] if edit == "delete" else lines[:i]
    return "".join(lines)


@settings(max_examples=120 * SCALE, **SETTINGS)
@given(mutated(DEV))
def test_mutated_dev_file(env_dir, baseline, text):
    _write(env_dir, dev=text)
    env = _load_or_clear_error(env_dir)
    if env is not None:
        _render_and_validate(env, baseline)


@settings(max_examples=80 * SCALE, **SETTINGS)
@given(mutated(INFRA))
def test_mutated_infra_file(env_dir, baseline, text):
    _write(env_dir, infra=text)
    env = _load_or_clear_error(env_dir)
    if env is not None:
        _render_and_validate(env, baseline)
