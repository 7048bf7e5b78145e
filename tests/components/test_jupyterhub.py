"""JupyterHub: values checked against the chart, the profiles against the real KubeSpawner."""
import asyncio
from unittest.mock import Mock

import pytest
from jupyterhub.objects import Hub, Server
from kubespawner import KubeSpawner
from oauthenticator.generic import GenericOAuthenticator
from traitlets.config import Config

from hub import User as _User, hub_config as _hub_config, no_cluster  # noqa: F401  (autouse: no cluster)
from conftest import find
from mlplatform.components.jupyterhub import objects as jh, objects as jupyterhub
from mlplatform.config.models import Env
from mlplatform.components.keycloak import objects as keycloak
from mlplatform.config.loader import EnvError, load_env
from mlplatform.kit import routes
from mlplatform.validate import scheduling, charts
from mlplatform.validate.charts import check_resources, check_values
import json

def _spawn(env, roles: list[str], profile: str):
    async def run():
        user = _User()
        user.groups = [Mock() for _ in roles]
        for g, r in zip(user.groups, roles):
            g.name = r
        sp = KubeSpawner(config=_hub_config(env), hub=Hub(), user=user, api_token="t",
                         oauth_client_id="unused", _mock=True)
        sp.user_options = {"profile": profile}
        await sp.load_user_options()
        return await sp.get_pod_manifest()
    return asyncio.run(run())


def test_values_pass_the_chart_schema_and_size_every_container(envs):
    for env in envs.values():
        v = jh.values(env)
        assert check_values("jupyterhub", v) == []
        assert check_resources(v) == []


def test_every_override_key_is_a_kubespawner_trait(envs):
    traits = KubeSpawner.class_traits()
    for env in envs.values():
        for p in jh.profile_list(env):
            unknown = set(p["kubespawner_override"]) - set(traits)
            assert not unknown, (env.name, p["slug"], unknown)
    assert "extra_tolerations" not in traits, "the book's key does not exist"


def test_authenticator_config_keys_are_generic_oauthenticator_traits(envs):
    traits = GenericOAuthenticator.class_traits()
    for env in envs.values():
        cfg = jh.values(env)["hub"]["config"]["GenericOAuthenticator"]
        assert set(cfg) <= set(traits), set(cfg) - set(traits)
        assert cfg["allowed_groups"] and "client_secret" not in cfg


def test_gpu_profile_pod_has_toleration_gpu_limit_selector_and_runs_as_non_root(envs):
    env = envs["prod"]
    pod = _spawn(env, ["ml-engineer"], "gpu-4")
    c = pod.spec.containers[0]
    assert c.resources.limits["nvidia.com/gpu"] == "4"
    assert any(t.key == "nvidia.com/gpu" and t.effect == "NoSchedule" for t in pod.spec.tolerations)
    assert pod.spec.node_selector == {"platform.mlops.io/node-pool": "gpu"}
    sc = c.security_context
    assert sc["runAsUser"] == 1000 and sc["runAsNonRoot"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and pod.spec.security_context["seccompProfile"]["type"] == "RuntimeDefault"
    # what the GPU cross-check judges is what KubeSpawner builds
    ours = jh.pod_spec(env, next(p for p in env.jupyterhub.profiles if p.slug == "gpu-4"))
    assert ours["nodeSelector"] == pod.spec.node_selector
    assert ours["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == c.resources.limits["nvidia.com/gpu"]


def test_pod_security_admission_judges_the_pod_kubespawner_builds(envs):
    """The pod spec Pod Security admission checks per profile (jh.pod_spec) carries exactly the
    security contexts of the real KubeSpawner's pod, for every profile of every env."""
    from mlplatform.validate.admission_pss import check_pod_spec
    for env in envs.values():
        roles = sorted({r for p in env.jupyterhub.profiles for r in p.required_roles})
        for p in env.jupyterhub.profiles:
            pod = _spawn(env, roles, p.slug)
            ours = jh.pod_spec(env, p)
            assert ours["securityContext"] == pod.spec.security_context, (env.name, p.slug)
            assert ours["containers"][0]["securityContext"] == pod.spec.containers[0].security_context, (env.name, p.slug)
            assert check_pod_spec(ours, "restricted") == [] or p.run_as_root, (env.name, p.slug)


def test_cpu_profile_memory_reaches_the_pod_in_binary_units(envs):
    pod = _spawn(envs["dev"], [], "datascience")
    assert int(pod.spec.containers[0].resources.limits["memory"]) == 8 * 1024 ** 3  # 8Gi, not 8G decimal


def test_role_gated_profiles_are_hidden_and_refused(envs):
    env = envs["prod"]
    with pytest.raises(ValueError, match="No such profile: gpu-4"):
        _spawn(env, ["data-scientist"], "gpu-4")
    with pytest.raises(ValueError, match="No such profile: gpu-1"):
        _spawn(env, ["viewer"], "gpu-1")
    assert _spawn(env, ["data-scientist"], "gpu-1").spec.containers[0].resources.limits["nvidia.com/gpu"] == "1"
    assert _spawn(env, ["admin"], "gpu-4") is not None


def test_no_profile_runs_as_root_unless_configured(envs, env_dir):
    for env in envs.values():
        v = jh.values(env)
        assert v["singleuser"]["uid"] == 1000 and v["singleuser"]["allowPrivilegeEscalation"] is False
        for p in jh.profile_list(env):
            assert p["kubespawner_override"].get("uid", 1000) != 0, p["slug"]
    f = env_dir / "dev.yaml"
    f.write_text(f.read_text().replace("image: notebook-base,", "image: notebook-base, run_as_root: true,", 1))
    # the namespace enforces `restricted`: a root profile could never start, so it is a config error
    with pytest.raises(EnvError) as e:
        load_env("dev", env_dir)
    assert any("run as root, but namespace jupyterhub enforces Pod Security `restricted`" in p for p in e.value.problems)
    data = envs["dev"].model_dump()
    data["jupyterhub"]["profiles"][0]["run_as_root"] = True
    for ns in data["namespaces"]["platform"]:
        if ns["name"] == "jupyterhub":
            ns.update(pod_security="baseline", pod_security_reason="root notebooks for apt-get installs")
    rooted = Env.model_validate(data)
    (small,) = [p for p in jh.profile_list(rooted) if p["slug"] == "small"]
    assert small["kubespawner_override"]["uid"] == 0, "root only by explicit config"


def test_oauth_callback_is_what_the_keycloak_client_allows(envs):
    for env in envs.values():
        cfg = jh.values(env)["hub"]["config"]["GenericOAuthenticator"]
        (client,) = [c for c in keycloak.realm(env)["clients"] if c["clientId"] == cfg["client_id"]]
        assert client["redirectUris"] == [cfg["oauth_callback_url"]]
        assert cfg["oauth_callback_url"] == f"https://platform.{env.domain}/jupyter/hub/oauth_callback"
        assert cfg["token_url"].startswith(routes.issuer(env))
        assert jh.values(env)["hub"]["baseUrl"] == jh.ROUTE.path


def test_home_and_shared_storage(envs):
    for env in envs.values():
        st = jh.values(env)["singleuser"]["storage"]
        assert st["capacity"] == env.jupyterhub.home_size and st["dynamic"]["storageClass"] == "gp3"
        assert st["extraVolumeMounts"] == [{"name": "shared", "mountPath": "/home/shared"}]
        assert st["extraVolumes"][0]["persistentVolumeClaim"]["claimName"] == "efs-shared-jupyterhub"


def test_notebook_network_policy_allows_only_what_notebooks_need(envs):
    for env in envs.values():
        np = jh.values(env)["singleuser"]["networkPolicy"]
        rules = np["egressAllowRules"]
        assert np["enabled"] and rules["privateIPs"] is False and rules["cloudMetadataServer"] is False
        assert rules["nonPrivateIPs"] is env.jupyterhub.internet_egress
        allowed = {e["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for e in np["egress"]}
        assert allowed == set(env.jupyterhub.egress_namespaces)
        assert jh.values(env)["singleuser"]["cloudMetadata"]["blockWithIptables"] is False, "no privileged init"


def test_culling_and_gpu_start_timeout_per_env(envs):
    dev, prod = jh.values(envs["dev"]), jh.values(envs["prod"])
    assert dev["cull"]["timeout"] < prod["cull"]["timeout"] and prod["cull"]["maxAge"] == 604800
    assert all(v["singleuser"]["startTimeout"] >= 600 for v in (dev, prod))


def test_gpu_profiles_fit_a_gpu_node_pool_and_an_impossible_one_is_caught(rendered, env_dir, envs):
    for r in rendered.values():
        assert scheduling.check_gpu_scheduling(r) == []
    f = env_dir / "dev.yaml"
    f.write_text(f.read_text().replace("mem_limit: 16Gi, gpus: 1,", "mem_limit: 16Gi, gpus: 8,", 1))
    with pytest.raises(EnvError, match="notebook profile gpu-1 ask one node for 8 nvidia.com/gpu"):
        load_env("dev", env_dir)  # the config refuses it first...
    from mlplatform.plan import render
    env = envs["dev"]  # ...and the check of the rendered pods is the backstop (config bypassed here)
    profiles = [p.model_copy(update={"gpus": 8}) if p.slug == "gpu-1" else p for p in env.jupyterhub.profiles]
    r = render(env.model_copy(update={"jupyterhub": env.jupyterhub.model_copy(update={"profiles": profiles})}))
    problems = scheduling.check_gpu_scheduling(r)
    assert any("profile gpu-1" in p and "fits no NodePool" in p for p in problems), problems


def test_chart_generated_secrets_are_kept_live_and_config_changes_restart_the_hub(rendered, envs):
    app = find(rendered["dev"].components["argocd-apps"], "Application", "dev-jupyterhub")
    ignored = {(d["kind"], d["name"]) for d in app["spec"]["ignoreDifferences"]}
    assert ("Secret", "hub") in ignored and ("Deployment", "hub") in ignored
    assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]
    env = envs["dev"]
    h1 = jh.values(env)["hub"]["annotations"][jh.VALUES_HASH]
    other = env.model_copy(update={"jupyterhub": env.jupyterhub.model_copy(update={"home_size": "11Gi"})})
    assert jh.values(other)["hub"]["annotations"][jh.VALUES_HASH] != h1
    v = jh.values(env)
    assert v["hub"]["existingSecret"] == "jupyterhub-hub"
    assert v["hub"]["extraEnv"]["OAUTH_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "jupyterhub-oidc"


def test_ingress_on_the_shared_alb(rendered):
    r = rendered["staging"]
    ing = find(r.components["jupyterhub"], "Ingress", "jupyterhub")
    path = ing["spec"]["rules"][0]["http"]["paths"][-1]  # after the ALB's 403 for /jupyter/hub/metrics
    assert path["path"] == "/jupyter" and path["backend"]["service"]["name"] == "proxy-public"
    app = find(r.components["argocd-apps"], "Application", "staging-jupyterhub")
    assert [s.get("chart") for s in app["spec"]["sources"]] == ["jupyterhub", None]


@pytest.mark.parametrize("edit, message", [
    ("image: notebook-base,", "image: notebook-foo,", ),
    ("mem_limit: 2Gi, default: true}", "mem_limit: 2G, default: true}"),
    ("mem_limit: 8Gi}", "mem_limit: 8Gi, default: true}"),
])
def test_impossible_profiles_are_config_errors(env_dir, edit, message):
    f = env_dir / "dev.yaml"
    text = f.read_text()
    assert edit in text
    f.write_text(text.replace(edit, message, 1))
    with pytest.raises(EnvError) as e:
        load_env("dev", env_dir)
    assert any("jupyterhub" in p for p in e.value.problems), e.value.problems


def test_notebooks_get_none_of_the_namespace_wide_allows(envs):
    """Our namespace policy admits same-namespace, monitoring and VPC traffic; user notebook pods
    are excluded, so only z2jh's singleuser policy (hub and proxy) can reach them."""
    from mlplatform.components.namespaces import objects as namespaces
    pol = find(namespaces.build(envs["prod"]), "NetworkPolicy", "jupyterhub-allow-ingress")
    assert pol["spec"]["podSelector"] == {"matchExpressions": [
        {"key": "component", "operator": "NotIn", "values": ["singleuser-server"]}]}


def test_jupyterhub_hub_metrics_are_scraped_without_a_token(rendered):
    r = rendered["staging"]
    sm = find(r.components["jupyterhub"], "ServiceMonitor", jupyterhub.HUB_MONITOR)
    (ep,) = sm["spec"]["endpoints"]
    assert ep["path"] == "/jupyter/hub/metrics" and ep["targetPort"] == 8081
    assert sm["spec"]["selector"]["matchLabels"]["release"] == r.helm["jupyterhub"].release
    hub = r.helm["jupyterhub"].values["hub"]
    assert hub["config"]["JupyterHub"]["authenticate_prometheus"] is False
    (rule,) = hub["networkPolicy"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert charts.check_values("jupyterhub", r.helm["jupyterhub"].values) == []


def test_the_hubs_unauthenticated_metrics_are_not_served_on_the_internet(rendered):
    """authenticate_prometheus is off for the in-cluster scrape: the ALB must answer 403 itself."""
    import json
    from conftest import find
    for r in rendered.values():
        ing = find(r.components["jupyterhub"], "Ingress", "jupyterhub")
        paths = ing["spec"]["rules"][0]["http"]["paths"]
        assert paths[0]["path"] == "/jupyter/hub/metrics"
        action = json.loads(ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/actions.hub-metrics-blocked"])
        assert action["fixedResponseConfig"]["statusCode"] == "403"
        assert paths[0]["backend"]["service"] == {"name": "hub-metrics-blocked", "port": {"name": "use-annotation"}}
