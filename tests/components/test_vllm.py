"""vLLM serving: one server per model, its HPA on its own queue, and the cross-checks that keep
the autoscaling chain and the GPU budget honest."""
import copy

import pytest
from pydantic import ValidationError

from conftest import find
from mlplatform.components.prometheus_adapter import objects as prometheus_adapter
from mlplatform.components.vllm import metrics as vllm_metrics, monitoring as vllm_mon
from mlplatform.components.vllm import objects as vllm
from mlplatform.components.vllm import access as vllm_access
from mlplatform.config.models import Env
from mlplatform.kit import routes, dashboards as dash
from mlplatform.plan import render
from mlplatform.components.vllm import checks as serving
from mlplatform.validate import crosschecks, validate


def _objs(r, kind):
    return [o for o in r.components.get(vllm.NAME, []) if o["kind"] == kind]


def _update(env: Env, **changes) -> Env:
    """A copy of `env` with top-level sections replaced, validated like an env file."""
    data = env.model_dump()
    data.update(changes)
    return Env.model_validate(data)


def _serving(env: Env, **fields) -> dict:
    s = env.serving.model_dump()
    s.update(fields)
    return s


def test_every_model_gets_its_server_service_monitor_budget_autoscaler_and_endpoint(envs, rendered):
    for name, env in envs.items():
        r = rendered[name]
        for m in env.serving.models:
            ns = vllm.namespace(env, m)
            for kind in ("Deployment", "Service", "ServiceMonitor", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
                o = find(_objs(r, kind), kind, m.name)
                assert o["metadata"]["namespace"] == ns == f"team-{m.team}"
            find(_objs(r, "Ingress"), "Ingress", f"llm-{m.name}")
        assert len(_objs(r, "Deployment")) == len(env.serving.models)
    assert {m.name for m in envs["staging"].serving.models} == {"opt-125m", "deepscaler-1-5b"}


def test_the_deployment_leaves_replicas_to_the_hpa_and_selects_by_stable_labels(rendered):
    for r in rendered.values():
        for d in _objs(r, "Deployment"):
            assert "replicas" not in d["spec"], "Argo CD would reset the HPA's replica count on every sync"
            assert d["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "vllm",
                                                             "app.kubernetes.io/instance": d["metadata"]["name"]}
            labels = d["spec"]["template"]["metadata"]["labels"]
            assert d["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_server_is_started_with_exactly_the_configured_model(envs, rendered):
    env = envs["prod"]
    m = env.serving.models[0]
    c = find(_objs(rendered["prod"], "Deployment"), "Deployment", m.name)["spec"]["template"]["spec"]["containers"][0]
    mirror = env.registry.mirror()  # prod pulls through its registry mirror
    assert c["image"] == (mirror.rewrite("vllm/vllm-openai:v0.34.0") if mirror else "vllm/vllm-openai:v0.34.0")
    assert c["command"] == ["vllm", "serve"] and c["args"][0] == m.model
    args = c["args"]
    flag = lambda f: args[args.index(f) + 1]  # noqa: E731
    assert flag("--served-model-name") == m.name == vllm.served_name(c)
    assert flag("--max-model-len") == str(m.max_model_len)
    assert flag("--tensor-parallel-size") == str(m.tensor_parallel_size)
    # unset by default: vLLM >= 0.34 sizes the KV cache from measured memory; passed only when set
    assert m.gpu_memory_utilization is None and "--gpu-memory-utilization" not in args
    capped = type(m).model_validate({**m.model_dump(), "gpu_memory_utilization": 0.8})
    cargs = vllm.server_args(env, capped)
    assert cargs[cargs.index("--gpu-memory-utilization") + 1] == "0.8"
    assert flag("--dtype") == "bfloat16"
    # a pinned revision where the env sets one; LoRA adapters are served by name
    dev = envs["dev"].serving.models[0]
    dargs = vllm.server_args(envs["dev"], dev)
    assert f"--revision={dev.revision}" in dargs
    with_lora = type(dev).model_validate({**dev.model_dump(), "lora_adapters": [{"name": "sql", "source": "org/sql-lora"}]})
    largs = vllm.server_args(envs["dev"], with_lora)
    assert "--enable-lora" in largs and largs[largs.index("--lora-modules") + 1] == "sql=org/sql-lora"


def test_gpu_pods_ask_for_their_gpus_tolerate_the_taint_and_pick_instances_with_enough_gpu_memory(envs, rendered):
    for name, env in envs.items():
        for m in env.serving.models:
            d = find(_objs(rendered[name], "Deployment"), "Deployment", m.name)
            pod = d["spec"]["template"]["spec"]
            res = pod["containers"][0]["resources"]
            assert res["requests"]["nvidia.com/gpu"] == res["limits"]["nvidia.com/gpu"] == str(m.tensor_parallel_size)
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(res[part])
            assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
            assert pod["nodeSelector"] == {"platform.mlops.io/node-pool": "gpu"}
            expr = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
                "nodeSelectorTerms"][0]["matchExpressions"][0]
            assert expr == {"key": "karpenter.k8s.aws/instance-gpu-memory", "operator": "Gt",
                            "values": [str(m.min_gpu_memory_gib * 1024 - 1)]}
            shm = next(v for v in pod["volumes"] if v["name"] == "dshm")
            assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": m.shared_memory}


def test_the_server_runs_non_root_with_a_read_only_root_and_secrets_only_by_reference(rendered):
    for r in rendered.values():
        for d in _objs(r, "Deployment"):
            pod = d["spec"]["template"]["spec"]
            c = pod["containers"][0]
            assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert pod["enableServiceLinks"] is False  # a Service `vllm` would inject VLLM_PORT=tcp://...
            env = {e["name"]: e for e in c["env"]}
            assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": vllm_access.VLLM_API_KEY, "key": "api-key"}
            assert "value" not in env["VLLM_API_KEY"] and "HF_TOKEN" not in env
            token = next(v for v in pod["volumes"] if v["name"] == "hf-token")["secret"]
            assert token["secretName"] == vllm_access.HF_TOKEN and env["HF_TOKEN_PATH"]["value"].endswith("/token")
            # every writable path is a volume; the token is read-only
            mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
            assert set(mounts) == {"/models", "/dev/shm", "/tmp", vllm.HF_TOKEN_DIR}
            assert mounts[vllm.HF_TOKEN_DIR]["readOnly"] is True


def test_probes_hit_vllms_real_port_and_give_the_model_time_to_load(envs, rendered):
    """The book's readiness probe points at 8080; vLLM listens on 8000."""
    for name, env in envs.items():
        for m in env.serving.models:
            d = find(_objs(rendered[name], "Deployment"), "Deployment", m.name)
            c = d["spec"]["template"]["spec"]["containers"][0]
            svc = find(_objs(rendered[name], "Service"), "Service", m.name)
            port = {p["name"]: p["containerPort"] for p in c["ports"]}
            assert port == {"http": 8000} and svc["spec"]["ports"][0]["targetPort"] == "http"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
            s = c["startupProbe"]
            assert s["periodSeconds"] * s["failureThreshold"] >= m.startup_timeout_seconds
            lv = c["livenessProbe"]
            assert lv["periodSeconds"] * lv["failureThreshold"] >= 60  # a busy engine is not a dead one
            assert c["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
            assert d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == m.termination_grace_seconds
            assert d["spec"]["progressDeadlineSeconds"] > m.startup_timeout_seconds


def test_the_disruption_budget_never_blocks_a_node_drain(envs, rendered):
    """The book's `minAvailable: 3` on 3 (or 2) replicas allows no eviction at all."""
    for name, env in envs.items():
        for m in env.serving.models:
            p = find(_objs(rendered[name], "PodDisruptionBudget"), "PodDisruptionBudget", m.name)["spec"]
            d = find(_objs(rendered[name], "Deployment"), "Deployment", m.name)
            assert p["selector"] == d["spec"]["selector"]
            assert "minAvailable" not in p and p["maxUnavailable"] == 1
            assert p["unhealthyPodEvictionPolicy"] == "AlwaysAllow"  # a replica stuck loading can be evicted too


def test_each_hpa_scales_on_its_own_models_queue_through_the_adapter_rule_made_from_the_same_list(envs, rendered):
    for name, env in envs.items():
        r = rendered[name]
        rules = {rule["name"]["as"]: rule for rule in prometheus_adapter.rules(env)}
        assert r.helm[prometheus_adapter.NAME].values["rules"]["custom"] == list(rules.values())
        assert r.helm[prometheus_adapter.NAME].values["rules"]["default"] is False
        for m in env.serving.models:
            h = find(_objs(r, "HorizontalPodAutoscaler"), "HorizontalPodAutoscaler", m.name)["spec"]
            metric = h["metrics"][0]
            assert metric["type"] == "Pods" and metric["pods"]["target"]["type"] == "AverageValue"
            name_ = metric["pods"]["metric"]["name"]
            assert name_ == vllm_metrics.queue_metric(m.name) and name_ in rules
            rule = rules[name_]
            assert f'model_name="{m.name}"' in rule["seriesQuery"] and f'namespace="team-{m.team}"' in rule["seriesQuery"]
            assert f'model_name="{m.name}"' in rule["metricsQuery"] and "sum by (<<.GroupBy>>)" in rule["metricsQuery"]
            assert set(rule["resources"]["overrides"]) == {"namespace", "pod"}
            assert (h["minReplicas"], h["maxReplicas"]) == (m.autoscaling.min_replicas, m.autoscaling.max_replicas)
            assert h["minReplicas"] >= 1
            b = h["behavior"]
            assert b["scaleUp"]["stabilizationWindowSeconds"] == 0
            assert b["scaleUp"]["policies"] == [{"type": "Pods", "value": m.autoscaling.scale_up_pods_per_minute,
                                                 "periodSeconds": 60}]
            assert b["scaleDown"]["stabilizationWindowSeconds"] >= m.startup_timeout_seconds
    # the two staging models never share a metric
    assert len({vllm_metrics.queue_metric(m.name) for m in envs["staging"].serving.models}) == 2


def test_each_model_has_an_https_endpoint_on_v1_only_covered_by_the_certificate(envs, rendered):
    for name, env in envs.items():
        for m in env.serving.models:
            ing = find(_objs(rendered[name], "Ingress"), "Ingress", f"llm-{m.name}")
            rule = ing["spec"]["rules"][0]
            assert rule["host"] == f"llm-{m.name}.{env.domain}"
            assert crosschecks.covered(rule["host"], env.infrastructure.certificate_domains)
            path = rule["http"]["paths"][0]
            assert path["path"] == "/v1" and path["backend"]["service"] == {"name": m.name, "port": {"number": 8000}}
            assert ing["spec"]["tls"] == [{"hosts": [rule["host"]]}]
            r = next(x for x in routes.for_env(env) if x.name == f"llm-{m.name}")
            assert routes.url(env, r) == f"https://llm-{m.name}.{env.domain}/v1"


def test_replicas_spread_over_zones_and_nodes_only_where_the_env_asks(envs, rendered):
    for name, env in envs.items():
        for d in _objs(rendered[name], "Deployment"):
            tsc = d["spec"]["template"]["spec"].get("topologySpreadConstraints")
            if env.serving.topology_spread:
                assert {t["topologyKey"] for t in tsc} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
                assert all(t["labelSelector"]["matchLabels"] == d["spec"]["selector"]["matchLabels"] for t in tsc)
            else:
                assert tsc is None
    assert envs["prod"].serving.topology_spread


# ----------------------------------------------------------------------------- cross-checks fail
def _broken(r, mutate):
    r2 = copy.deepcopy(r)
    mutate(r2)
    return serving.checks(r2)


def test_an_hpa_whose_metric_no_adapter_rule_serves_is_caught(rendered):
    def mutate(r):
        h = _objs(r, "HorizontalPodAutoscaler")[0]
        h["spec"]["metrics"][0]["pods"]["metric"]["name"] = "vllm_num_requests_waiting"
    assert any("no prometheus-adapter rule serves this metric" in p for p in _broken(rendered["staging"], mutate))


def test_a_namespace_sum_rule_and_a_wrong_model_label_are_caught(rendered):
    def namespace_sum(r):
        rule = r.helm[prometheus_adapter.NAME].values["rules"]["custom"][0]
        rule["resources"]["overrides"].pop("pod")
    assert any("not keyed per pod" in p for p in _broken(rendered["staging"], namespace_sum))

    def other_model(r):
        rules = r.helm[prometheus_adapter.NAME].values["rules"]["custom"]
        rules[0]["seriesQuery"] = rules[0]["seriesQuery"].replace("deepscaler-1-5b", "opt-125m")
    assert any("the adapter rule reads model_name='opt-125m' but deepscaler-1-5b serves" in p
               for p in _broken(rendered["staging"], other_model))


def test_unscraped_pods_a_missing_target_and_replicas_in_the_manifest_are_caught(rendered):
    def port(r):
        for sm in _objs(r, "ServiceMonitor"):
            sm["spec"]["endpoints"][0]["port"] = "metrics"
    assert any("pods are not scraped" in p for p in _broken(rendered["dev"], port))

    def target(r):
        _objs(r, "HorizontalPodAutoscaler")[0]["spec"]["scaleTargetRef"]["name"] = "gone"
    assert any("scaleTargetRef Deployment/gone is not a workload" in p for p in _broken(rendered["dev"], target))

    def replicas(r):
        _objs(r, "Deployment")[0]["spec"]["replicas"] = 2
    assert any("sets spec.replicas" in p for p in _broken(rendered["dev"], replicas))


def test_a_model_too_big_for_the_pools_gpus_or_its_limit_is_caught(envs):
    env = envs["dev"]
    m = env.serving.models[0].model_dump()
    big = _update(env, serving=_serving(env, models=[{**m, "min_gpu_memory_gib": 40}]))
    problems = serving.checks(render(big))
    assert any("no instance type of NodePool gpu fits one replica" in p and "g5 GPUs have 24 GiB (< 40)" in p
               for p in problems)
    hungry = _update(env, serving=_serving(env, models=[{**m, "resources": {**m["resources"], "memory_request": "60Gi",
                                                                            "memory_limit": "60Gi"}}]))
    assert any("leaves" in p and "GiB for pods" in p for p in serving.checks(render(hungry)))
    pool = env.compute.karpenter.gpu_pool.model_dump()
    small = _update(env, compute={**env.compute.model_dump(),
                                  "karpenter": {**env.compute.karpenter.model_dump(), "gpu_pool": {**pool, "gpu_limit": 1}}})
    assert any("more than NodePool gpu's limit 1" in p for p in validate(render(small)))


def test_config_refuses_models_that_would_fail_silently_at_run_time(envs):
    env = envs["dev"]
    m = env.serving.models[0].model_dump()
    cases = {
        "is not a team of this env": {**m, "team": "nobody"},
        "quota.gpus is 3": {**m, "autoscaling": {**m["autoscaling"], "max_replicas": 4}},
        "must stay below resources.memory_limit": {**m, "shared_memory": "10Gi"},
        "shorter than startup_timeout_seconds": {**m, "autoscaling": {**m["autoscaling"],
                                                                      "scale_down_stabilization_seconds": 60}},
    }
    for message, model in cases.items():
        with pytest.raises(ValidationError, match=message):
            _update(env, serving=_serving(env, models=[model]))
    with pytest.raises(ValidationError, match="has no storage.efs_mounts entry"):
        _update(env, serving=_serving(env, model_cache="efs"))
    with pytest.raises(ValidationError, match="does not fit the GPU nodes' root volume"):
        _update(env, serving=_serving(env, pod_cache_size="200Gi"))


def test_every_env_validates_with_its_models(rendered):
    for r in rendered.values():
        assert validate(r) == []


def test_an_hpa_target_the_api_server_would_refuse_or_round_is_a_config_error(envs):
    env = envs["dev"]
    m = env.serving.models[0].model_dump()
    for bad in (0.0004, 0.0015):
        with pytest.raises(ValidationError, match="multiple of 0.001"):
            _update(env, serving=_serving(env, models=[{**m, "autoscaling": {**m["autoscaling"],
                                                                             "target_waiting_per_replica": bad}}]))
    ok = _update(env, serving=_serving(env, models=[{**m, "autoscaling": {**m["autoscaling"],
                                                                          "target_waiting_per_replica": 2.5}}]))
    assert vllm.hpa(ok, ok.serving.models[0])["spec"]["metrics"][0]["pods"]["target"]["averageValue"] == "2500m"


def test_vllm_hpa_panels_find_the_models_hpas(rendered):
    """The vLLM dashboard selects HPAs by the model variable: each model's HPA is named after it."""
    r = rendered["staging"]
    hpas = {o["metadata"]["name"] for o in r.components["vllm"] if o["kind"] == "HorizontalPodAutoscaler"}
    assert hpas == {m.name for m in r.env.serving.models}
    assert 'horizontalpodautoscaler=~"$model"' in "\n".join(dash.expressions(vllm_mon.VLLM))
