"""The `aws-load-balancer-controller` unit: chart values (IRSA, the env's VPC, no chart-made
IngressClass) and the webhook certificate Argo CD must leave alone."""
from conftest import find
from mlplatform.components.external_dns import objects as external_dns
from mlplatform.components.aws_load_balancer_controller import objects as lbc


def _objs(r, comp):
    return r.components.get(comp, [])


def test_alb_controller_and_external_dns_use_irsa_and_the_env_zone(envs):
    for env in envs.values():
        infra = env.infrastructure
        v = lbc.helm(env).values
        assert v["clusterName"] == infra.cluster_name and v["vpcId"] == infra.vpc_id
        assert v["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == infra.roles.load_balancer_controller
        assert v["createIngressClassResource"] is False, "the IngressClass is ours, in dist/"
        assert v["clusterSecretsPermissions"]["allowAllSecrets"] is False
        d = external_dns.helm(env).values
        assert d["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == infra.roles.external_dns
        assert d["domainFilters"] == [env.domain] and d["txtOwnerId"] == infra.cluster_name
        assert f"--zone-id-filter={infra.route53_zone_id}" in d["extraArgs"]
        assert d["sources"] == ["ingress"]


def test_alb_controller_webhook_certificates_do_not_churn(rendered):
    """The chart signs its webhook cert at render time: Argo CD must keep the live one."""
    app = find(_objs(rendered["dev"], "argocd-apps"), "Application", "dev-aws-load-balancer-controller")
    kinds = {d["kind"] for d in app["spec"]["ignoreDifferences"]}
    assert kinds == {"Secret", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
    assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]
