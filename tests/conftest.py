import copy
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "constructs"))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

from mlplatform.config.loader import env_names, load_env  # noqa: E402
from mlplatform.plan import render  # noqa: E402

ENVS = env_names()


@pytest.fixture(scope="session")
def envs():
    return {n: load_env(n) for n in ENVS}


@pytest.fixture(scope="session")
def rendered(envs):
    return {n: render(e) for n, e in envs.items()}


@pytest.fixture
def env_dir(tmp_path):
    """A writable copy of environments/ for bad-input tests."""
    d = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", d)
    return d


def find(objs, kind, name):
    hits = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(hits) == 1, f"{kind}/{name}: {len(hits)} found"
    return hits[0]


def with_objects(r, comp, objs, helm=None):
    """A shallow copy of rendered env `r` whose component `comp` holds `objs` (and, if given, these
    Helm releases): planted cases for checks over the whole env, the session's render untouched."""
    r = copy.copy(r)
    r.components = {**r.components, comp: list(objs)}
    if helm is not None:
        r.helm = helm
    return r


def edit(path, old, new, count=1):
    """Replace `old` (which must be there, `count` times at least) in a copied env file."""
    text = path.read_text()
    assert text.count(old) >= count, old
    path.write_text(text.replace(old, new, count))


def load_problems(env_dir, name="dev") -> list[str]:
    """The problems loading env `name` from `env_dir` reports (it must fail)."""
    from mlplatform.config.loader import EnvError
    with pytest.raises(EnvError) as e:
        load_env(name, env_dir)
    return e.value.problems


def one_problem(env_dir, old, new, name="dev") -> str:
    """Plant `old` -> `new` in env `name` and return the one problem the loader reports."""
    edit(env_dir / f"{name}.yaml", old, new)
    (p,) = load_problems(env_dir, name)
    return p
