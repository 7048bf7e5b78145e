"""The namespaces component: PSA, quotas, limits and network policy per namespace."""
from conftest import find
from mlplatform.components.namespaces import objects as namespaces
from mlplatform.kit.quantity import parse


def test_team_namespace_is_restricted_with_quota_and_defaults(envs):
    env = envs["prod"]
    objs = namespaces.build(env)
    ns = find(objs, "Namespace", "team-nlp")
    labels = ns["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["platform.mlops.io/team"] == "nlp"
    quota = find(objs, "ResourceQuota", "team-nlp-quota")
    assert quota["metadata"]["namespace"] == "team-nlp"
    hard = quota["spec"]["hard"]
    assert hard["requests.nvidia.com/gpu"] == "24" and "limits.nvidia.com/gpu" not in hard
    assert hard["limits.cpu"] == "512" and hard["requests.memory"] == "1Ti"


def test_limit_range_defaults_admit_pods_under_quota(envs):
    """The book's LimitRange had cpu-only defaults and a max of 1 CPU: pods without memory
    settings were rejected by the memory quota, and Spark drivers/notebooks by the max."""
    for env in envs.values():
        objs = namespaces.build(env)
        for lr in (o for o in objs if o["kind"] == "LimitRange"):
            (item,) = lr["spec"]["limits"]
            assert set(item) == {"type", "default", "defaultRequest"}, "no max/min that rejects platform pods"
            for r in ("cpu", "memory"):
                assert parse(item["defaultRequest"][r]) <= parse(item["default"][r])
        for team in env.teams:
            quota = find(objs, "ResourceQuota", f"team-{team.name}-quota")["spec"]["hard"]
            lr = find(objs, "LimitRange", f"team-{team.name}-container-defaults")["spec"]["limits"][0]
            # every quota'd resource has a default, so a pod without resources is admitted
            assert parse(lr["default"]["cpu"]) <= parse(quota["limits.cpu"])
            assert parse(lr["default"]["memory"]) <= parse(quota["limits.memory"])


def test_default_deny_plus_explicit_allows(envs):
    env = envs["dev"]
    objs = namespaces.build(env)
    namespaces_ = [o["metadata"]["name"] for o in objs if o["kind"] == "Namespace"]
    for ns in namespaces_:
        deny = find(objs, "NetworkPolicy", f"{ns}-default-deny-ingress")
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
        allow = find(objs, "NetworkPolicy", f"{ns}-allow-ingress")
        peers = allow["spec"]["ingress"][0]["from"]
        assert {"podSelector": {}} in peers
        others = [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                  for p in peers if "namespaceSelector" in p]
        assert all(o == "monitoring" or ns == "mlflow" for o in others), (ns, others)
    tenant = find(objs, "NetworkPolicy", "team-nlp-allow-ingress")["spec"]["ingress"][0]["from"]
    assert tenant == [{"podSelector": {}}]  # tenants admit only themselves namespace-wide
    # no policy admits the VPC: the ALB and the control plane come in from their own subnets only
    assert env.infrastructure.vpc_cidr not in str([o for o in objs if o["kind"] == "NetworkPolicy"
                                                   and "egress" not in o["spec"]])


def test_privileged_namespaces_say_why(envs):
    objs = namespaces.build(envs["dev"])
    for ns in (o for o in objs if o["kind"] == "Namespace"):
        level = ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
        if level != "restricted":
            assert ns["metadata"]["annotations"]["platform.mlops.io/pod-security-reason"]


def test_one_namespace_per_platform_component_and_team(envs):
    env = envs["staging"]
    names = {o["metadata"]["name"] for o in namespaces.build(env) if o["kind"] == "Namespace"}
    assert {p.name for p in env.namespaces.platform} | {f"team-{t.name}" for t in env.teams} == names


QUEUE = "scheduling.volcano.sh/queue-name"


# --------------------------------------------------------------------------- the team's default queue
def test_team_namespaces_name_their_queue(rendered):
    for r in rendered.values():
        for team in r.env.teams:
            ns = find(r.components["namespaces"], "Namespace", r.env.team_namespace(team))
            assert ns["metadata"]["annotations"][QUEUE] == f"team-{team.name}"
            assert ns["metadata"]["labels"]["platform.mlops.io/team"] == team.name
        for p in r.env.namespaces.platform:
            ns = find(r.components["namespaces"], "Namespace", p.name)
            assert QUEUE not in (ns["metadata"].get("annotations") or {})
