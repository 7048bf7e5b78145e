"""The `spark-operator` unit: it watches the configured job namespaces with IRSA, and Airflow's
workers may submit SparkApplications there (a Role and RoleBinding per job namespace)."""
from __future__ import annotations

import pytest

from conftest import ENVS, find
from mlplatform.components.spark_operator import objects as spark_operator


IRSA = "eks.amazonaws.com/role-arn"


def _values(r, comp="airflow"):
    return r.helm[comp].values


# --------------------------------------------------------------------------- spark
@pytest.mark.parametrize("env_name", ENVS)
def test_spark_operator_watches_the_configured_job_namespaces_with_irsa(rendered, env_name):
    r = rendered[env_name]
    v = _values(r, "spark-operator")
    assert v["spark"]["jobNamespaces"] == r.env.spark.job_namespaces == ["airflow"]
    assert v["spark"]["serviceAccount"] == {"create": True, "name": r.env.spark.service_account,
                                            "annotations": {IRSA: r.env.infrastructure.roles.spark}}
    assert v["webhook"]["enable"] is True and v["hook"]["upgradeCrd"] is False
    assert v["prometheus"]["podMonitor"]["create"] is True
    assert r.helm["spark-operator"].requires_crds == ("PodMonitor.monitoring.coreos.com",)
    assert r.helm["spark-operator"].namespace == "spark-operator"
    assert "spark-operator" in {o["metadata"]["name"] for o in r.components["namespaces"] if o["kind"] == "Namespace"}


@pytest.mark.parametrize("env_name", ENVS)
def test_airflow_workers_may_submit_spark_applications_in_every_job_namespace(rendered, env_name):
    r = rendered[env_name]
    objs = r.components["spark-operator"]
    for ns in r.env.spark.job_namespaces:
        role = find(objs, "Role", f"{ns}-spark-submit")
        binding = find(objs, "RoleBinding", f"{ns}-spark-submit")
        assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == ns
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{ns}-spark-submit"}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "airflow-worker", "namespace": "airflow"}]
        assert binding["subjects"][0]["name"] == _values(r)["workers"]["serviceAccount"]["name"]
        verbs = {(res, v) for rule in role["rules"] if "sparkoperator.k8s.io" in rule["apiGroups"]
                 for res in rule["resources"] for v in rule["verbs"]}
        for v in ("create", "get", "list", "watch", "delete", "patch"):
            assert ("sparkapplications", v) in verbs
        assert ("sparkapplications/status", "get") in verbs
        assert any("pods/log" in rule["resources"] and "get" in rule["verbs"] for rule in role["rules"])
        assert not any("*" in rule["verbs"] or "*" in rule["resources"] for rule in role["rules"])
    assert not [o for o in objs if o["kind"] == "Role" and o["metadata"]["name"] == "airflow-pod-launcher-role"], \
        "never patch (or shadow) the chart's own Role"


def test_more_job_namespaces_get_their_own_role_and_binding(envs):
    env = envs["staging"]
    env = env.model_copy(update={"spark": env.spark.model_copy(update={"job_namespaces": ["airflow", "team-nlp"]})})
    objs = spark_operator.build(env)
    assert sorted(o["metadata"]["name"] for o in objs if o["kind"] == "Role") == ["airflow-spark-submit",
                                                                                  "team-nlp-spark-submit"]
    assert spark_operator.values(env)["spark"]["jobNamespaces"] == ["airflow", "team-nlp"]


def test_a_job_namespace_that_does_not_exist_is_an_error(envs):
    env = envs["dev"]
    env = env.model_copy(update={"spark": env.spark.model_copy(update={"job_namespaces": ["nowhere"]})})
    with pytest.raises(ValueError, match="not namespaces of this env"):
        spark_operator.values(env)
