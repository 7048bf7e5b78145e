"""NetworkPolicy semantics, evaluated: who may open a connection to whom in a rendered env.

`Network(objects)` reads every NetworkPolicy and Namespace of an env and answers
`allowed(src, dst, port, protocol)` with standard Kubernetes semantics:

* a policy selects the pods of its namespace that match `podSelector` (matchLabels and
  matchExpressions: In, NotIn, Exists, DoesNotExist);
* `policyTypes` decides the directions (absent: Ingress, plus Egress when `egress` is set); once any
  policy selects a pod for a direction, only what some rule of those policies allows passes there;
* peers: `podSelector` alone = the policy's namespace; `namespaceSelector` (+ `podSelector`) against
  the Namespace objects' labels (`kubernetes.io/metadata.name` always); `ipBlock` with `except`
  against the endpoint's IP (a pod has one too: with the AWS VPC CNI it is a VPC address, which is
  why a block over the pod subnets is the hole this module exists to find);
* ports: absent = all; numbers, `endPort` ranges and names, a name resolved against the destination
  pod's container ports; protocol defaults to TCP;
* a connection needs the source's egress AND the destination's ingress.

`check(r)` is the synth's gate: no ipBlock of any NetworkPolicy may cover a pod subnet (ingress:
ever; egress: only for a port-restricted rule, e.g. a managed database in the private subnets, since
every pod there is default-deny on ingress).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Iterable

from ..kit.meta import Obj
from ..kit.selectors import matches

NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: tuple[tuple[str, str], ...]
    ip: str
    ports: tuple[tuple[str, int, str], ...] = ()  # (name, containerPort, protocol)
    name: str = ""

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True)
class Address:
    """An endpoint outside the pod network (the ALB, the control plane, the internet)."""

    ip: str
    name: str = ""


Endpoint = Pod | Address


def pod(namespace: str, labels: dict[str, str], ip: str, ports: dict[str, int] | None = None, *,
        name: str = "", protocol: str = "TCP") -> Pod:
    return Pod(namespace, tuple(sorted(labels.items())), ip,
               tuple(sorted((n, p, protocol) for n, p in (ports or {}).items())), name or f"{namespace}/pod")


def selects(selector: dict | None, labels: dict[str, str]) -> bool:
    """A LabelSelector against labels; an empty (or absent) selector selects everything (the one
    matcher of validate/ and the units' checks, kit/selectors.py)."""
    return matches(selector, labels)


def _in_block(ip: str, block: dict) -> bool:
    a = ipaddress.ip_address(ip)
    if a not in ipaddress.ip_network(block["cidr"]):
        return False
    return not any(a in ipaddress.ip_network(x) for x in block.get("except") or [])


def _types(spec: dict) -> list[str]:
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress"] + (["Egress"] if "egress" in spec else [])


@dataclass
class Network:
    objects: list[Obj]
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    policies: list[Obj] = field(default_factory=list)

    def __post_init__(self) -> None:
        for o in self.objects:
            if o.get("kind") == "Namespace":
                name = o["metadata"]["name"]
                self.namespaces[name] = {**(o["metadata"].get("labels") or {}), NAME_LABEL: name}
            elif o.get("kind") == "NetworkPolicy":
                self.policies.append(o)

    def _ns_labels(self, ns: str) -> dict[str, str]:
        # namespaces the env does not create (kube-system, ...) still carry their name label
        return self.namespaces.get(ns, {NAME_LABEL: ns})

    def _peer_matches(self, peer: dict, policy_ns: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            return _in_block(other.ip, peer["ipBlock"])
        if not isinstance(other, Pod):
            return False  # pod and namespace selectors only ever match pods
        if "namespaceSelector" in peer:
            if not selects(peer["namespaceSelector"], self._ns_labels(other.namespace)):
                return False
        elif other.namespace != policy_ns:
            return False
        return selects(peer.get("podSelector"), other.label_map) if "podSelector" in peer else True

    @staticmethod
    def _port_matches(ports: list[dict] | None, dst: Endpoint, port: int, protocol: str) -> bool:
        if not ports:
            return True
        for p in ports:
            if p.get("protocol", "TCP") != protocol:
                continue
            want = p.get("port")
            if want is None:
                return True
            if isinstance(want, str):
                # a named port is the destination pod's container port of that name
                if isinstance(dst, Pod) and any(n == want and cp == port and pr == protocol
                                                for n, cp, pr in dst.ports):
                    return True
                continue
            if want <= port <= p.get("endPort", want):
                return True
        return False

    def _side(self, direction: str, subject: Pod, other: Endpoint, dst: Endpoint, port: int, protocol: str) -> bool:
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        selecting = [p for p in self.policies if p["metadata"].get("namespace") == subject.namespace
                     and direction in _types(p["spec"]) and selects(p["spec"].get("podSelector"), subject.label_map)]
        if not selecting:
            return True  # not isolated for this direction
        for p in selecting:
            for rule in p["spec"].get(key) or []:
                peers = rule.get(peers_key)
                if peers is not None and peers != [] and not any(
                        self._peer_matches(peer, subject.namespace, other) for peer in peers):
                    continue
                if self._port_matches(rule.get("ports"), dst, port, protocol):
                    return True
        return False

    def allowed(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        if isinstance(src, Pod) and not self._side("Egress", src, dst, dst, port, protocol):
            return False
        if isinstance(dst, Pod) and not self._side("Ingress", dst, src, dst, port, protocol):
            return False
        return True


# --------------------------------------------------------------------------- the synth gate
def _remaining(block: dict) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The addresses an ipBlock admits: its cidr minus its excepts."""
    nets = [ipaddress.ip_network(block["cidr"])]
    for x in block.get("except") or []:
        ex = ipaddress.ip_network(x)
        out = []
        for n in nets:
            if n.version == ex.version and ex.subnet_of(n):
                out += list(n.address_exclude(ex))
            elif n.version == ex.version and n.subnet_of(ex):
                continue
            else:
                out.append(n)
        nets = out
    return nets


def pod_network_holes(policy: Obj, pod_subnets: Iterable[str]) -> list[str]:
    """Messages for each ipBlock of `policy` that admits an address of the pod subnets."""
    pods = [ipaddress.ip_network(c) for c in pod_subnets]
    spec, out = policy.get("spec") or {}, []
    for key, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(key) or []):
            for peer in rule.get(peers_key) or []:
                block = peer.get("ipBlock")
                if not block:
                    continue
                hit = sorted({str(p) for p in pods for n in _remaining(block) if n.version == p.version and n.overlaps(p)})
                if not hit:
                    continue
                if key == "egress" and rule.get("ports"):
                    continue  # one port to a managed service in the private subnets; pods there deny ingress
                what = "admits traffic from" if key == "ingress" else "allows every port to"
                out.append(f"spec.{key}[{i}]: ipBlock {block['cidr']} {what} the pod subnets {', '.join(hit)}: "
                           f"with the VPC CNI that is every pod of the cluster, other tenants included")
    return out


def check(r) -> list[str]:
    env = r.env
    subnets = env.infrastructure.pod_subnet_cidrs
    out = []
    for comp, objs in sorted(r.components.items()):
        for o in objs:
            if o.get("kind") == "NetworkPolicy":
                out += [f"{env.name}/{comp}/NetworkPolicy/{o['metadata']['name']}: {m}"
                        for m in pod_network_holes(o, subnets)]
    return out


def _container_port(objs: list[Obj], ns: str, selector: dict[str, str], name: str) -> int | None:
    for o in objs:
        if o.get("kind") in ("Deployment", "StatefulSet") and o["metadata"].get("namespace") == ns:
            tpl = o["spec"]["template"]
            if selects({"matchLabels": selector}, tpl["metadata"].get("labels") or {}):
                for c in tpl["spec"].get("containers", []):
                    for p in c.get("ports", []):
                        if p.get("name") == name:
                            return p["containerPort"]
    return None


def check_route_backends(r) -> list[str]:
    """Where the env emits a route's Service, the route's pods and ports (what the ALB policy
    admits) are the ones Ingress -> Service -> pod template really lead to."""
    from ..kit import routes
    env, out = r.env, []
    objs = [o for c, os_ in sorted(r.components.items()) for o in os_]
    services = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objs if o.get("kind") == "Service"}
    for rt in routes.for_env(env):
        svc = services.get((rt.namespace, rt.service))
        if svc is None:
            continue  # a chart's or an operator's Service: the route states its pods
        sel = svc["spec"].get("selector") or {}
        where = f"{env.name}/{rt.owner}/Route/{rt.name}"
        if sel != rt.pod_labels:
            out.append(f"{where}: pods {rt.pod_labels} are not Service {rt.service}'s selector {sel}: the ALB "
                       f"policy would admit the wrong pods")
            continue
        for p in svc["spec"].get("ports", []):
            if p.get("port") != rt.port:
                continue
            tp = p.get("targetPort", p["port"])
            resolved = _container_port(objs, rt.namespace, sel, tp) if isinstance(tp, str) else tp
            if resolved not in rt.target_ports:
                out.append(f"{where}: Service {rt.service} port {rt.port} leads to container port {resolved}, "
                           f"not one of the route's target_ports {list(rt.target_ports)}")
    return out
