"""Tenant isolation, proven by evaluating every NetworkPolicy of every env (validate/netpol.py):
a matrix of sources (another team's pod, platform pods, the ALB, the control plane, the internet)
x destinations (each team's Ray head and dashboard, vLLM servers, notebooks, platform UIs and
webhooks) must allow exactly the expected set, and planted holes must be caught."""
from __future__ import annotations

import copy
import ipaddress

import pytest

from conftest import find
from mlplatform.components.kuberay import names as ray_names
from mlplatform.components.mlflow import objects as mlflow
from mlplatform.components.vllm import objects as vllm
from mlplatform.kit import k8s, routes
from mlplatform.validate import netpol, validate
from mlplatform.validate.netpol import Address, Network, pod

INTERNET = Address("203.0.113.10", "internet")


def _objects(r) -> list[dict]:
    return [o for _, objs in sorted(r.components.items()) for o in objs]


def _ip(cidrs: list[str], n: int) -> str:
    return str(ipaddress.ip_network(cidrs[0]).network_address + n)


class World:
    """The endpoints of one env: pods get addresses in the pod subnets, like VPC CNI pods."""

    def __init__(self, r):
        self.env = env = r.env
        self.objs = _objects(r)
        self.net = Network(self.objs)
        infra = env.infrastructure
        self._n = 10
        self.alb = Address(_ip(infra.alb_subnet_cidrs, 20), "alb")
        self.control_plane = Address(_ip(infra.control_plane_subnet_cidrs, 5), "control-plane")

    def pod(self, ns, labels, ports=None, name=""):
        self._n += 1
        return pod(ns, labels, _ip(self.env.infrastructure.pod_subnet_cidrs, self._n), ports, name=name)

    # ---- sources
    def sources(self):
        env = self.env
        out = {f"pod of {env.team_namespace(t)}": self.pod(env.team_namespace(t), {"app": "job"}) for t in env.teams}
        out["notebook"] = self.pod("jupyterhub", {"component": "singleuser-server"})
        out["airflow worker"] = self.pod("airflow", {"component": "worker"})
        out["mlflow"] = self.pod("mlflow", mlflow.SELECTOR)
        out["kuberay operator"] = self.pod("kuberay-system", {"app.kubernetes.io/name": "kuberay-operator"})
        out["prometheus"] = self.pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
        out["alb"], out["control plane"], out["internet"] = self.alb, self.control_plane, INTERNET
        return out

    # ---- destinations: (endpoint, port)
    def destinations(self):
        env, out = self.env, {}
        for team, _ in sorted(env.ray.clusters.items()) if env.ray.enabled else []:
            ns = ray_names.team_namespace(env, team)
            head = self.pod(ns, {**ray_names.head_selector(ray_names.cluster_name(team)), "ray.io/is-ray-node": "yes"},
                            ray_names.HEAD_PORTS, name=f"{ns} ray head")
            out[f"{ns} ray dashboard"] = (head, ray_names.DASHBOARD_PORT)
            out[f"{ns} ray gcs"] = (head, ray_names.GCS_PORT)
            out[f"{ns} ray client"] = (head, ray_names.CLIENT_PORT)
            out[f"{ns} ray metrics"] = (head, ray_names.METRICS_PORT)
        for m in vllm.models(env):
            ns = vllm.namespace(env, m)
            server = self.pod(ns, vllm.selector(m), {vllm.PORT_NAME: vllm.PORT}, name=f"{ns} vllm {m.name}")
            out[f"{ns} vllm {m.name}"] = (server, vllm.PORT)
        out["notebook"] = (self.pod("jupyterhub", {"component": "singleuser-server"}, {"notebook-port": 8888}), 8888)
        for r in routes.for_env(env):
            if r.pods and r.namespace not in env.namespaces.external and r.namespace.startswith("team-") is False:
                out[f"ui {r.name}"] = (self.pod(r.namespace, r.pod_labels), r.target_ports[0])
        for p in env.namespaces.platform:
            for port in p.control_plane_ports:
                out[f"webhook {p.name}:{port}"] = (self.pod(p.name, {"app": "webhook"}), port)
        return out

    def matrix(self):
        dsts = self.destinations()
        return {(s, d) for s, src in self.sources().items() for d, (dst, port) in dsts.items()
                if self.net.allowed(src, dst, port)}


def expected(w: World) -> set[tuple[str, str]]:
    """The isolation model, written out independently of the policies."""
    env = w.env
    want = set()
    sources, dsts = w.sources(), w.destinations()
    for d, (dst, port) in dsts.items():
        ns = dst.namespace
        for s, src in sources.items():
            ok = False
            same_ns = getattr(src, "namespace", None) == ns
            if d.startswith("team-"):
                if same_ns:
                    ok = True
                elif s == "alb":
                    ok = " ray dashboard" in d or " vllm " in d
                elif s == "kuberay operator":
                    ok = d.endswith("ray dashboard")
                elif s == "prometheus":
                    ok = d.endswith("ray metrics") or " vllm " in d
            elif d == "notebook":
                ok = False  # only the chart's own policies (hub, proxy) reach notebooks
            elif d.startswith("ui "):
                name = d[3:]
                if same_ns:
                    ok = True
                elif s == "alb":
                    ok = True
                elif name == "mlflow":
                    ok = s.startswith("pod of team-") or s in ("notebook", "airflow worker")
            elif d.startswith("webhook "):
                ok = s == "control plane" or same_ns
            if ok:
                want.add((s, d))
    return want


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_the_allowed_set_is_exactly_the_isolation_model(rendered, name):
    w = World(rendered[name])
    got, want = w.matrix(), expected(w)
    assert got == want, {"unexpected": sorted(got - want), "missing": sorted(want - got)}
    # the matrix is not vacuous: every team with a Ray cluster is reachable through the ALB
    assert any(s == "alb" and d.endswith("ray dashboard") for s, d in got)
    assert not any(s == "internet" for s, _ in got)


def test_team_pods_reach_dns_mlflow_api_and_internet_but_not_imds_or_the_vpc(rendered):
    env = rendered["prod"].env
    w = World(rendered["prod"])
    src = w.pod(env.team_namespace(env.teams[0]), {"app": "job"})
    dns = w.pod("kube-system", {"k8s-app": "kube-dns"})
    assert w.net.allowed(src, dns, 53, "UDP") and w.net.allowed(src, dns, 53, "TCP")
    assert w.net.allowed(src, w.pod("mlflow", mlflow.SELECTOR), mlflow.CONTAINER_PORT)
    assert w.net.allowed(src, w.control_plane, 443)
    assert not w.net.allowed(src, w.control_plane, 10250)
    assert w.net.allowed(src, INTERNET, 443)
    assert not w.net.allowed(src, Address("169.254.169.254"), 80)
    assert not w.net.allowed(src, Address(_ip([env.infrastructure.vpc_cidr], 60000)), 443)
    assert not w.net.allowed(src, w.pod("keycloak", {"app": "keycloak"}), 8080)  # egress-denied platform pod


def test_internet_egress_follows_the_env_flag(envs):
    from mlplatform.components.namespaces import objects as namespaces
    env = envs["dev"].model_copy(update={"namespaces": envs["dev"].namespaces.model_copy(
        update={"tenant_internet_egress": False})})
    pol = find(namespaces.build(env), "NetworkPolicy", "team-nlp-allow-egress")
    assert "0.0.0.0/0" not in str(pol)
    assert "0.0.0.0/0" in str(find(namespaces.build(envs["dev"]), "NetworkPolicy", "team-nlp-allow-egress"))


def _plant(r, policy):
    r2 = copy.deepcopy(r)
    r2.components["namespaces"] = [*r2.components["namespaces"], policy]
    return r2


def test_a_planted_vpc_wide_allow_fails_the_matrix_and_the_synth(rendered):
    r = rendered["dev"]
    env = r.env
    planted = k8s.network_policy("planted", namespace="team-nlp", component="namespaces", env=env.name,
                                 ingress_from=[k8s.peer_cidr(env.infrastructure.vpc_cidr)])
    bad = _plant(r, planted)
    w = World(bad)
    leaks = w.matrix() - expected(w)
    assert ("notebook", "team-nlp vllm opt-125m") in leaks
    assert ("control plane", "team-nlp ray dashboard") not in leaks  # dev: nlp has a RayService only
    # another team's pod is still held by its own namespace's egress policy (both sides must allow)
    assert ("pod of team-research", "team-nlp vllm opt-125m") not in leaks
    problems = [p for p in validate(bad) if "planted" in p]
    assert problems and problems[0].startswith("dev/namespaces/NetworkPolicy/planted: spec.ingress[0]: ipBlock 10.10.0.0/16")


def test_an_except_that_carves_out_the_pods_is_not_a_hole_but_a_port_less_egress_is(envs):
    env = envs["dev"]
    pods = env.infrastructure.pod_subnet_cidrs
    carved = k8s.network_policy("x", namespace="team-nlp", component="namespaces", env="dev",
                                ingress_from=[k8s.peer_cidr(env.infrastructure.vpc_cidr, except_=pods)])
    assert netpol.pod_network_holes(carved, pods) == []
    half = k8s.network_policy("x", namespace="team-nlp", component="namespaces", env="dev",
                              ingress_from=[k8s.peer_cidr(env.infrastructure.vpc_cidr, except_=pods[:1])])
    assert len(netpol.pod_network_holes(half, pods)) == 1
    open_egress = k8s.network_policy("x", namespace="team-nlp", component="namespaces", env="dev",
                                     egress=[{"to": [k8s.peer_cidr("10.0.0.0/8")]}])
    assert netpol.pod_network_holes(open_egress, pods)


def test_evaluator_semantics():
    ns = [{"kind": "Namespace", "metadata": {"name": "a", "labels": {"tier": "x"}}}]
    pol = {"kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "b"}, "spec": {
        "podSelector": {"matchExpressions": [{"key": "role", "operator": "In", "values": ["db"]}]},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"tier": "x"}},
                               "podSelector": {"matchLabels": {"app": "web"}}}],
                     "ports": [{"port": "sql"}, {"port": 9000, "endPort": 9002}]}]}}
    net = Network(ns + [pol])
    db = pod("b", {"role": "db"}, "10.0.0.2", {"sql": 5432})
    web = pod("a", {"app": "web"}, "10.0.0.3")
    assert net.allowed(web, db, 5432) and net.allowed(web, db, 9001)
    assert not net.allowed(web, db, 5433)                       # named port resolves to 5432 only
    assert not net.allowed(web, db, 5432, "UDP")
    assert not net.allowed(pod("a", {"app": "other"}, "10.0.0.4"), db, 5432)
    assert not net.allowed(pod("c", {"app": "web"}, "10.0.0.5"), db, 5432)  # namespace label missing
    assert net.allowed(web, pod("b", {"role": "cache"}, "10.0.0.6"), 1)     # not selected: not isolated
    deny_out = {"kind": "NetworkPolicy", "metadata": {"name": "d", "namespace": "a"},
                "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}
    assert not Network(ns + [pol, deny_out]).allowed(web, db, 5432)       # egress AND ingress


def test_route_backends_follow_ingress_service_pods(rendered):
    r = copy.deepcopy(rendered["dev"])
    assert netpol.check_route_backends(r) == []
    svc = find(r.components["mlflow"], "Service", "mlflow")
    svc["spec"]["selector"] = {"app.kubernetes.io/name": "something-else"}
    assert any("mlflow" in p and "selector" in p for p in netpol.check_route_backends(r))
