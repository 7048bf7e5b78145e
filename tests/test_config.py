"""Environments load into typed models; bad input gives file:line: field: message, never a traceback."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT
from mlplatform.cli import write_schemas
from mlplatform.config.loader import EnvError, load_env


def test_three_envs_that_differ_where_real_ones_do(envs):
    assert set(envs) == {"dev", "staging", "prod"}
    dev, prod = envs["dev"], envs["prod"]
    assert dev.domain != prod.domain and dev.host("auth") == "auth.dev.mlplatform.example.com"
    assert dev.infrastructure.account_id != prod.infrastructure.account_id
    team = {e: {t.name: t for t in envs[e].teams} for e in envs}
    assert team["prod"]["nlp"].quota.gpus > team["staging"]["nlp"].quota.gpus > team["dev"]["nlp"].quota.gpus
    assert len(envs["prod"].teams) > len(envs["dev"].teams)


def test_committed_json_schemas_are_in_sync(tmp_path, monkeypatch):
    before = {p: p.read_text() for p in [ROOT / "environments/env.schema.json", ROOT / "environments/infra/infra.schema.json"]}
    written = write_schemas()
    for p in written:
        assert p.read_text() == before[p], f"{p} is stale: run `python app.py schema`"


def test_env_files_reference_the_schema():
    for f in (ROOT / "environments").glob("*.yaml"):
        assert f.read_text().startswith("# yaml-language-server: $schema=env.schema.json"), f
    for f in (ROOT / "environments/infra").glob("*.yaml"):
        assert f.read_text().startswith("# yaml-language-server: $schema=infra.schema.json"), f
    schema = json.loads((ROOT / "environments/env.schema.json").read_text())
    assert schema["additionalProperties"] is False and "infrastructure" not in schema["properties"]


def _problems(env_dir, name="dev"):
    with pytest.raises(EnvError) as e:
        load_env(name, env_dir)
    return e.value.problems


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_malformed_yaml_names_file_and_line(env_dir):
    _edit(env_dir / "dev.yaml", "domain: dev.mlplatform.example.com", "domain: [dev.mlplatform.example.com")
    (p,) = _problems(env_dir)
    assert "environments/dev.yaml:" in p and "YAML error" in p
    line = int(p.split("dev.yaml:")[1].split(":")[0])
    assert line in (5, 6), p  # the unclosed flow sequence is reported where the parser gives up


def test_unknown_key_names_field_path_and_line(env_dir):
    _edit(env_dir / "dev.yaml", "  revision: main", "  revison: main")
    (p,) = _problems(env_dir)
    assert "dev.yaml:8: gitops.revison: unknown field" in p


def test_wrong_type_and_impossible_values(env_dir):
    _edit(env_dir / "dev.yaml", "gpus: 1, pods: 50, storage: 200Gi}", "gpus: many, pods: 50, storage: 200Gi}")
    _edit(env_dir / "dev.yaml", 'cpu: "16", memory: 64Gi, gpus: 2', 'cpu: "sixteen", memory: 64Gi, gpus: 2')
    problems = _problems(env_dir)
    line = next(i for i, t in enumerate((env_dir / "dev.yaml").read_text().splitlines(), 1) if "gpus: many" in t)
    assert any("teams[0].quota.gpus" in p and f"dev.yaml:{line}" in p for p in problems), problems
    assert any("teams[1].quota.cpu" in p and "not a Kubernetes quantity" in p for p in problems), problems


def test_cross_field_rule(env_dir):
    _edit(env_dir / "dev.yaml", "cpu_request: 100m", "cpu_request: \"4\"")
    problems = _problems(env_dir)
    assert any("cpu_request must not exceed cpu_limit" in p for p in problems), problems


def test_duplicate_key_is_an_error(env_dir):
    _edit(env_dir / "dev.yaml", "name: dev\n", "name: dev\nname: dev\n")
    (p,) = _problems(env_dir)
    assert "duplicate key 'name'" in p


def test_missing_and_malformed_infrastructure(env_dir):
    (env_dir / "infra/dev.yaml").unlink()
    (p,) = _problems(env_dir)
    assert "missing infrastructure inputs" in p and "environments/infra/dev.yaml" in p


def test_malformed_infrastructure_points_into_infra_file(env_dir):
    _edit(env_dir / "infra/dev.yaml", "account_id: \"111111111111\"", "account_id: \"11\"")
    (p,) = _problems(env_dir)
    assert "infra/dev.yaml:6: infrastructure.account_id" in p


def test_name_must_match_file(env_dir):
    _edit(env_dir / "dev.yaml", "name: dev", "name: qa")
    (p,) = _problems(env_dir)
    assert "name: is 'qa' but the file is dev.yaml" in p


def test_cli_reports_without_traceback(env_dir, tmp_path):
    _edit(env_dir / "staging.yaml", "kubernetes_version: \"1.33\"", "kubernetes_version: \"1.12\"")
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, str(ROOT / "app.py"), "synth", "--env-dir", str(env_dir), "--out", str(out),
                        "--env", "staging"], capture_output=True, text=True)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr
    assert "staging.yaml:4: kubernetes_version: Input should be" in p.stderr
    assert not (out / "staging").exists()


def test_duplicate_teams_and_namespace_clashes(env_dir):
    _edit(env_dir / "staging.yaml", "  - name: vision", "  - name: nlp")
    (p,) = _problems(env_dir, "staging")
    assert "teams listed twice: nlp" in p
