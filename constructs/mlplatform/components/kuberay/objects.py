"""Component `kuberay`: the KubeRay operator, a persistent Ray cluster per team, RayServices,
Ray dashboards behind Keycloak, and a RayJob template per team.

* The chart (`helm`): the operator in `kuberay-system` on the system nodes, gang-scheduled Ray
  pods through Volcano (`batchScheduler.name`, when the env runs Volcano), metrics and a
  ServiceMonitor. It watches exactly the team namespaces. Its RBAC there is ours, not the chart's
  (`singleNamespaceInstall` + `crNamespacedRbacEnable: false`, the chart's own advice under
  GitOps): one Role + RoleBinding per team namespace in this folder, so who may do what in a
  tenant namespace is reviewed in `dist/`. Head Services are regular ClusterIP Services
  (operator env `ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE`): the ALB's ip targets and in-cluster
  clients go through them.
* Per team in `ray.clusters` (keyed by team name), in the team namespace: a RayCluster named
  after the team (head Service `<team>-head-svc`) with a head that runs no tasks, a CPU worker
  group and optionally a GPU worker group (GPU limit, GPU-taint toleration, `gpu` NodePool
  selector, `/dev/shm` in memory), the in-tree autoscaler (idle timeout per env), the team's
  Volcano queue `team-<team>`, `MLFLOW_TRACKING_URI` in every Ray container, and the
  `restricted` Pod Security profile (uid 1000, no privilege escalation, no capabilities,
  RuntimeDefault seccomp) that team namespaces enforce. With `gcs_fault_tolerance` the GCS keeps
  its state in Redis (`ray.redis`: the env's ElastiCache over TLS, or a small Redis Deployment in
  the team namespace) with the password from an ExternalSecret (`components/secrets.py`).
* `ray.services`: RayServices (Ray Serve on their own cluster, same pod shape) with their serve
  config; replicas and autoscaling per env.
* Dashboards: one Ingress per team cluster at `https://<hosts.ray>-<team>.<domain>/`, behind
  the ALB's OIDC login (`kit/routes.py`, `for_env`); read-only by default (the ALB answers 403 to
  writes, so nobody submits code to a team's cluster from the internet).
* Head PodDisruptionBudget (`head_disruption_budget`, prod): `maxUnavailable: 1`. A head is a
  single pod, so a budget can either block every drain and Karpenter consolidation forever
  (`minAvailable: 1`) or let them through; we let them through and make the head survivable
  instead (GCS fault tolerance: workers and Serve replicas stay up while a new head reloads the
  GCS from Redis).
* One-shot RayJobs are NOT emitted: Argo CD would re-create a RayJob that finished and deleted
  itself (and so re-run it), and a finished RayJob can't be run again under the same name. Each
  team gets a documented RayJob template instead (ConfigMap `<team namespace>-rayjob-template`), which
  people copy and `kubectl create` (a fresh `generateName` per run). The team's people (group
  `<trainer.member_group_prefix><team>`) may create RayJobs, read Ray objects, pods and logs, and
  port-forward to a head in their namespace (Role `<team namespace>-ray-users`).

This module builds the unit's objects from its parts: `names.py` (names, ports, routes),
`operator.py` (chart values, per-namespace RBAC), `clusters.py` (Ray pods, team clusters, head
budget, Redis), `services.py` (RayServices), `job_template.py` (the RayJob template); here: the
dashboard Ingresses, the Ray node PodMonitors and `build`.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ...kit import monitoring, routes, versions
from ...kit.ingress import ALB, ingress
from ...kit.meta import LABEL_TEAM, Obj, metadata
from .clusters import head_pdb, raycluster, redis_objects
from .job_template import template_configmap
from .names import NAME, WRITE_BLOCKED, WRITE_METHODS, dashboard_routes, team_namespace
from .operator import operator_rbac
from .priority import with_priority
from .services import rayservice

if TYPE_CHECKING:
    from ...config.models import Env


def _dashboard(env: Env, r: routes.Route) -> Obj:
    obj = ingress(env, r, component=NAME)
    obj["metadata"]["labels"][LABEL_TEAM] = r.name.removeprefix("ray-")
    if env.ray.dashboard_read_only:
        # Anything but reading (job submission, Serve deploys) is refused at the ALB.
        ann = obj["metadata"]["annotations"]
        ann[ALB + f"actions.{WRITE_BLOCKED}"] = json.dumps(
            {"type": "fixed-response", "fixedResponseConfig": {
                "contentType": "text/plain", "statusCode": "403",
                "messageBody": "The Ray dashboard is read-only here: submit a RayJob or use kubectl port-forward."}},
            separators=(",", ":"), sort_keys=True)
        ann[ALB + f"conditions.{WRITE_BLOCKED}"] = json.dumps(
            [{"field": "http-request-method", "httpRequestMethodConfig": {"Values": list(WRITE_METHODS)}}],
            separators=(",", ":"), sort_keys=True)
        paths = obj["spec"]["rules"][0]["http"]["paths"]
        paths.insert(0, {"path": r.path, "pathType": "Prefix",
                         "backend": {"service": {"name": WRITE_BLOCKED, "port": {"name": "use-annotation"}}}})
    return obj


# --------------------------------------------------------------------------- metrics
RAY_POD_MONITOR = "ray-nodes"  # `ray-nodes-<team>`: one per team namespace, unique in dist/kuberay/


def ray_pod_monitor(env: Env, team: str) -> Obj:
    """Every Ray node of a team namespace (clusters, RayService and RayJob clusters): KubeRay labels
    each Ray pod `ray.io/is-ray-node: "yes"` and adds the `metrics` port (8080, Ray's metrics
    agent) to its Ray container; the cluster and node type become labels of every series."""
    ns = team_namespace(env, team)
    return {
        "apiVersion": versions.crd("PodMonitor").api_version, "kind": "PodMonitor",
        "metadata": metadata(f"{RAY_POD_MONITOR}-{team}", component=NAME, env=env.name, namespace=ns,
                             extra_labels=monitoring.monitor_labels({LABEL_TEAM: team})),
        "spec": {
            "selector": {"matchLabels": {"ray.io/is-ray-node": "yes"}},
            "namespaceSelector": {"matchNames": [ns]},
            "podTargetLabels": ["ray.io/cluster", "ray.io/node-type"],
            "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
        },
    }


# --------------------------------------------------------------------------- build
def build(env: Env) -> list[Obj]:
    if not env.ray.enabled:
        return []
    r = env.ray
    objs: list[Obj] = operator_rbac(env)
    if r.redis == "in_cluster":
        for team in sorted(r.fault_tolerant_teams()):
            objs += redis_objects(env, team)
    for team, c in sorted(r.clusters.items()):
        objs.append(with_priority(raycluster(env, team, c)))
        if c.head_disruption_budget:
            objs.append(head_pdb(env, team))
        objs.append(template_configmap(env, team, c))
    for s in r.services:
        objs.append(with_priority(rayservice(env, s)))
    objs += [_dashboard(env, route) for route in dashboard_routes(env)]
    if r.service_monitor:
        teams = sorted(set(r.clusters) | {s.team for s in r.services})
        objs += [ray_pod_monitor(env, team) for team in teams]
    return objs
