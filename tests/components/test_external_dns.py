"""The `external-dns` unit: its chart values, scoped to the env's hosted zone and domain with TXT
ownership by cluster, and what the pinned chart makes of them (the real helm render of the synth)."""
import pytest

from conftest import ENVS
from mlplatform.components.external_dns import objects as external_dns
from mlplatform.components.external_dns.config import ExternalDnsConfig
from mlplatform.validate import charts


def _doc(r, kind, name):
    (d,) = [d.obj for d in r.renders.docs[external_dns.NAME]
            if d.obj["kind"] == kind and d.obj["metadata"]["name"] == name]
    return d


def test_values_pass_the_chart_and_follow_the_env_config(envs):
    for env in envs.values():
        rel = external_dns.helm(env)
        assert (rel.chart, rel.release, rel.namespace) == ("external-dns", "external-dns", "external-dns")
        v = rel.values
        assert charts.check_values("external-dns", v) == [] and charts.check_resources(v) == []
        assert v["policy"] == env.external_dns.policy and v["interval"] == env.external_dns.interval
        assert v["nodeSelector"] == dict(env.infrastructure.system_node_labels)
    # prod never deletes a record on its own; dev follows its Ingresses both ways
    assert external_dns.helm(envs["prod"]).values["policy"] == "upsert-only"
    assert external_dns.helm(envs["dev"]).values["policy"] == "sync"


@pytest.mark.parametrize("name", ENVS)
def test_the_chart_runs_scoped_to_the_zone_domain_and_cluster(rendered, name):
    """The real render's container args: only the env's zone and domain, records owned by the cluster."""
    r = rendered[name]
    env, infra = r.env, r.env.infrastructure
    (c,) = _doc(r, "Deployment", "external-dns")["spec"]["template"]["spec"]["containers"]
    args = set(c["args"])
    assert {f"--domain-filter={env.domain}", f"--zone-id-filter={infra.route53_zone_id}",
            f"--txt-owner-id={infra.cluster_name}", "--txt-prefix=extdns-", "--registry=txt",
            f"--policy={env.external_dns.policy}", f"--interval={env.external_dns.interval}",
            "--source=ingress", "--provider=aws", "--aws-zone-type=public"} <= args
    assert {"name": "AWS_DEFAULT_REGION", "value": infra.region} in c["env"]
    sa = _doc(r, "ServiceAccount", "external-dns")
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": infra.roles.external_dns}


def test_config_refuses_an_unknown_policy_and_a_bad_interval():
    with pytest.raises(ValueError, match="policy"):
        ExternalDnsConfig(policy="create-only")
    with pytest.raises(ValueError, match="interval"):
        ExternalDnsConfig(interval="every minute")
