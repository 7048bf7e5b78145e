"""End to end: every env synthesizes, validates and equals committed dist/; runs are byte-stable;
a failed synth leaves dist/ untouched; both entry points (python app.py, cdk8s synth) work."""
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT
from mlplatform.commands.gate import check
from mlplatform.review import compare_dirs
from mlplatform.synth import synth

APP = [sys.executable, str(ROOT / "app.py")]


def _run(*args, **kw):
    return subprocess.run([*APP, *args], capture_output=True, text=True, cwd=ROOT, **kw)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("fresh") / "dist"
    p = _run("synth", "--out", str(out))
    assert p.returncode == 0, p.stderr
    return out, p


def test_committed_output_equals_a_fresh_synth(fresh):
    out, _ = fresh
    assert compare_dirs(ROOT / "dist", out) == ["only in fresh synth: _argocd", "only in fresh synth: _rendered"]
    assert compare_dirs(ROOT / "argocd", out / "_argocd") == ["only in committed: README.md"]
    assert check() == []


def test_two_runs_are_byte_identical(fresh, tmp_path):
    out, _ = fresh
    assert synth(None, tmp_path / "again", log=lambda m: None) == 0
    assert compare_dirs(out, tmp_path / "again") == []


def test_output_layout_and_hygiene(fresh):
    out, _ = fresh
    for env in ("dev", "staging", "prod"):
        comps = sorted(p.name for p in (out / env).iterdir() if p.is_dir())
        # one folder per component that emits objects (chart-only components have none)
        assert comps == ["airflow", "argocd-apps", "ingress", "jupyterhub", "keycloak", "kubeflow-trainer", "kuberay",
                         "mlflow", "monitoring", "namespaces", "node-pools", "priority-classes", "prometheus-rules", "secrets",
                         "spark-operator", "storage", "vllm", "volcano"]
        # plus the env on one page, and nothing else
        assert sorted(p.name for p in (out / env).iterdir() if not p.is_dir()) == ["INVENTORY.md"]
    for f in out.rglob("*.k8s.yaml"):
        text = f.read_text()
        docs = list(yaml.safe_load_all(text))
        assert len(docs) == 1, f
        obj = docs[0]
        assert f.name == f"{obj['kind']}.{obj['metadata']['name']}.k8s.yaml"
        assert "cdk8s.io" not in text and "creationTimestamp" not in text
        if obj["kind"] in ("Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"):
            assert "namespace" not in obj["metadata"], f


def test_progress_output_and_no_jsii_banner(fresh):
    _, p = fresh
    assert "end-of-life" not in p.stderr
    for env in ("dev", "staging", "prod"):
        assert f"  {env} " in p.stderr and "ok" in p.stderr


def test_one_env_and_help(tmp_path):
    p = subprocess.run([*APP, "--env", "staging"], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "CDK8S_OUTDIR": str(tmp_path / "d")})
    assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in (tmp_path / "d").iterdir()) == ["_argocd", "_rendered", "staging"]
    h = _run("--help")
    assert h.returncode == 0 and "synth" in h.stdout and "check" in h.stdout and "bench" in h.stdout


def test_failed_synth_leaves_dist_untouched(tmp_path, env_dir):
    out = tmp_path / "dist"
    assert synth(None, out, env_dir=env_dir, log=lambda m: None) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    text = (env_dir / "prod.yaml").read_text().replace('quota: {cpu: "256"', 'quota: {cpu: "lots"')
    (env_dir / "prod.yaml").write_text(text)
    (env_dir / "dev.yaml").write_text((env_dir / "dev.yaml").read_text().replace("gpus: 1", "gpus: 3"))
    msgs = []
    assert synth(["prod"], out, env_dir=env_dir, log=msgs.append) == 1
    assert any("prod.yaml" in m and "teams[1].quota.cpu" in m for m in msgs), msgs
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert before == after
    # all or nothing across envs: dev validates (a new profile description), prod doesn't, so dev isn't written
    (env_dir / "dev.yaml").write_text((ROOT / "environments/dev.yaml").read_text().replace(
        'description: "1 CPU, 2 GiB"', 'description: "One CPU, 2 GiB"'))
    msgs.clear()
    assert synth(None, out, env_dir=env_dir, log=msgs.append) == 1
    assert msgs[-1] == ("1 env(s) failed validation: nothing written; dist/, argocd/ and rendered/ of every env are "
                        "as they were")
    assert before == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_an_output_root_that_is_a_file_is_an_error_not_a_traceback(tmp_path):
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "dist"):
        p = subprocess.run([*APP, "synth", "--env", "dev", "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        assert f"cannot write to {out}: {tmp_path / 'file'} is a file, not a folder" in p.stderr, p.stderr


def test_invalid_object_blocks_the_write(tmp_path, env_dir, monkeypatch):
    """A planted invalid object: non-zero exit, problem listed as env/component/Kind/name, nothing written."""
    from mlplatform import components, synth as synth_mod
    from mlplatform.kit.component import Component
    from mlplatform.kit.meta import metadata

    def bad(env):
        return [{"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": metadata("planted", component="bad", env=env.name, namespace="mlflow"),
                 "dataa": {"k": "v"}}]

    from mlplatform.plan import render
    monkeypatch.setattr(synth_mod, "render", lambda env: render(env, components.COMPONENTS + (Component("bad", "", bad),)))
    msgs = []
    out = tmp_path / "dist"
    assert synth(["dev"], out, env_dir=env_dir, log=msgs.append) == 1
    assert any("dev/bad/ConfigMap/planted: (root): Additional properties are not allowed ('dataa'" in m for m in msgs), msgs
    assert not out.exists() or not any(out.iterdir())


# A synth killed mid-run: tests/test_interrupt.py (SIGKILL while cdk8s writes and at every swap).


@pytest.mark.skipif(not (ROOT / "node_modules/.bin/cdk8s").exists(), reason="cdk8s CLI not installed (npm ci)")
def test_cdk8s_cli_synth_reproduces_committed_dist(tmp_path):
    env = {**os.environ, "CDK8S_CHECK_UPGRADE": "false"}
    p = subprocess.run([str(ROOT / "node_modules/.bin/cdk8s"), "synth", "--output", str(tmp_path / "dist")],
                       capture_output=True, text=True, cwd=ROOT, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert compare_dirs(ROOT / "dist", tmp_path / "dist") == ["only in fresh synth: _argocd", "only in fresh synth: _rendered"]


@pytest.mark.skipif(not (ROOT / "node_modules/.bin/cdk8s").exists() or shutil.which("npm") is None,
                    reason="cdk8s CLI or npm not installed (npm ci)")
def test_npm_run_synth_is_quiet_offline(tmp_path):
    """The documented cdk8s invocation (`npm run synth`, package.json) turns the CLI's upgrade check
    off: offline, that check prints a Node stack trace and "A new version undefined of cdk8s-cli is
    available". The variable is dropped from the environment so the script itself must set it."""
    env = {k: v for k, v in os.environ.items() if k != "CDK8S_CHECK_UPGRADE"}
    p = subprocess.run(["npm", "run", "synth", "--", "--output", str(tmp_path / "dist")],
                       capture_output=True, text=True, cwd=ROOT, env=env)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    for noise in ("new version", "Error:", "    at ", "npm notice"):
        assert noise.lower() not in out.lower(), out
    assert compare_dirs(ROOT / "dist", tmp_path / "dist") == ["only in fresh synth: _argocd", "only in fresh synth: _rendered"]
