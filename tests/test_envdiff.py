"""`python app.py envdiff`: the meaningful differences between envs, computed from rendered envs."""
import pytest

from mlplatform import envdiff
from mlplatform.cli import main
from mlplatform.config.models import Env
from mlplatform.plan import render


@pytest.fixture(scope="module")
def facts(rendered):
    return {n: envdiff.facts(r) for n, r in rendered.items()}


def _table(facts, names, **kw):
    return {(r.section, r.item): r.values for r in envdiff.rows({n: facts[n] for n in names}, **kw)}


def test_a_single_config_change_is_exactly_the_rows_it_touches(envs, facts):
    data = envs["dev"].model_dump(mode="json")
    nlp = next(t for t in data["teams"] if t["name"] == "nlp")
    nlp["quota"]["gpus"] += 2
    data["compute"]["karpenter"]["gpu_pool"]["gpu_limit"] += 4
    changed = envdiff.facts(render(Env.model_validate(data)))
    table = _table({"before": facts["dev"], "after": changed}, ["before", "after"])
    assert table == {
        ("gpu", "team nlp quota"): (str(nlp["quota"]["gpus"] - 2), str(nlp["quota"]["gpus"])),
        ("gpu", "total of team quotas"): (str(sum(t["quota"]["gpus"] for t in data["teams"]) - 2),
                                          str(sum(t["quota"]["gpus"] for t in data["teams"]))),
        ("gpu", "nodepool gpu limit"): (str(data["compute"]["karpenter"]["gpu_pool"]["gpu_limit"] - 4),
                                        str(data["compute"]["karpenter"]["gpu_pool"]["gpu_limit"])),
    }


def test_dev_vs_prod_shows_what_users_care_about(envs, facts):
    dev, prod = envs["dev"], envs["prod"]
    table = _table(facts, ["dev", "prod"])
    assert table[("env", "kubernetes minor")] == (dev.kubernetes_version, prod.kubernetes_version)
    # GPU budgets: team quotas, queues, the pool's limit and families
    for t in prod.teams:
        dev_team = next((x for x in dev.teams if x.name == t.name), None)
        want = (str(dev_team.quota.gpus) if dev_team else "-", str(t.quota.gpus))
        if want[0] != want[1]:
            assert table[("gpu", f"team {t.name} quota")] == want
    assert table[("gpu", "nodepool gpu limit")] == (str(dev.compute.karpenter.gpu_pool.gpu_limit),
                                                    str(prod.compute.karpenter.gpu_pool.gpu_limit))
    assert table[("gpu", "nodepool gpu families")] == tuple(", ".join(e.compute.karpenter.gpu_pool.instance_families)
                                                           for e in (dev, prod))
    # served models: present in one env only, or with other replicas
    for m in prod.serving.models:
        if m.name not in {x.name for x in dev.serving.models}:
            assert table[("serving", f"{m.name} replicas")] == (
                "-", f"{m.autoscaling.min_replicas}-{m.autoscaling.max_replicas}")
            assert table[("hosts", f"{prod.serving.host_prefix}-{m.name}")][0] == "-"
    # replicas and resources of workloads (our objects and chart values)
    assert any(s == "replicas" for s, _ in table) and any(s == "resources" for s, _ in table)
    mlflow = table[("resources", "mlflow Deployment/mlflow/mlflow containers[mlflow]")]
    assert mlflow == tuple(f"cpu {e.mlflow.cpu_request}/{e.mlflow.cpu_limit}, memory {e.mlflow.memory_request}/"
                           f"{e.mlflow.memory_limit}" for e in (dev, prod))


def test_only_differing_rows_by_default_and_every_fact_with_all(facts):
    names = ["dev", "staging", "prod"]
    diff = envdiff.rows({n: facts[n] for n in names})
    everything = envdiff.rows({n: facts[n] for n in names}, all_rows=True)
    assert diff and all(r.differs for r in diff)
    assert len(everything) > len(diff) and any(not r.differs for r in everything)
    # hosts are relative to the domain: a host every env has under the same label is not a difference
    assert ("hosts", "keycloak") not in {(r.section, r.item) for r in diff}
    assert {(r.section, r.item): r.values for r in everything}[("hosts", "keycloak")] == ("auth.<domain> (login: none)",) * 3
    # sorted: sections in their fixed order, items naturally within a section
    order = [envdiff.SECTIONS.index(r.section) for r in everything]
    assert order == sorted(order)


def test_cli_prints_a_deterministic_table(capsys):
    assert main(["envdiff", "dev", "prod"]) == 0
    first = capsys.readouterr()
    assert main(["envdiff", "dev", "prod"]) == 0
    assert capsys.readouterr().out == first.out
    lines = first.out.splitlines()
    assert lines[0].split() == ["SECTION", "ITEM", "dev", "prod"]
    assert any(line.startswith("gpu") for line in lines)
    assert "differing rows" in first.err
    assert main(["envdiff", "--markdown", "--section", "gpu", "dev", "prod"]) == 0
    md = capsys.readouterr().out.splitlines()
    assert md[0] == "| section | item | dev | prod |" and md[1] == "|---|---|---|---|"
    assert all(line.startswith("| gpu | ") for line in md[2:])


def test_cli_names_unknown_envs_and_sections(capsys):
    assert main(["envdiff", "dev", "qa"]) == 2
    assert "unknown env(s): qa" in capsys.readouterr().err
    assert main(["envdiff", "--section", "gpus", "dev"]) == 2
    assert "unknown section(s): gpus" in capsys.readouterr().err


def test_a_missing_env_folder_is_an_error_not_an_empty_table(tmp_path, capsys):
    from mlplatform.cli import main

    assert main(["envdiff", "--env-dir", str(tmp_path / "nonexistent")]) == 2
    assert f"envdiff: no environments to compare: {tmp_path / 'nonexistent'} is not a folder" in capsys.readouterr().err
    assert main(["envdiff", "--env-dir", str(tmp_path)]) == 2
    assert "holds no <env>.yaml files" in capsys.readouterr().err
