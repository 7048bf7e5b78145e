"""Validation: every object against its exact API, platform rules on top, unknown kinds fail."""
import copy


from conftest import find
from mlplatform.kit import versions
from mlplatform.kit.meta import metadata
from mlplatform.plan import render
from mlplatform.validate import validate
from mlplatform.validate.core import schemas


def _with(rendered_env, obj, component="namespaces"):
    r = copy.deepcopy(rendered_env)
    r.components[component].append(obj)
    return validate(r)


def _deployment(env, **container):
    c = {"name": "app", "image": versions.IMAGES["vllm"].ref,  # every image the env runs has a BOM row
         "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                             "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "128Mi"}}}
    c.update(container)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": metadata("app", component="namespaces", env=env, namespace="mlflow"),
            "spec": {"selector": {"matchLabels": {"app": "x"}},
                     "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [c]}}}}


def test_committed_envs_are_clean(rendered):
    for name, r in rendered.items():
        assert validate(r) == [], name


def test_planted_invalid_core_object_is_caught_with_path(rendered):
    r = rendered["dev"]
    bad = copy.deepcopy(find(r.components["namespaces"], "NetworkPolicy", "mlflow-allow-ingress"))
    bad["metadata"]["name"] = "planted"
    bad["spec"]["podSelectr"] = {}
    problems = _with(r, bad)
    assert problems == ["dev/namespaces/NetworkPolicy/planted: spec: Additional properties are not allowed "
                        "('podSelectr' was unexpected)"]


def test_planted_invalid_custom_resource_is_caught_with_path(rendered):
    r = rendered["dev"]
    app = copy.deepcopy(r.components["argocd-apps"][0])
    app["metadata"]["name"] = "planted"
    app["spec"]["syncPolicy"]["automated"]["selfHeel"] = True
    problems = _with(r, app, "argocd-apps")
    assert any(p.startswith("dev/argocd-apps/Application/planted: spec.syncPolicy.automated: Additional properties")
               for p in problems), problems


def test_unknown_kind_is_an_error_not_a_skip(rendered):
    obj = {"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": metadata("w", component="namespaces", env="dev", namespace="mlflow")}
    (p,) = _with(rendered["dev"], obj)
    assert "unknown kind Widget in example.com/v1" in p


def test_removed_api_version_is_unknown_at_the_target_minor(rendered):
    obj = {"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget",
           "metadata": metadata("pdb", component="namespaces", env="dev", namespace="mlflow"),
           "spec": {"minAvailable": 1}}
    (p,) = _with(rendered["dev"], obj)
    assert "unknown kind PodDisruptionBudget in policy/v1beta1" in p


def test_scope_rules(rendered):
    r = rendered["dev"]
    ns = copy.deepcopy(find(r.components["namespaces"], "Namespace", "mlflow"))
    ns["metadata"]["name"] = "scoped"
    ns["metadata"]["namespace"] = "default"
    assert any("cluster-scoped Namespace must not set metadata.namespace" in p for p in _with(r, ns))
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata("c", component="namespaces", env="dev",
                                                                       namespace="nowhere")}
    assert any("namespace 'nowhere' is not created in env dev" in p for p in _with(r, cm))
    cm["metadata"].pop("namespace")
    assert any("namespaced object without metadata.namespace" in p for p in _with(r, cm))


def test_container_rules(rendered):
    r = rendered["dev"]
    assert _with(r, _deployment("dev")) == []
    no_res = _with(r, _deployment("dev", resources={"requests": {"cpu": "1"}}))
    assert any("missing resources requests.memory, limits.memory" in p for p in no_res)
    assert any(":latest" in p for p in _with(r, _deployment("dev", image="vllm/vllm-openai:latest")))
    assert any("has no tag" in p for p in _with(r, _deployment("dev", image="vllm/vllm-openai")))
    assert _with(r, _deployment("dev", image="vllm/vllm-openai@sha256:" + "a" * 64)) == []


def test_selector_and_name_rules(rendered):
    r = rendered["dev"]
    d = _deployment("dev")
    d["spec"]["selector"]["matchLabels"]["cdk8s.io/metadata.addr"] = "chart-app-c8a1b2c3"
    d["spec"]["template"]["metadata"]["labels"]["cdk8s.io/metadata.addr"] = "chart-app-c8a1b2c3"
    assert any("selector uses cdk8s construct label" in p for p in _with(r, d))
    d = _deployment("dev")
    d["metadata"]["name"] = "app-deployment-c8a1b2c3"
    assert any("hash-suffixed name" in p for p in _with(r, d))
    d["metadata"]["name"] = "x" * 254
    assert any("DNS-1123 subdomain" in p for p in _with(r, d))


def test_secret_values_are_refused(rendered):
    s = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata("s", component="namespaces", env="dev",
                                                                   namespace="mlflow"),
         "stringData": {"password": "hunter2"}}
    assert any("Secret carries values" in p for p in _with(rendered["dev"], s))


def test_same_file_twice_in_a_component_is_refused(rendered):
    r = rendered["dev"]
    dup = copy.deepcopy(find(r.components["namespaces"], "NetworkPolicy", "mlflow-allow-ingress"))
    dup["metadata"]["namespace"] = "keycloak"
    assert any("would overwrite the first in dist/" in p for p in _with(r, dup))


def test_core_kinds_follow_the_env_minor():
    assert schemas("1.33").knows("autoscaling/v2", "HorizontalPodAutoscaler")
    assert not schemas("1.33").knows("autoscaling/v2beta2", "HorizontalPodAutoscaler")


def test_builder_exception_becomes_a_problem(envs):
    from mlplatform.kit.component import Component

    def broken(env):
        raise KeyError("teams")

    r = render(envs["dev"], (Component("broken", "test", broken),))
    assert r.problems == ["dev/broken: build failed: KeyError: 'teams'"]


# --------------------------------------------------------------------------- units' own checks
def test_a_units_checks_hook_is_run_and_its_problems_reported(rendered, monkeypatch):
    """validate() asks every registered unit -- one it has never heard of included -- for its checks,
    hands it the rendered env and reports its problems as worded; a unit without the hook adds nothing."""
    from mlplatform.kit import component

    seen = []

    def checks(r):
        seen.append((r.env.name, sorted(r.components) == sorted(rendered["dev"].components)))
        return [f"{r.env.name}/fake/ConfigMap/planted: the fake unit's planted problem"]

    fake = component.Component("fake", "a unit that only checks", component.no_objects, checks=checks)
    quiet = component.Component("quiet", "a unit with nothing to check", component.no_objects)
    monkeypatch.setattr(component, "_REGISTRY", [*component.units(), fake, quiet])
    assert validate(rendered["dev"]) == ["dev/fake/ConfigMap/planted: the fake unit's planted problem"]
    assert seen == [("dev", True)]


def test_a_service_a_unit_says_its_operator_makes_satisfies_in_cluster_urls(rendered, monkeypatch):
    """An env var naming a Service no manifest declares is refused, unless a unit's `made_services`
    says its operator or chart makes it (and then its ports are judged)."""
    from mlplatform.kit import component

    app = _deployment("dev")
    app["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "WIDGET_URL", "value": "http://widget.mlflow.svc.cluster.local:7000"}]
    (p,) = _with(rendered["dev"], app)
    assert p.startswith("dev/crosscheck: namespaces/Deployment/mlflow/app: env WIDGET_URL=") \
        and "no Service mlflow/widget in this env" in p, p

    maker = component.Component("widget-operator", "makes Service widget", component.no_objects,
                                made_services=lambda r: {("mlflow", "widget"): frozenset({7000})})
    monkeypatch.setattr(component, "_REGISTRY", [*component.units(), maker])
    assert _with(rendered["dev"], app) == []
    app["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "http://widget.mlflow.svc:7001"
    (p,) = _with(rendered["dev"], app)
    assert "Service mlflow/widget has no port 7001 (it serves 7000)" in p, p
