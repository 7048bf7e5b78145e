"""The registry mirror (issue 17, part 4): the mapping, the env section's refusals, the pull Secret,
the rewrite of ours and of the real chart renders, and the synth check that no image escapes."""
import copy
import json
import re
import tarfile

import pytest

from conftest import find
from mlplatform.components.registry import PULL_SECRET
from mlplatform.components.registry.access import dockerconfig_template, pulling_namespaces
from mlplatform.components.registry.config import RegistryConfig
from mlplatform.kit import helm, mirror, versions
from mlplatform.kit.secrets import catalog
from mlplatform.plan import render
from mlplatform.validate import mirror as mirror_check
from mlplatform.validate.admission_pss import pod_templates
from mlplatform.validate.charts import merged, subchart_defaults

HARBOR = mirror.Mirror(sources={"docker.io": "harbor.example.org/dockerhub", "quay.io": "harbor.example.org/quay"})
PREFIX = mirror.Mirror(prefix="mirror.example.org/all", sources={"nvcr.io": "harbor.example.org/nvcr"})


# ---- the mapping ------------------------------------------------------------------------------

@pytest.mark.parametrize("ref,host,path", [
    ("redis:7.4", "docker.io", "library/redis:7.4"),
    ("redis", "docker.io", "library/redis"),
    ("apache/airflow:3.2.0", "docker.io", "apache/airflow:3.2.0"),
    ("docker.io/busybox:1.36", "docker.io", "library/busybox:1.36"),
    ("index.docker.io/grafana/grafana:13", "docker.io", "grafana/grafana:13"),
    ("quay.io/jupyter/base-notebook:2026-07-28", "quay.io", "jupyter/base-notebook:2026-07-28"),
    ("localhost:5000/x/y:1", "localhost:5000", "x/y:1"),
    ("localhost/x", "localhost", "x"),
    ("nvcr.io/nvidia", "nvcr.io", "nvidia"),
])
def test_split_reads_a_reference_as_a_container_runtime_does(ref, host, path):
    assert mirror.split(ref) == (host, path)


def test_sources_map_each_registry_and_the_prefix_takes_the_rest():
    assert HARBOR.rewrite("redis:7.4.11-alpine") == "harbor.example.org/dockerhub/library/redis:7.4.11-alpine"
    assert HARBOR.rewrite("quay.io/kuberay/operator") == "harbor.example.org/quay/kuberay/operator"
    assert PREFIX.rewrite("nvcr.io/nvidia/k8s") == "harbor.example.org/nvcr/nvidia/k8s"
    assert PREFIX.rewrite("ghcr.io/dexidp/dex:v2.45.1") == "mirror.example.org/all/ghcr.io/dexidp/dex:v2.45.1"
    digest = "public.ecr.aws/karpenter/controller:1.14.1@sha256:" + "a" * 64
    assert PREFIX.rewrite(digest) == "mirror.example.org/all/" + digest  # the digest stays the pin
    # already mirrored: unchanged (rewriting twice is harmless)
    once = HARBOR.rewrite("apache/airflow:3.2.0")
    assert HARBOR.rewrite(once) == once and HARBOR.is_mirrored(once)
    with pytest.raises(KeyError, match="registry.sources has no entry for 'ghcr.io'"):
        HARBOR.rewrite("ghcr.io/external-secrets/external-secrets:v2.9.0")


def test_source_of_inverts_the_mapping():
    for m, ref in ((HARBOR, "redis:7"), (HARBOR, "quay.io/a/b:1"), (PREFIX, "ghcr.io/a/b:2"), (PREFIX, "nvcr.io/n/x:3")):
        assert m.source_of(m.rewrite(ref)) == mirror.normalize(ref)


def test_overlay_sets_chart_defaults_and_leaves_our_values_alone():
    rows = (versions.MirrorValue("c", "image.repository", "registry.k8s.io/external-dns/external-dns"),
            versions.MirrorValue("c", "op.registry", "quay.io", part="registry"),
            versions.MirrorValue("c", "kept.repository", "quay.io/x/y"),
            versions.MirrorValue("c", "imagePullSecrets", "", part="pull_secrets"),
            versions.MirrorValue("c", "names", "", part="pull_secret_names"),
            versions.MirrorValue("c", "one", "", part="pull_secret_name"))
    m = mirror.Mirror(prefix="m.example.org/p", sources={"quay.io": "h.example.org/quay"}, pull_secret="pull")
    ours = {"kept": {"repository": "quay.io/other/thing"}, "imagePullSecrets": [{"name": "mine"}]}
    out = mirror.overlay(ours, rows, m)
    assert out["image"]["repository"] == "m.example.org/p/registry.k8s.io/external-dns/external-dns"
    assert out["op"]["registry"] == "h.example.org/quay"
    assert out["kept"]["repository"] == "quay.io/other/thing"  # ours: not the row's source, left alone
    assert out["imagePullSecrets"] == [{"name": "mine"}, {"name": "pull"}]
    assert out["names"] == ["pull"] and out["one"] == "pull"
    assert ours == {"kept": {"repository": "quay.io/other/thing"}, "imagePullSecrets": [{"name": "mine"}]}  # a copy
    # the chart default spelled out in our values (volcano's basic.image_registry) is mirrored too
    assert mirror.overlay({"op": {"registry": "quay.io"}}, rows[1:2], m)["op"]["registry"] == "h.example.org/quay"


def test_rewrite_values_touches_only_bom_references():
    bom = mirror.Bom(frozenset({"quay.io/jupyter/base-notebook:2026-07-28"}), frozenset({"quay.io/kuberay/operator", "redis"}))
    values = {"image": {"repository": "quay.io/kuberay/operator", "tag": "v1.7.0"},
              "profiles": [{"image": "quay.io/jupyter/base-notebook:2026-07-28"}],
              "cache": {"name": "redis"},  # a name, not an image: no tag key beside it
              "defaultAirflowRepository": "redis", "defaultAirflowTag": "7"}
    out = mirror.rewrite_values(values, bom, HARBOR)
    assert out["image"]["repository"] == "harbor.example.org/quay/kuberay/operator"
    assert out["profiles"][0]["image"] == "harbor.example.org/quay/jupyter/base-notebook:2026-07-28"
    assert out["cache"] == {"name": "redis"}
    assert out["defaultAirflowRepository"] == "harbor.example.org/dockerhub/library/redis"


# ---- the env section --------------------------------------------------------------------------

@pytest.mark.parametrize("kw,message", [
    ({"pull_secret": True}, "need a mirror"),
    ({"exempt": {"quay.io/x": "because of reasons"}}, "need a mirror"),
    ({"sources": {"docker.io": "harbor.example.org/hub", "quay.io": "harbor.example.org/hub"}},
     "harbor.example.org/hub mirrors more than one source registry"),
    ({"sources": {"harbor.example.org": "harbor.example.org/loop"}}, "both a source and a mirror host"),
    ({"prefix": "Harbor.example.org/UPPER"}, "pattern"),
])
def test_config_refuses_impossible_registries(kw, message):
    with pytest.raises(ValueError, match=message):
        RegistryConfig(**kw)


def test_only_prod_has_a_mirror(envs):
    assert envs["prod"].registry.enabled and envs["prod"].registry.pull_secret
    assert not envs["dev"].registry.enabled and not envs["staging"].registry.enabled


# ---- the pull Secret --------------------------------------------------------------------------

def test_pull_secret_is_a_dockerconfigjson_external_secret_in_every_pulling_namespace(envs, rendered):
    env = envs["prod"]
    objs = rendered["prod"].components["secrets"]
    wanted = pulling_namespaces(env)
    assert {"kube-system", "jupyterhub", "keycloak", "monitoring"} <= set(wanted) and "default" not in wanted
    assert all(env.team_namespace(t) in wanted for t in env.teams)
    for ns in wanted:
        es = find(objs, "ExternalSecret", f"{ns}-{PULL_SECRET}")
        assert es["metadata"]["namespace"] == ns
        tgt = es["spec"]["target"]
        assert tgt["name"] == PULL_SECRET
        assert tgt["template"]["type"] == "kubernetes.io/dockerconfigjson"
        assert tgt["template"]["mergePolicy"] == "Replace"  # a typed Secret holds only its keys
        assert set(tgt["template"]["data"]) == {".dockerconfigjson"}
        assert {d["remoteRef"]["key"] for d in es["spec"]["data"]} == {f"{env.infrastructure.secrets_manager_prefix}registry/pull"}
    store = find(objs, "ClusterSecretStore", "aws-secrets-manager")
    assert set(wanted) <= set(store["spec"]["conditions"][0]["namespaces"])
    assert catalog()["registry/pull"].optional
    # dev pulls from the source registries: no pull Secret
    assert not [o for o in rendered["dev"].components["secrets"] if o["metadata"]["name"].endswith(PULL_SECRET)]


def test_dockerconfig_template_authenticates_every_mirror_host():
    doc = json.loads(dockerconfig_template(("a.example.org", "b.example.org")))
    assert set(doc["auths"]) == {"a.example.org", "b.example.org"}
    assert doc["auths"]["a.example.org"]["auth"] == '{{ printf "%s:%s" .username .password | b64enc }}'


def test_every_pod_of_ours_lists_the_pull_secret_in_prod_only(rendered):
    for name, want in (("prod", True), ("dev", False)):
        specs = [spec for comp, objs in rendered[name].components.items() for o in objs
                 for _, spec, _ in pod_templates(o)]
        assert specs
        for spec in specs:
            listed = {s["name"] for s in spec.get("imagePullSecrets") or []}
            assert (PULL_SECRET in listed) == want


# ---- the real renders -------------------------------------------------------------------------

def test_prod_renders_pull_every_image_from_the_mirror(rendered):
    r = rendered["prod"]
    m = r.env.registry.mirror()
    images = mirror_check.env_images(r)
    assert len(images) > 50
    escaped = [(w, ref) for c, w, ref in images if not m.is_mirrored(ref)]
    assert {mirror.repository_of(ref) for _, ref in escaped} == {"quay.io/keycloak/keycloak-operator"}  # exempt
    assert mirror_check.check(r) == []
    docs = {c: [d.obj for d in ds] for c, ds in r.renders.docs.items()}
    cp = find(docs["gpu-operator"], "ClusterPolicy", "cluster-policy")
    assert cp["spec"]["devicePlugin"]["repository"] == "harbor.example.org/nvcr/nvidia"
    assert cp["spec"]["devicePlugin"]["imagePullSecrets"] == [PULL_SECRET]
    prom = [o for o in docs["monitoring"] if o["kind"] == "Prometheus"][0]
    assert prom["spec"]["image"].startswith("harbor.example.org/quay/prometheus/prometheus:")
    assert {"name": PULL_SECRET} in prom["spec"]["imagePullSecrets"]
    op = [o for o in docs["monitoring"] if o["kind"] == "Deployment" and "operator" in o["metadata"]["name"]][0]
    args = op["spec"]["template"]["spec"]["containers"][0]["args"]
    assert any(a.startswith("--prometheus-config-reloader=harbor.example.org/quay/") for a in args)
    kc = find(r.components["keycloak"], "Keycloak", "keycloak")
    assert kc["spec"]["image"] == "harbor.example.org/quay/keycloak/keycloak:" + versions.IMAGES["keycloak"].tag
    for name, spec in r.helm["jupyterhub"].pod_specs:  # KubeSpawner's single-user pods
        assert all(c["image"].startswith("harbor.example.org/") for c in spec["containers"]), name


def test_dev_renders_are_untouched(rendered):
    r = rendered["dev"]
    assert r.env.registry.mirror() is None and mirror_check.check(r) == []
    assert not any("harbor" in ref for _, _, ref in mirror_check.env_images(r))


def _without(chart: str, keep):
    table = dict(versions.MIRROR_VALUES)
    table[chart] = tuple(row for row in table[chart] if keep(row))
    return table


def test_a_chart_image_not_rewritten_fails_the_synth(envs, monkeypatch):
    """Planted: external-dns's image row dropped -> the real render runs the source image."""
    monkeypatch.setattr(versions, "MIRROR_VALUES", _without("external-dns", lambda r: r.part != "repository"))
    r = render(envs["prod"])
    problems = mirror_check.check(r)
    assert problems == [p for p in problems if "external-dns" in p]
    assert any("image registry.k8s.io/external-dns/external-dns:" in p and "escapes the registry mirror" in p
               and "MirrorValue row for chart external-dns" in p for p in problems), problems


def test_a_chart_pod_without_the_pull_secret_fails_the_synth(envs, monkeypatch):
    monkeypatch.setattr(versions, "MIRROR_VALUES", _without("prometheus-adapter", lambda r: "pull" not in r.part))
    problems = mirror_check.check(render(envs["prod"]))
    assert problems and all("prometheus-adapter" in p and f"imagePullSecrets {PULL_SECRET}" in p for p in problems)


def test_an_unused_exemption_and_an_unexempted_operator_image_fail(envs):
    env = envs["prod"]
    reg = env.registry.model_copy(update={"exempt": {"quay.io/nothing/here": "no image of the env is this one"}})
    problems = mirror_check.check(render(env.model_copy(update={"registry": reg})))
    assert any("registry.exempt names quay.io/nothing/here" in p for p in problems)
    assert any("quay.io/keycloak/keycloak-operator:" in p and "applies unseen" in p for p in problems)


def test_an_image_of_ours_outside_the_bom_escapes(envs, rendered):
    r = copy.copy(rendered["prod"])
    objs = copy.deepcopy(r.components["mlflow"])
    dep = next(o for o in objs if o["kind"] == "Deployment")
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/someone/mlflow:1.0.0"
    r.components = {**r.components, "mlflow": objs}
    problems = mirror_check.check(r)
    assert any("ghcr.io/someone/mlflow:1.0.0 escapes" in p and "take it from the BOM" in p for p in problems)


# ---- the rows ---------------------------------------------------------------------------------

def _default(chart: str, path: str):
    node = helm.default_values(chart)
    keys = path.split(".")
    subs = subchart_defaults(chart)
    if keys[0] in subs:  # the subchart's own defaults, under what the parent sets for it
        node = {**node, keys[0]: merged(subs[keys[0]], node.get(keys[0]))}
    for k in keys:
        node = node.get(k) if isinstance(node, dict) else None
    return node


def _templates(chart: str) -> str:
    helm.archive_digest(chart)
    with tarfile.open(helm.archive_path(chart), mode="r:gz") as tar:
        return "\n".join(tar.extractfile(m).read().decode("utf-8", "replace") for m in tar.getmembers()
                         if m.isfile() and re.search(r"/templates/.+\.(yaml|tpl)$", m.name))


def test_every_mirror_row_names_the_charts_default_or_a_value_its_templates_read():
    rows = [r for rows in versions.MIRROR_VALUES.values() for r in rows]
    assert len(rows) > 60
    for r in rows:
        assert r.chart in versions.CHARTS, r
        if r.part in mirror.PULL_SECRET_PARTS:
            leaf = ".".join(r.path.split(".")[-2:]) if "." in r.path else r.path
            assert re.search(rf"\.{re.escape(leaf.split('.')[-1])}\b", _templates(r.chart)), r
        else:
            assert _default(r.chart, r.path) == r.source, f"{r.chart} {r.path}: default {_default(r.chart, r.path)!r}"


def test_mirror_list_gives_copyable_source_and_mirror_refs(rendered):
    pairs, exempt = mirror_check.mirror_list(rendered["prod"])
    m = rendered["prod"].env.registry.mirror()
    assert ("docker.io/library/redis:" + versions.IMAGES["redis"].tag,
            "harbor.example.org/dockerhub/library/redis:" + versions.IMAGES["redis"].tag) in pairs \
        or all("redis" not in s for s, _ in pairs)
    for src, dst in pairs:
        assert dst == m.rewrite(src) and m.source_of(dst) == src
        assert ":" in src.rsplit("/", 1)[-1] or "@sha256:" in src  # a tag or a digest: something to copy
    assert any("@sha256:" in s and "@sha256:" in d for s, d in pairs)  # a digest pin stays a digest pin
    assert [s for s, _ in exempt] == ["quay.io/keycloak/keycloak-operator:" + versions.IMAGES["keycloak-operator"].tag]
