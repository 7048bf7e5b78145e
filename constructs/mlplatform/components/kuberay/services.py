"""RayServices: Ray Serve on their own cluster (the team cluster's pod shape) with their serve config."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit import versions, yamltext
from ...kit.meta import LABEL_TEAM, Obj, metadata
from .clusters import cluster_spec, scheduling_labels
from .config import RayServiceConfig
from .names import NAME, team_namespace

if TYPE_CHECKING:
    from ...config.models import Env


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def serve_config(s: RayServiceConfig) -> str:
    """`serveConfigV2`: Ray Serve's multi-application config, as YAML text."""
    apps = []
    for a in s.applications:
        runtime: dict = {"working_dir": a.working_dir}
        if a.pip:
            runtime["pip"] = list(a.pip)
        deployments = []
        for d in a.deployments:
            dep: dict = {"name": d.name, "ray_actor_options": {"num_cpus": d.num_cpus}}
            if d.num_gpus:
                dep["ray_actor_options"]["num_gpus"] = d.num_gpus
            if d.autoscaling is not None:
                dep["autoscaling_config"] = {"min_replicas": d.autoscaling.min_replicas,
                                             "max_replicas": d.autoscaling.max_replicas,
                                             "target_ongoing_requests": _number(d.autoscaling.target_ongoing_requests)}
            else:
                dep["num_replicas"] = d.num_replicas
            if d.user_config:
                dep["user_config"] = dict(d.user_config)
            deployments.append(dep)
        apps.append({"name": a.name, "import_path": a.import_path, "route_prefix": a.route_prefix,
                     "runtime_env": runtime, "deployments": deployments})
    return yamltext.dump({"applications": apps}, sort_keys=True, default_flow_style=False, width=10_000)


def rayservice(env: Env, s: RayServiceConfig) -> Obj:
    ns = team_namespace(env, s.team)
    return {
        "apiVersion": versions.crd("RayService").api_version, "kind": "RayService",
        # Labels are copied onto the RayCluster KubeRay makes for the service (Volcano queue).
        "metadata": metadata(s.name, component=NAME, env=env.name, namespace=ns,
                             extra_labels={LABEL_TEAM: s.team, **scheduling_labels(env, s.team)}),
        "spec": {"serveConfigV2": serve_config(s), "rayClusterConfig": cluster_spec(env, s.team, s.cluster, serve=True)},
    }

