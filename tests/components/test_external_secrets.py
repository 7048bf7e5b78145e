"""The `external-secrets` unit: the External Secrets Operator's chart values (IRSA to Secrets
Manager, no namespaced stores, non-root pods, HA from config) and what the pinned chart makes of
them (the real helm render of the synth)."""
from mlplatform.components.external_secrets import objects as external_secrets
from mlplatform.validate import charts

PARTS = ("external-secrets", "external-secrets-webhook", "external-secrets-cert-controller")


def _deployments(r) -> dict[str, dict]:
    return {d.obj["metadata"]["name"]: d.obj for d in r.renders.docs[external_secrets.NAME]
            if d.obj["kind"] == "Deployment"}


def test_values_pass_the_chart_and_scale_with_the_config(envs):
    for env in envs.values():
        rel = external_secrets.helm(env)
        v = rel.values
        assert (rel.chart, rel.namespace) == ("external-secrets", "external-secrets")
        assert charts.check_values("external-secrets", v) == [] and charts.check_resources(v) == []
        n = env.secrets.controller_replicas
        assert v["replicaCount"] == n
        assert v["leaderElect"] is (n > 1) and v["podDisruptionBudget"]["enabled"] is (n > 1)
        assert v["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": env.infrastructure.roles.external_secrets}
        assert v["processSecretStore"] is False, "one ClusterSecretStore; tenants may not bring their own"
    assert envs["dev"].secrets.controller_replicas == 1 and envs["prod"].secrets.controller_replicas >= 2


def test_every_pod_the_chart_makes_runs_as_nobody_on_the_system_nodes(rendered):
    for name, r in rendered.items():
        deps = _deployments(r)
        assert set(PARTS) <= set(deps), (name, sorted(deps))
        for part in PARTS:
            spec = deps[part]["spec"]["template"]["spec"]
            assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 65534
            assert spec["nodeSelector"] == dict(r.env.infrastructure.system_node_labels), (name, part)
            for c in spec["containers"]:
                assert c["securityContext"]["runAsUser"] == 65534 and {"requests", "limits"} <= set(c["resources"])


def test_the_controller_reconciles_no_namespaced_store_and_elects_a_leader_only_when_replicated(rendered):
    for name, r in rendered.items():
        ctrl = _deployments(r)["external-secrets"]
        (c,) = ctrl["spec"]["template"]["spec"]["containers"]
        assert "--enable-secret-store-reconciler=false" in c["args"], name
        assert ("--enable-leader-election=true" in c["args"]) is (r.env.secrets.controller_replicas > 1), name
        assert ctrl["spec"]["replicas"] == r.env.secrets.controller_replicas
