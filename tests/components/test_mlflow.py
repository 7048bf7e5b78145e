"""MLflow: RDS backend and S3 artifacts by reference, Keycloak login at the ALB, one tracking URL."""
import json

from conftest import find
from mlplatform.components.jupyterhub import objects as jupyterhub
from mlplatform.components.mlflow import objects as mlflow
from mlplatform.components.secrets import objects as sec
from mlplatform.kit import routes


def _objs(env):
    return mlflow.build(env)


def test_server_reads_its_backend_from_the_external_secret_and_proxies_s3(envs):
    for env in envs.values():
        dep = find(_objs(env), "Deployment", "mlflow")
        c = dep["spec"]["template"]["spec"]["containers"][0]
        uri = next(e for e in c["env"] if e["name"] == "MLFLOW_BACKEND_STORE_URI")
        assert not any("BACKEND_STORE" in a or "backend-store" in a for a in c.get("args", [])), "password in argv"
        assert uri["valueFrom"]["secretKeyRef"] == {"name": "mlflow-db", "key": mlflow.URI_KEY}
        args = c["args"]
        assert args[args.index("--artifacts-destination") + 1] == \
            f"s3://{env.infrastructure.workloads_bucket}/{env.mlflow.artifact_prefix}"
        assert "--serve-artifacts" in args
        init = dep["spec"]["template"]["spec"]["initContainers"][0]
        assert init["command"][:3] == ["mlflow", "db", "upgrade"]
        sa = find(_objs(env), "ServiceAccount", "mlflow")
        assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == env.infrastructure.roles.workloads_s3


def test_backend_uri_is_rendered_from_rds_credentials_never_written(envs):
    env = envs["prod"]
    (es,) = [o for o in sec.build(env) if o["kind"] == "ExternalSecret" and o["metadata"]["name"] == "mlflow-db"]
    tpl = es["spec"]["target"]["template"]["data"][mlflow.URI_KEY]
    db = env.infrastructure.databases["mlflow"]
    assert tpl.startswith("postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}@")
    assert f"@{db.host}:{db.port}/{db.database}?sslmode=require" in tpl


def test_host_and_cors_protection_admits_the_alb_cluster_and_health_checks(envs):
    env = envs["dev"]
    c = find(_objs(env), "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]
    hosts = next(e for e in c["env"] if e["name"] == "MLFLOW_SERVER_ALLOWED_HOSTS")["value"].split(",")
    assert f"mlflow.{env.domain}" in hosts and "mlflow.mlflow.svc.cluster.local" in hosts
    assert "10.10.*" in hosts  # dev VPC 10.10.0.0/16: ALB and kubelet probes send pod IPs as Host
    assert "*" not in hosts
    cors = next(e for e in c["env"] if e["name"] == "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS")["value"]
    assert cors == f"https://mlflow.{env.domain}"


def test_behind_keycloak_login_at_the_shared_alb(rendered):
    r = rendered["staging"]
    ing = find(r.components["mlflow"], "Ingress", "mlflow")
    ann = ing["metadata"]["annotations"]
    assert ann["alb.ingress.kubernetes.io/auth-type"] == "oidc"
    assert json.loads(ann["alb.ingress.kubernetes.io/auth-idp-oidc"])["issuer"] == routes.issuer(r.env)
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    svc = find(r.components["mlflow"], "Service", "mlflow")
    assert backend == {"name": svc["metadata"]["name"], "port": {"number": svc["spec"]["ports"][0]["port"]}}


def test_tracking_uri_names_the_service_and_reaches_notebooks(rendered):
    for r in rendered.values():
        svc = find(r.components["mlflow"], "Service", mlflow.SERVICE)
        assert mlflow.TRACKING_URI == (f"http://{svc['metadata']['name']}.{svc['metadata']['namespace']}"
                                       f".svc.cluster.local:{svc['spec']['ports'][0]['port']}")
        env = jupyterhub.values(r.env)["singleuser"]["extraEnv"]
        assert env["MLFLOW_TRACKING_URI"] == mlflow.TRACKING_URI
        assert "mlflow" in r.env.jupyterhub.egress_namespaces, "notebooks' network policy lets them reach it"


def test_restricted_and_sized(envs):
    for env in envs.values():
        spec = find(_objs(env), "Deployment", "mlflow")["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for c in spec["containers"] + spec["initContainers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert set(c["resources"]["limits"]) == {"cpu", "memory"} == set(c["resources"]["requests"])
    prod = _objs(envs["prod"])
    assert find(prod, "Deployment", "mlflow")["spec"]["replicas"] == 2
    assert find(prod, "PodDisruptionBudget", "mlflow")["spec"]["maxUnavailable"] == 1
    assert not [o for o in _objs(envs["dev"]) if o["kind"] == "PodDisruptionBudget"]


def test_training_and_ray_pods_in_team_namespaces_may_reach_it(envs):
    from mlplatform.components.namespaces import objects as namespaces
    env = envs["prod"]
    pol = find(namespaces.build(env), "NetworkPolicy", "mlflow-allow-ingress")
    peers = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
             for p in pol["spec"]["ingress"][0]["from"] if "namespaceSelector" in p and "matchLabels" in p["namespaceSelector"]}
    assert {env.team_namespace(t) for t in env.teams} | {"jupyterhub", "airflow"} <= peers
