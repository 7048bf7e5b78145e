"""dist/<env>/INVENTORY.md: what users look up (GPU budgets, endpoints, models), byte-stable, and
following the config."""
import pytest

from mlplatform import write
from mlplatform.components.jupyterhub import access as jupyterhub_access
from mlplatform.components.mlflow import access as mlflow_access
from mlplatform.config.models import Env
from mlplatform.inventory import INVENTORY_FILE, markdown
from mlplatform.kit import routes, versions
from mlplatform.plan import render


def _section(text: str, title: str) -> str:
    """The lines under the heading `title` up to the next heading."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("#") and line.lstrip("#").strip() == title]
    assert len(starts) == 1, f"heading {title!r}: {len(starts)} found"
    body = []
    for line in lines[starts[0] + 1:]:
        if line.startswith("#"):
            break
        body.append(line)
    return "\n".join(body)


def _rows(table_text: str) -> list[list[str]]:
    out = []
    for line in table_text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            out.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return out


def _row(rows: list[list[str]], first: str) -> list[str]:
    hits = [r for r in rows if r[0] == first]
    assert len(hits) == 1, (first, rows)
    return hits[0]


@pytest.fixture(scope="module")
def inventories(rendered):
    return {n: markdown(r) for n, r in rendered.items()}


def test_every_team_gpu_quota_and_queue_budget_is_listed(envs, inventories):
    for name, env in envs.items():
        rows = _rows(_section(inventories[name], "Per team"))
        header = rows[0]
        for t in env.teams:
            row = dict(zip(header, _row(rows, f"`{t.name}`")))
            assert row["quota GPUs"] == str(t.quota.gpus), (name, t.name)
            q = env.volcano.queues[t.name]
            assert row["Volcano queue"] == f"`team-{t.name}`"
            assert row["queue GPUs"] == str(q.capability.gpus), (name, t.name)
            assert row["queue cpu"] == q.capability.cpu and row["queue memory"] == q.capability.memory
        total = dict(zip(header, _row(rows, "**total**")))
        assert total["quota GPUs"] == str(sum(t.quota.gpus for t in env.teams))


def test_gpu_nodepool_limit_and_families_are_listed(envs, inventories):
    for name, env in envs.items():
        pool = env.compute.karpenter.gpu_pool
        rows = _rows(_section(inventories[name], "Per NodePool (Karpenter)"))
        row = dict(zip(rows[0], _row(rows, "`gpu`")))
        assert row["GPU limit"] == str(pool.gpu_limit)
        assert row["families"] == (", ".join(pool.instance_families) or "any")


def test_every_endpoint_and_model_is_listed_with_its_login(envs, inventories):
    for name, env in envs.items():
        text = inventories[name]
        endpoints = _rows(_section(text, "Endpoints"))
        urls = {r[0]: r for r in endpoints[1:]}
        for rt in routes.for_env(env):
            assert routes.url(env, rt) in urls, (name, rt.name)
        assert "Keycloak at the ALB" in urls[routes.url(env, mlflow_access.ROUTE)][2]
        assert "OIDC client `jupyterhub`" in urls[routes.url(env, jupyterhub_access.ROUTE)][2]
        models = _rows(_section(text, "Served models"))
        assert env.serving.models, name
        for m in env.serving.models:
            row = dict(zip(models[0], _row(models, f"`{m.name}`")))
            assert row["endpoint"] == f"https://{env.serving.host_prefix}-{m.name}.{env.domain}/v1"
            assert row["endpoint"] in urls and urls[row["endpoint"]][2].startswith("API key")
            assert row["team"] == f"`{m.team}`"
            assert row["replicas (min–max)"] == f"{m.autoscaling.min_replicas}–{m.autoscaling.max_replicas}"
            assert row["GPUs per replica"] == str(m.gpus)


def test_namespaces_carry_pod_security_and_team_quotas(envs, inventories):
    for name, env in envs.items():
        rows = _rows(_section(inventories[name], "Namespaces"))
        header = rows[0]
        for p in env.namespaces.platform:
            assert dict(zip(header, _row(rows, f"`{p.name}`")))["Pod Security"] == p.pod_security
        for t in env.teams:
            row = dict(zip(header, _row(rows, f"`{env.team_namespace(t)}`")))
            assert row["Pod Security"] == "restricted" and row["GPUs"] == str(t.quota.gpus)
            assert row["requests cpu / memory"] == f"{t.quota.cpu} / {t.quota.memory}"


def test_components_list_pinned_charts_and_images(rendered, inventories):
    for name, r in rendered.items():
        text = _section(inventories[name], "Components")
        for comp, rel in r.helm.items():
            ch = versions.CHARTS[rel.chart]
            assert f"| `{comp}` | {r.waves[comp]} | chart `{ch.name}` {ch.version}" in text
        images = _section(inventories[name], "Images (`kit/versions.py`)")
        assert f"`{versions.IMAGES['vllm'].ref}`" in images  # every env serves a model
        for p in r.env.jupyterhub.profiles:
            assert f"`{versions.IMAGES[p.image].ref}`" in images


def test_inventory_is_byte_stable_and_follows_the_config(envs, rendered, inventories):
    env = envs["dev"]
    assert markdown(render(env)) == inventories["dev"]
    data = env.model_dump(mode="json")
    team = data["teams"][0]
    team["quota"]["gpus"] += 3
    changed = markdown(render(Env.model_validate(data)))
    assert changed != inventories["dev"]
    row = dict(zip(*(lambda rows: (rows[0], _row(rows, f"`{team['name']}`")))(_rows(_section(changed, "Per team")))))
    assert row["quota GPUs"] == str(team["quota"]["gpus"])
    assert "timestamp" not in changed.lower() and "generated at" not in changed.lower()


def test_synth_writes_the_inventory_into_each_env_folder(rendered, tmp_path):
    r = rendered["dev"]
    write.write_envs([r], tmp_path / "dist", tmp_path / "argocd")
    path = tmp_path / "dist" / "dev" / INVENTORY_FILE
    assert path.read_text(encoding="utf-8") == markdown(r)
    assert not (tmp_path / "argocd" / "dev" / INVENTORY_FILE).exists()
