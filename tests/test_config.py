"""Environments load into typed models; bad input gives file:line: field: message, never a traceback."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT
from mlplatform.commands.files import write_schemas
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
    _edit(env_dir / "dev.yaml", "gpus: 2, pods: 50, storage: 200Gi}", "gpus: many, pods: 50, storage: 200Gi}")
    _edit(env_dir / "dev.yaml", 'cpu: "16", memory: 64Gi, gpus: 3', 'cpu: "sixteen", memory: 64Gi, gpus: 3')
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


def test_yaml_booleans_and_numbers_keep_their_type(env_dir):
    """YAML 1.1 reads `yes` as a boolean: it is not the integer 1 (a one-instance Keycloak without PDB),
    "3" is not 3, 2.5 is not 2, 100 is not "100"; 2.0 is 2 (an editor's JSON Schema says so too)."""
    _edit(env_dir / "dev.yaml", "keycloak: {instances: 1}", "keycloak: {instances: yes}")
    _edit(env_dir / "dev.yaml", "cpu_request: 100m", "cpu_request: 100")
    problems = _problems(env_dir)
    assert len(problems) == 2 and any(p.endswith(
        "dev.yaml:14: keycloak.instances: Input should be a valid integer, got the boolean true (YAML reads "
        "yes/no/on/off/true/false as booleans; quote it for text)") for p in problems), problems
    assert any(p.endswith("dev.yaml:34: teams[0].container_defaults.cpu_request: Input should be a valid string, got "
                          "the number 100 (quote it if text is meant)") for p in problems), problems
    _edit(env_dir / "dev.yaml", "cpu_request: 100", "cpu_request: 100m")
    for value, ok in (("2.0", True), ("2.5", False), ('"2"', False), ("on", False), ("3", True)):
        text = (env_dir / "dev.yaml").read_text().splitlines()
        text[13] = f"keycloak: {{instances: {value}}}"
        (env_dir / "dev.yaml").write_text("\n".join(text) + "\n")
        if ok:
            assert load_env("dev", env_dir).keycloak.instances == int(float(value))
        else:
            (p,) = _problems(env_dir)
            assert "dev.yaml:14: keycloak.instances: Input should be a valid integer" in p, (value, p)


def _leaves(data, path=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _leaves(v, (*path, i))
    else:
        yield path, data


def _probes(v):
    """Values of another type than `v` (and, for integers, the integral and a fractional float)."""
    if isinstance(v, bool):
        return [int(v), str(v).lower(), "yes", 1.0]
    if isinstance(v, int):
        return [True, float(v), v + 0.5, str(v)]
    if isinstance(v, float):
        return [True, str(v)] + ([int(v)] if v.is_integer() else [])
    if isinstance(v, str):
        return [1, True, 1.5]
    return []


def _set(doc, path, value):
    doc = json.loads(json.dumps(doc))
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


def _refused_at(errors, path):
    """Does a schema error sit at `path` (or below)? Errors of anyOf (`X | None`) at a parent carry the
    branches' errors in their context."""
    for e in errors:
        at = tuple(e.absolute_path)
        if at[:len(path)] == path or (e.context and path[:len(at)] == at and _refused_at(e.context, path)):
            return True
    return False


def test_loader_and_editor_schema_agree_on_every_field():
    """Every scalar field of every env file (and infra file), given values of the other types: the
    exported JSON Schema (what the editor checks) and the loader accept or refuse each alike."""
    import jsonschema
    from pydantic import ValidationError
    from mlplatform.config.loader import read_yaml
    from mlplatform.config.models import Env

    validators = {part: jsonschema.Draft202012Validator(json.loads(path.read_text())) for part, path in (
        ("env", ROOT / "environments/env.schema.json"), ("infra", ROOT / "environments/infra/infra.schema.json"))}
    disagree, probed = [], 0
    for env in ("dev", "staging", "prod"):
        main = json.loads(json.dumps(read_yaml(ROOT / f"environments/{env}.yaml").data))
        infra = json.loads(json.dumps(read_yaml(ROOT / f"environments/infra/{env}.yaml").data))
        seen = set()
        for part, doc in (("env", main), ("infra", infra)):
            for path, value in _leaves(doc):
                shape = (part, tuple("*" if isinstance(x, int) else x for x in path))
                if shape in seen:
                    continue
                seen.add(shape)
                for probe in _probes(value):
                    probed += 1
                    changed = _set(doc, path, probe)
                    schema_ok = not _refused_at(validators[part].iter_errors(changed), path)
                    data = {**changed, "infrastructure": infra} if part == "env" else {**main, "infrastructure": changed}
                    loc = path if part == "env" else ("infrastructure", *path)
                    try:
                        Env.model_validate(data)
                        loader_ok = True
                    except ValidationError as e:
                        loader_ok = not any(tuple(x["loc"])[:len(loc)] == loc for x in e.errors())
                    if schema_ok != loader_ok:
                        disagree.append(f"{env} {'.'.join(map(str, loc))} = {probe!r}: schema "
                                        f"{'accepts' if schema_ok else 'refuses'}, loader "
                                        f"{'accepts' if loader_ok else 'refuses'}")
    assert probed > 1000
    assert not disagree, "\n".join(disagree[:40])


def test_cross_field_errors_point_at_the_field_they_are_about(env_dir):
    """A rule that spans sections (a model's GPUs against its team's quota, a model's team, a root profile)
    is reported at the line of the field it is about, without pydantic's "Value error," prefix."""
    _edit(env_dir / "prod.yaml", "min_replicas: 2, max_replicas: 6, target_waiting_per_replica: 8",
          "min_replicas: 2, max_replicas: 60, target_waiting_per_replica: 8")
    _edit(env_dir / "prod.yaml", "      team: nlp\n      model: mistralai", "      team: nlpx\n      model: mistralai")
    problems = _problems(env_dir, "prod")
    lines = (env_dir / "prod.yaml").read_text().splitlines()
    team_line = next(i for i, t in enumerate(lines, 1) if t.strip() == "team: nlpx")
    assert not any("Value error" in p or "(document)" in p for p in problems), problems
    assert any(p.endswith(f"prod.yaml:{team_line}: serving.models[0].team: 'nlpx' is not a team of this env "
                          "(model mistral-7b-instruct)") for p in problems), problems
    # the GPU sum is about the team's quota: with the team back, it points there
    _edit(env_dir / "prod.yaml", "team: nlpx", "team: nlp")
    (p,) = _problems(env_dir, "prod")
    quota_line = next(i for i, t in enumerate(lines, 1) if t.startswith("  - name: nlp")) + 2
    assert lines[quota_line - 1].lstrip().startswith("quota: {")
    assert f"prod.yaml:{quota_line}: teams[" in p and "].quota.gpus: team nlp's models (" in p, p


@pytest.mark.parametrize("db, component", [("airflow", "airflow"), ("mlflow", "mlflow"), ("keycloak", "keycloak")])
def test_a_missing_terraform_output_is_one_error_at_load_with_its_line(env_dir, db, component):
    """Issue 14 item 8: one missing output is one `file:line: field: required by <component>`
    problem at load time -- not a failed build plus knock-on 'no ExternalSecret creates' reports."""
    infra = env_dir / "infra" / "dev.yaml"
    lines = infra.read_text().splitlines(keepends=True)
    line = next(i for i, t in enumerate(lines, 1) if t.startswith("databases:"))
    infra.write_text("".join(t for t in lines if not t.startswith(f"  {db}: ")))
    with pytest.raises(EnvError) as e:
        load_env("dev", env_dir)
    [problem] = e.value.problems
    at = {f"{infra}:{n}: " for n in (line, line + 1)}  # the `databases:` key or its block
    assert any(problem.startswith(a) for a in at), problem
    assert problem.endswith(f": infrastructure.databases: {db!r}: required by {component} "
                            f"(Terraform output `databases` has no {db!r} entry)")


def test_a_disabled_component_needs_no_database(env_dir):
    env = env_dir / "dev.yaml"
    assert "\nmlflow: {replicas: 1}\n" in env.read_text()
    env.write_text(env.read_text().replace("\nmlflow: {replicas: 1}\n", "\nmlflow: {replicas: 1, enabled: false}\n"))
    infra = env_dir / "infra" / "dev.yaml"
    infra.write_text("".join(t for t in infra.read_text().splitlines(keepends=True) if not t.startswith("  mlflow: ")))
    assert "mlflow" not in load_env("dev", env_dir).required_databases()
