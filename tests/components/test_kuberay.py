"""KubeRay: the operator's values, team Ray clusters, RayServices, dashboards behind Keycloak, the
RayJob template, GCS fault tolerance and the cross-checks that guard them."""
import copy
import json

import hcl2
import pytest
import yaml
from hcl2 import SerializationOptions
from pydantic import ValidationError

from conftest import ROOT, find, with_objects
from mlplatform.components.keycloak import objects as keycloak
from mlplatform.components.kuberay import checks as kuberay_checks
from mlplatform.components.kuberay import objects as kuberay
from mlplatform.components.kuberay import names as ray_names
from mlplatform.components.kuberay import operator as ray_operator
from mlplatform.components.mlflow import objects as mlflow
from mlplatform.components.node_pools import objects as node_pools
from mlplatform.components.kuberay import access as kuberay_access
from mlplatform.config.models import Env
from mlplatform.kit import routes, versions
from mlplatform.plan import render
from mlplatform.validate import crd, crosschecks, scheduling, validate
from mlplatform.validate.charts import check_resources, check_values
from mlplatform.kit.component import HelmRelease

RESTRICTED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
              "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def _objs(r, kind):
    return [o for o in r.components.get(kuberay.NAME, []) if o["kind"] == kind]


def _ray_containers(spec: dict) -> list[tuple[str, dict, dict]]:
    """(group, pod spec, Ray container) of a RayCluster spec: the head and every worker group."""
    head = spec["headGroupSpec"]["template"]["spec"]
    out = [("head", head, head["containers"][0])]
    for g in spec["workerGroupSpecs"]:
        pod = g["template"]["spec"]
        out.append((g["groupName"], pod, pod["containers"][0]))
    return out


def _data(env: Env) -> dict:
    """The env as an env file would spell it (defaults left out: some, like `team-`, are not
    valid input values themselves)."""
    return env.model_dump(exclude_defaults=True)


def _with(env: Env, **ray_changes) -> Env:
    """The env with `ray` fields replaced (validated again, like an edited env file)."""
    data = _data(env)
    data.setdefault("ray", {}).update(ray_changes)
    return Env.model_validate(data)


# --------------------------------------------------------------------------- the operator
def test_operator_values_pass_the_chart_and_watch_exactly_the_team_namespaces(envs):
    for env in envs.values():
        rel = ray_operator.helm(env)
        assert rel.chart == "kuberay-operator" and rel.namespace == "kuberay-system"
        assert check_values(rel.chart, rel.values) == []
        assert check_resources(rel.values) == []
        v = rel.values
        assert v["resources"]["requests"] and v["resources"]["limits"]
        assert v["nodeSelector"] == env.infrastructure.system_node_labels
        assert v["singleNamespaceInstall"] is True and v["crNamespacedRbacEnable"] is False
        assert v["watchNamespace"] == sorted(env.team_namespace(t) for t in env.teams)
        assert (v["image"]["repository"], v["image"]["tag"]) == (
            versions.IMAGES["kuberay-operator"].repository, versions.IMAGES["kuberay-operator"].tag)
        assert v["metrics"]["serviceMonitor"]["enabled"] is env.ray.service_monitor
        assert ray_names.SERVICE_MONITOR_CRD in rel.requires_crds
        if ray_names.volcano_enabled(env):
            assert v["batchScheduler"] == {"name": "volcano"}, "the non-deprecated key only"
            assert ray_names.PODGROUP_CRD in rel.requires_crds


def test_the_operator_may_act_in_every_team_namespace_and_nowhere_else(rendered):
    for r in rendered.values():
        env = r.env
        for t in env.teams:
            ns = env.team_namespace(t)
            role = find(_objs(r, "Role"), "Role", f"{ns}-kuberay-operator")
            binding = find(_objs(r, "RoleBinding"), "RoleBinding", f"{ns}-kuberay-operator")
            assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == ns
            assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kuberay-operator",
                                            "namespace": "kuberay-system"}]
            groups = {g for rule in role["rules"] for g in rule["apiGroups"]}
            assert "ray.io" in groups
            assert ("scheduling.volcano.sh" in groups) is ray_names.volcano_enabled(env)
            users = find(_objs(r, "RoleBinding"), "RoleBinding", f"{ns}-ray-users")
            assert users["subjects"] == [{"kind": "Group", "name": f"ml-team-{t.name}",
                                          "apiGroup": "rbac.authorization.k8s.io"}]
            rules = find(_objs(r, "Role"), "Role", f"{ns}-ray-users")["rules"]
            assert {"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["create", "delete", "get", "list", "watch"]} in rules
        assert len(_objs(r, "Role")) == 2 * len(env.teams)


def test_the_ray_crds_are_applied_server_side(rendered):
    app = find(rendered["dev"].components["argocd-apps"], "Application", "dev-kuberay")
    assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]
    assert len(app["spec"]["sources"]) == 2, "chart + our objects: one Application, two sources"


# --------------------------------------------------------------------------- team clusters
def test_every_team_cluster_has_the_platform_shape(rendered):
    for r in rendered.values():
        env = r.env
        assert len(_objs(r, "RayCluster")) == len(env.ray.clusters)
        for team, cfg in env.ray.clusters.items():
            rc = find(_objs(r, "RayCluster"), "RayCluster", team)
            spec, labels = rc["spec"], rc["metadata"]["labels"]
            assert rc["metadata"]["namespace"] == f"team-{team}"
            if ray_names.volcano_enabled(env):
                assert labels["ray.io/scheduler-name"] == "volcano"
                assert labels["volcano.sh/queue-name"] == f"team-{team}"
            assert spec["rayVersion"] == versions.IMAGES["ray"].tag
            assert spec["enableInTreeAutoscaling"] is True
            auto = spec["autoscalerOptions"]
            assert auto["idleTimeoutSeconds"] == cfg.idle_timeout_seconds
            assert auto["upscalingMode"] == cfg.upscaling_mode
            assert auto["securityContext"] == RESTRICTED
            assert set(auto["resources"]) == {"requests", "limits"}
            assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0", "the head runs no tasks"
            for group, pod, c in _ray_containers(spec):
                where = f"{env.name}/{team}/{group}"
                assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
                assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
                assert c["securityContext"] == RESTRICTED, where
                assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and {"cpu", "memory"} <= set(c["resources"]["limits"])
                assert {"name": "MLFLOW_TRACKING_URI", "value": mlflow.TRACKING_URI} in c["env"], where
                expected = cfg.gpu_image if group == "gpu" else cfg.image
                ref = versions.IMAGES[expected].ref
                mirror = env.registry.mirror()  # an env with a registry mirror pulls through it
                assert c["image"] == (mirror.rewrite(ref) if mirror else ref), where
            groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
            cpu = groups["cpu"]
            assert (cpu["replicas"], cpu["minReplicas"], cpu["maxReplicas"]) == (
                cfg.cpu_workers.replicas, cfg.cpu_workers.min_replicas, cfg.cpu_workers.max_replicas)
            assert "tolerations" not in cpu["template"]["spec"]
            assert ("gpu" in groups) is (cfg.gpu_workers is not None)


def test_gpu_groups_tolerate_the_taint_select_the_gpu_pool_and_get_shared_memory(rendered):
    seen = 0
    for r in rendered.values():
        for team, cfg in r.env.ray.clusters.items():
            if cfg.gpu_workers is None:
                continue
            seen += 1
            rc = find(_objs(r, "RayCluster"), "RayCluster", team)
            g = next(x for x in rc["spec"]["workerGroupSpecs"] if x["groupName"] == "gpu")
            pod = g["template"]["spec"]
            res = pod["containers"][0]["resources"]
            n = str(cfg.gpu_workers.gpus)
            assert res["limits"]["nvidia.com/gpu"] == res["requests"]["nvidia.com/gpu"] == n
            assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
            assert pod["nodeSelector"] == {node_pools.POOL_LABEL: node_pools.GPU_POOL}
            shm = next(v for v in pod["volumes"] if v["name"] == "dshm")
            assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": cfg.gpu_workers.shared_memory}
            assert {"name": "dshm", "mountPath": "/dev/shm"} in pod["containers"][0]["volumeMounts"]
            assert g["minReplicas"] == cfg.gpu_workers.min_replicas
    assert seen >= 3, "dev, staging and prod each have a GPU group"
    assert rendered["dev"].env.ray.clusters["research"].gpu_workers.min_replicas == 0


def test_autoscaler_idle_timeout_differs_per_env(envs):
    timeouts = {n: {c.idle_timeout_seconds for c in e.ray.clusters.values()} for n, e in envs.items()}
    assert max(timeouts["dev"]) < min(timeouts["prod"]), timeouts


def test_gcs_fault_tolerance_uses_redis_with_the_password_from_an_external_secret(rendered):
    seen = set()
    for r in rendered.values():
        env = r.env
        for team, cfg in env.ray.clusters.items():
            rc = find(_objs(r, "RayCluster"), "RayCluster", team)
            ft = rc["spec"].get("gcsFaultToleranceOptions")
            if not cfg.gcs_fault_tolerance:
                assert ft is None
                continue
            seen.add(env.ray.redis)
            assert ft["redisPassword"] == {"valueFrom": {"secretKeyRef": {"name": kuberay_access.RAY_REDIS, "key": "password"}}}
            head_env = rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]
            if env.ray.redis == "external":
                assert ft["redisAddress"] == f"rediss://{env.infrastructure.redis_endpoint}", "TLS to ElastiCache"
                assert {"name": "RAY_REDIS_CA_CERT", "value": ray_names.CA_BUNDLE} in head_env
            else:
                assert ft["redisAddress"] == f"redis://{team}-gcs-redis.team-{team}.svc.cluster.local:6379"
            es = find(r.components["secrets"], "ExternalSecret", f"team-{team}-{kuberay_access.RAY_REDIS}")
            assert es["metadata"]["namespace"] == f"team-{team}"
            assert es["spec"]["data"][0]["remoteRef"]["key"].endswith("ray/redis")
    assert seen == {"external", "in_cluster"}, "prod uses ElastiCache, staging an in-cluster Redis"
    assert all(c.gcs_fault_tolerance for c in rendered["prod"].env.ray.clusters.values())
    assert not any(c.gcs_fault_tolerance for c in rendered["dev"].env.ray.clusters.values())


def test_in_cluster_redis_is_small_restricted_and_reads_its_password_from_a_file(rendered):
    r = rendered["staging"]
    assert r.env.ray.redis == "in_cluster"
    for team in sorted(r.env.ray.fault_tolerant_teams()):
        d = find(_objs(r, "Deployment"), "Deployment", f"{team}-gcs-redis")
        svc = find(_objs(r, "Service"), "Service", f"{team}-gcs-redis")
        assert d["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-1", "before the clusters, pruned after"
        assert svc["spec"]["ports"][0]["port"] == 6379
        pod = d["spec"]["template"]["spec"]
        c = pod["containers"][0]
        assert c["image"] == versions.IMAGES["redis"].ref
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert {k: c["securityContext"][k] for k in RESTRICTED} == RESTRICTED
        assert c["resources"] == r.env.ray.redis_resources.render()
        assert not any("pass" in a for a in c.get("command", []) + c.get("args", [])), "never on a command line"
        assert pod["volumes"][0]["secret"]["secretName"] == kuberay_access.RAY_REDIS
        es = find(r.components["secrets"], "ExternalSecret", f"team-{team}-{kuberay_access.RAY_REDIS}")
        assert "requirepass {{ .password }}" in es["spec"]["target"]["template"]["data"][kuberay_access.RAY_REDIS_CONF]
    assert not _objs(rendered["prod"], "Deployment"), "prod uses ElastiCache"


def test_head_pdb_in_prod_only_and_it_never_blocks_a_drain(rendered):
    for name, r in rendered.items():
        pdbs = _objs(r, "PodDisruptionBudget")
        want = {f"{t}-head" for t, c in r.env.ray.clusters.items() if c.head_disruption_budget}
        assert {p["metadata"]["name"] for p in pdbs} == want
        assert bool(want) is (name == "prod")
        for p in pdbs:
            assert p["spec"]["maxUnavailable"] == 1 and "minAvailable" not in p["spec"]
            assert p["spec"]["selector"]["matchLabels"]["ray.io/node-type"] == "head"


# --------------------------------------------------------------------------- RayService
def test_the_rayservice_serves_the_book_app_with_per_env_scaling(rendered):
    replicas = {}
    for name, r in rendered.items():
        for s in r.env.ray.services:
            rs = find(_objs(r, "RayService"), "RayService", s.name)
            assert rs["metadata"]["namespace"] == f"team-{s.team}"
            serve = yaml.safe_load(rs["spec"]["serveConfigV2"])
            app = serve["applications"][0]
            assert app["import_path"] == "text_ml.app" and app["route_prefix"] == "/summarize_translate"
            assert all("==" in p for p in app["runtime_env"]["pip"])
            assert "/raw/main/" not in app["runtime_env"]["working_dir"]
            deps = {d["name"]: d for d in app["deployments"]}
            assert deps["Translator"]["user_config"] == {"language": "french"}
            for d in deps.values():
                assert ("num_replicas" in d) != ("autoscaling_config" in d)
            cluster = rs["spec"]["rayClusterConfig"]
            ports = {p["containerPort"] for p in cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["ports"]}
            assert ray_names.SERVE_PORT in ports
            cpu = cluster["workerGroupSpecs"][0]
            replicas[name] = (cpu["minReplicas"], cpu["maxReplicas"], deps)
    assert replicas["dev"][:2] != replicas["prod"][:2]
    assert all("autoscaling_config" in d for d in replicas["prod"][2].values())
    assert all("num_replicas" in d for d in replicas["dev"][2].values())


# --------------------------------------------------------------------------- one-shot RayJobs
def test_no_live_rayjob_is_ever_emitted(rendered):
    for r in rendered.values():
        assert not [o for objs in r.components.values() for o in objs if o.get("kind") == "RayJob"]
    assert not list((ROOT / "dist").glob("*/*/RayJob.*")), "Argo CD would re-run a finished RayJob"


def test_each_team_gets_a_valid_documented_rayjob_template(rendered):
    schema = crd.schema_for("ray.io/v1", "RayJob")
    for r in rendered.values():
        env = r.env
        for team, cfg in env.ray.clusters.items():
            cm = find(_objs(r, "ConfigMap"), "ConfigMap", f"team-{team}-rayjob-template")
            text = cm["data"][ray_names.JOB_TEMPLATE_KEY]
            assert "kubectl" in text and "create -f" in text
            job = yaml.safe_load(text)
            assert job["kind"] == "RayJob" and "name" not in job["metadata"]
            assert job["metadata"]["generateName"] == f"{team}-job-"
            assert [e.message for e in schema.validator.iter_errors(job)] == []
            spec = job["spec"]
            assert spec["shutdownAfterJobFinishes"] is True
            assert spec["ttlSecondsAfterFinished"] == env.ray.job_ttl_seconds_after_finished
            sub = spec["submitterPodTemplate"]["spec"]["containers"][0]
            assert sub["securityContext"] == RESTRICTED and set(sub["resources"]) == {"requests", "limits"}
            assert {"name": "MLFLOW_TRACKING_URI", "value": mlflow.TRACKING_URI} in sub["env"]
            if ray_names.volcano_enabled(env):
                assert job["metadata"]["labels"]["volcano.sh/queue-name"] == f"team-{team}"


# --------------------------------------------------------------------------- dashboards
def test_routes_are_per_env_and_only_kuberay_serves_the_ray_host(envs):
    env = envs["prod"]
    ray = [r for r in routes.for_env(env) if r.owner == kuberay.NAME]
    assert ray == [r for r in routes.for_env(env) if r.host == "ray"] == ray_names.dashboard_routes(env)
    assert [r.name for r in ray] == [f"ray-{t}" for t in sorted(env.ray.clusters)]
    for r in ray:
        team = r.name.removeprefix("ray-")
        assert routes.hostname(env, r) == f"ray-{team}.{env.domain}"
        assert (r.namespace, r.service, r.port, r.login) == (f"team-{team}", f"{team}-head-svc", 8265, "alb")
        assert crosschecks.covered(routes.hostname(env, r), env.infrastructure.certificate_domains)


def test_one_dashboard_ingress_per_team_cluster_behind_the_alb_login(rendered):
    for r in rendered.values():
        env = r.env
        ings = _objs(r, "Ingress")
        assert sorted(i["metadata"]["name"] for i in ings) == sorted(f"ray-{t}" for t in env.ray.clusters)
        for team in env.ray.clusters:
            ing = find(ings, "Ingress", f"ray-{team}")
            ann = ing["metadata"]["annotations"]
            assert ing["metadata"]["namespace"] == f"team-{team}"
            assert ann["alb.ingress.kubernetes.io/auth-type"] == "oidc"
            oidc = json.loads(ann["alb.ingress.kubernetes.io/auth-idp-oidc"])
            assert oidc["issuer"] == routes.issuer(env) and oidc["secretName"] == "platform-ui-oidc"
            assert ann["alb.ingress.kubernetes.io/healthcheck-path"] == ray_names.DASHBOARD_HEALTH
            rule = ing["spec"]["rules"][0]
            assert rule["host"] == f"ray-{team}.{env.domain}" == ing["spec"]["tls"][0]["hosts"][0]
            backend = rule["http"]["paths"][-1]["backend"]["service"]
            assert backend == {"name": f"{team}-head-svc", "port": {"number": 8265}}
            if env.ray.dashboard_read_only:
                first = rule["http"]["paths"][0]["backend"]["service"]
                assert first["port"] == {"name": "use-annotation"}
                cond = json.loads(ann[f"alb.ingress.kubernetes.io/conditions.{first['name']}"])
                assert "POST" in cond[0]["httpRequestMethodConfig"]["Values"]
            # the ALB reads the client secret in the Ingress's namespace
            find(r.components["secrets"], "ExternalSecret", f"team-{team}-platform-ui-oidc")
            find(r.components["ingress"], "Role", f"team-{team}-alb-oidc-secret-reader")


def test_each_team_dashboard_logs_in_through_its_team_client_only(envs):
    for env in envs.values():
        by_id = {c["clientId"]: c for c in keycloak.clients(env)}
        ui = by_id[routes.ALB_CLIENT]
        for team in env.ray.clusters:
            cb = f"https://ray-{team}.{env.domain}/oauth2/idpresponse"
            assert by_id[f"team-{team}-ui"]["redirectUris"] == [cb]
            assert cb not in ui["redirectUris"]  # the shared client would let any realm user in
        assert not [u for u in ui["redirectUris"] if u.startswith(f"https://ray.{env.domain}")]


def test_kuberay_objects_validate_and_cross_check_cleanly(rendered):
    for r in rendered.values():
        problems = [p for p in validate(r) if "/kuberay/" in p or "crosscheck" in p or "scheduling" in p]
        assert problems == []


# --------------------------------------------------------------------------- cross-checks
def _set_env(obj: dict, name: str, value: str) -> None:
    for c in obj["spec"]["headGroupSpec"]["template"]["spec"]["containers"]:
        c["env"] = [e for e in c.get("env", []) if e["name"] != name] + [{"name": name, "value": value}]


def test_url_crosscheck_accepts_real_services_and_catches_wrong_ones(rendered):
    r = copy.deepcopy(rendered["dev"])
    rc = find(r.components[kuberay.NAME], "RayCluster", "research")
    assert crosschecks.check_service_urls(r) == []
    _set_env(rc, "RAY_ADDRESS", "http://research-head-svc.team-research.svc.cluster.local:8265")
    assert crosschecks.check_service_urls(r) == [], "a RayCluster's head Service exists by KubeRay's convention"
    _set_env(rc, "RAY_ADDRESS", "ray://research-head-svc:10001")  # same namespace, short name
    assert crosschecks.check_service_urls(r) == []

    _set_env(rc, "RAY_ADDRESS", "http://reserch-head-svc.team-research.svc.cluster.local:8265")
    (msg,) = crosschecks.check_service_urls(r)
    assert "RAY_ADDRESS" in msg and "no Service team-research/reserch-head-svc" in msg

    _set_env(rc, "RAY_ADDRESS", "http://research-head-svc.team-research.svc.cluster.local:8266")
    (msg,) = crosschecks.check_service_urls(r)
    assert "has no port 8266" in msg

    _set_env(rc, "RAY_ADDRESS", "http://research-head-svc.team-research.svc.cluster.local:8265")
    _set_env(rc, "MLFLOW_TRACKING_URI", "http://mlflow-server.mlflow.svc.cluster.local:80")
    (msg,) = crosschecks.check_service_urls(r)
    assert "MLFLOW_TRACKING_URI" in msg and "no Service mlflow/mlflow-server" in msg
    assert any("mlflow-server" in p for p in crosschecks.check(r))


def test_mlflow_url_exists_only_where_mlflow_is_rendered(rendered):
    r = copy.deepcopy(rendered["dev"])
    r.helm.pop(mlflow.NAME, None)
    r.components.pop(mlflow.NAME, None)
    problems = crosschecks.check_service_urls(r)
    assert problems and all("mlflow/mlflow" in p for p in problems)


def test_ray_gangs_must_fit_their_volcano_queue(rendered):
    r = copy.deepcopy(rendered["dev"])
    if not ray_names.volcano_enabled(r.env):
        pytest.skip("no Volcano in this env")
    assert kuberay_checks.check_queues(r) == []
    rc = find(r.components[kuberay.NAME], "RayCluster", "research")
    rc["spec"]["workerGroupSpecs"][0]["minReplicas"] = 50
    assert any("never start" in p for p in kuberay_checks.check_queues(r))
    rc["metadata"]["labels"]["volcano.sh/queue-name"] = "team-nobody"
    assert any("team-nobody does not exist" in p for p in kuberay_checks.check_queues(r))


def test_a_gpu_group_that_fits_no_gpu_pool_is_caught(envs):
    env = envs["dev"]
    assert not [p for p in scheduling.check_gpu_scheduling(render(env)) if "/kuberay/" in p]
    data = _data(env)
    data["ray"]["clusters"]["research"]["gpu_workers"]["gpus"] = 8  # dev launches single-GPU instances only
    data["teams"] = [{**t, "quota": {**t["quota"], "gpus": 8}} for t in data["teams"]]
    for q in data.get("volcano", {}).get("queues", {}).values():
        q["capability"]["gpus"] = 8
    with pytest.raises(ValidationError, match="ask one node for 8 nvidia.com/gpu but no GPU node has more than 1"):
        Env.model_validate(data)  # refused at load time (issue 14 item 5)
    big = Env.model_construct(**{**env.__dict__, "ray": env.ray.model_copy(update={"clusters": {
        **env.ray.clusters, "research": env.ray.clusters["research"].model_copy(update={
            "gpu_workers": env.ray.clusters["research"].gpu_workers.model_copy(update={"gpus": 8})})}})})
    problems = [p for p in scheduling.check_gpu_scheduling(render(big)) if "/kuberay/RayCluster/research" in p]
    assert problems and "fits no NodePool" in problems[0]  # and at synth


# --------------------------------------------------------------------------- config errors
@pytest.mark.parametrize("change, message", [
    ({"clusters": {"nobody": {}}}, "ray.clusters for teams this env does not have: nobody"),
    ({"redis": "external", "clusters": {"research": {"gcs_fault_tolerance": True}}}, "redis_endpoint is not set"),
    ({"clusters": {"research": {"cpu_workers": {"max_replicas": 500}}}}, "exceed its quota"),
    ({"clusters": {"research": {"gpu_workers": {"gpus": 0}}}}, "gpu_workers.gpus must be at least 1"),
    ({"clusters": {"research": {"cpu_workers": {"gpus": 1}}}}, "cpu_workers.gpus must be 0"),
    ({"clusters": {"research": {"cpu_workers": {"replicas": 3, "max_replicas": 2}}}}, "min_replicas <= replicas"),
    ({"clusters": {"research": {"image": "ray-nightly"}}}, "not in the versions table"),
])
def test_impossible_ray_config_is_an_error(envs, change, message):
    with pytest.raises(ValidationError, match=message):
        _with(envs["dev"], **change)


def test_serve_apps_must_pin_their_code_and_packages(envs):
    svc = envs["dev"].ray.services[0].model_dump(exclude_defaults=True)
    for field, bad, message in (
            ("working_dir", "https://github.com/mlops-on-kubernetes/Book/raw/main/Chapter%206/serve-config.zip",
             "names a branch"),
            ("pip", ["torch", "transformers"], "String should match pattern")):
        broken = copy.deepcopy(svc)
        broken["applications"][0][field] = bad
        with pytest.raises(ValidationError, match=message):
            _with(envs["dev"], services=[broken])


# --------------------------------------------------------------------------- terraform
def test_external_redis_comes_from_terraform_where_an_env_uses_it(envs):
    opts = SerializationOptions(with_comments=False, strip_string_quotes=True, explicit_blocks=False)
    for name, env in envs.items():
        tfvars = hcl2.load((ROOT / "terraform" / "envs" / f"{name}.tfvars").open(), serialization_options=opts)
        has_redis = tfvars.get("ray_redis") not in (None, "null")
        assert has_redis is (env.infrastructure.redis_endpoint is not None), name
        if env.ray.redis == "external" and env.ray.fault_tolerant_teams():
            assert has_redis
    outputs = (ROOT / "terraform" / "outputs.tf").read_text()
    assert 'output "redis_endpoint"' in outputs
    redis = (ROOT / "terraform" / "redis.tf").read_text()
    for setting in ("transit_encryption_enabled = true", "at_rest_encryption_enabled = true",
                    "kms_key_id                 = aws_kms_key.data.arn", "automatic_failover_enabled = true"):
        assert setting in redis
    assert '"ray/redis"' in (ROOT / "terraform" / "secrets.tf").read_text()


def test_an_env_without_ray_has_no_operator_clusters_or_dashboards(envs):
    env = _with(envs["dev"], enabled=False)
    assert ray_operator.helm(env) is None and kuberay.build(env) == []
    assert not [r for r in routes.for_env(env) if r.owner == kuberay.NAME]
    r = render(env)
    assert kuberay.NAME not in r.components and kuberay.NAME not in r.helm
    assert not [o for o in r.components["secrets"] if o["metadata"]["name"].endswith(kuberay_access.RAY_REDIS)]
    assert [p for p in validate(r) if "kuberay" in p or "ray-" in p] == []


# --------------------------------------------------------------------------- cross-checks: failing cases
def _ray(name, team, queue, *, scheduler=True):
    labels = {"volcano.sh/queue-name": queue}
    if scheduler:
        labels["ray.io/scheduler-name"] = "volcano"
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster",
            "metadata": {"name": name, "namespace": f"team-{team}", "labels": labels},
            "spec": {"headGroupSpec": {"template": {"spec": {"containers": [
                {"name": "head", "image": "rayproject/ray:2.52.0"}]}}}}}


def test_ray_handed_to_volcano_needs_kuberay_configured_for_it(rendered):
    r = rendered["dev"]
    kuberay = HelmRelease(chart="kuberay-operator", release="kuberay-operator", namespace="kuberay-system",
                          values={"batchScheduler": {"enabled": False}})
    helm = {**{k: v for k, v in r.helm.items() if v.chart != "kuberay-operator"}, "kuberay": kuberay}
    problems = kuberay_checks.check_volcano_operator(with_objects(r, "kuberay", [_ray("llm", "nlp", "team-nlp")], helm=helm))
    assert any(p.startswith("dev/kuberay/RayCluster/llm: handed to Volcano") and "batchScheduler.name: volcano" in p
               for p in problems), problems
    ok = HelmRelease(chart="kuberay-operator", release="kuberay-operator", namespace="kuberay-system",
                     values={"batchScheduler": {"name": "volcano"}})
    assert kuberay_checks.check_volcano_operator(
        with_objects(r, "kuberay", [_ray("llm", "nlp", "team-nlp")], helm={**helm, "kuberay": ok})) == []


def test_ray_nodes_podmonitor_per_team_namespace(rendered):
    r = rendered["prod"]
    pms = [o for o in r.components["kuberay"] if o["kind"] == "PodMonitor"]
    teams = set(r.env.ray.clusters) | {s.team for s in r.env.ray.services}
    assert {o["metadata"]["namespace"] for o in pms} == {ray_names.team_namespace(r.env, t) for t in teams}
    for o in pms:
        assert o["spec"]["selector"] == {"matchLabels": {"ray.io/is-ray-node": "yes"}}
        assert o["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
