"""Component `jupyterhub`: notebooks at platform.<domain>/jupyter, logins through the realm.

The pinned zero-to-jupyterhub chart with typed values, plus our Ingress on the shared ALB.

* Login: GenericOAuthenticator against the platform realm (client `jupyterhub`). Realm roles
  (the token's `roles` claim) become JupyterHub groups (`manage_groups`), which decide who may log
  in (`allowed_roles`), who is admin (`admin_roles`) and which profiles a user sees: a profile
  with `required_roles` is hidden from users without one of them, and KubeSpawner refuses a
  profile that is not in the user's list, so it can't be started by hand either. Auth state is
  kept (encrypted with `CryptKeeper` keys) and refreshed before each spawn, so a role removed in
  Keycloak takes effect at the next start.
* Secrets: the client secret (env `OAUTH_CLIENT_SECRET`), the cookie secret and the auth-state
  keys come from ExternalSecrets (`hub.existingSecret` wins over the chart's own Secret). The
  proxy token has no existing-Secret option in the chart: the chart generates it, and Argo CD
  keeps the live value instead of re-rolling it on every render (`ignoreDifferences` on that key
  and on the chart's checksum annotations). Because those checksums are ignored, the hub carries
  our own annotation -- the sha256 of these values -- so it still restarts when config changes.
* Notebooks run as uid 1000 / gid 100 (the EFS access point's owner), no sudo, no privilege
  escalation, all capabilities dropped, RuntimeDefault seccomp: the namespace enforces the
  `restricted` Pod Security level. A profile may opt into root only with `run_as_root: true`.
  With a directory (keycloak.directory.posix) they run as the user's own uid/gid/groups from the
  token instead, with a passwd/group entry (identity.py, posix_identity.py).
* Storage: a per-user gp3 home (size per env) and the shared EFS claim at /home/shared.
* Network: notebooks reach the hub, DNS, the namespaces in `egress_namespaces`, and the internet
  when `internet_egress`; never private IPs of other tenants or the cloud metadata endpoint.
"""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING
from urllib.parse import quote

from ...kit import k8s, monitoring, routes, versions
from ...kit.component import HelmRelease
from ...kit.ingress import block_path, ingress
from ...kit.meta import Obj, metadata
from .. import mlflow, node_pools, storage
from . import identity
from . import walltime
from .access import JUPYTERHUB_HUB, JUPYTERHUB_OIDC, ROUTE
from .catalogue import offered
from .config import NotebookProfile
from ..priority_classes import PRIORITY

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "jupyterhub"
NAMESPACE = "jupyterhub"
RELEASE = "jupyterhub"
CLIENT_ID = "jupyterhub"
UID, GID = 1000, 100  # the EFS access point's POSIX user (terraform/efs.tf)
HOME = "/home/jovyan"
SHARED = "/home/shared"
VALUES_HASH = "platform.mlops.io/values-sha256"
# z2jh's own default tolerations of user pods (dedicated user nodes), kept when a profile sets its own.
USER_TOLERATIONS = [
    {"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
    {"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
]


def _mem(q: str) -> str:
    """Kubernetes `16Gi` -> KubeSpawner `16G` (KubeSpawner's units are binary, one letter)."""
    return q[:-1]


def _image(key: str) -> tuple[str, str]:
    img = versions.IMAGES[key]
    return img.repository, img.tag


def override(env: Env, p: NotebookProfile) -> dict:
    """The profile's `kubespawner_override`: only keys that are KubeSpawner traits. A GPU profile
    asks its pool's resource (whole or time-sliced `nvidia.com/gpu`, or the MIG slice's
    `nvidia.com/mig-<profile>`) and tolerates and selects that pool (node_pools' placement)."""
    repo, tag = _image(p.image)
    o: dict = {
        "image": f"{repo}:{tag}",
        "cpu_guarantee": p.cpu_guarantee,
        "cpu_limit": p.cpu_limit,
        "mem_guarantee": _mem(p.mem_guarantee),
        "mem_limit": _mem(p.mem_limit),
    }
    if p.gpus:
        resources, tolerations, selector = node_pools.gpu_pod_parts(env, p.gpu_pool, p.mig_profile, p.gpus)
        o["extra_resource_guarantees"] = resources
        o["extra_resource_limits"] = dict(resources)
        o["tolerations"] = [*USER_TOLERATIONS, *tolerations]
        o["node_selector"] = selector
    if p.run_as_root:
        o["uid"] = 0
        o["container_security_context"] = {"runAsNonRoot": False}
    return o


def image_option(env: Env, p: NotebookProfile) -> dict | None:
    """KubeSpawner `profile_options.image` of a compute profile: the catalogue images it offers, each
    choice overriding only `image`; the profile's own `image` is the preselected choice (and the
    profile's override already carries it). None without a catalogue."""
    images = offered(env.jupyterhub.images, p.slug)
    if not images:
        return None
    choices = {}
    for i in images:
        repo, tag = _image(i.key)
        choice: dict = {"display_name": i.display_name, "kubespawner_override": {"image": f"{repo}:{tag}"}}
        if i.key == p.image:
            choice["default"] = True
        choices[i.key] = choice
    return {"display_name": "Image", "choices": choices}


def profile_list(env: Env) -> list[dict]:
    """The spawn menu: compute profiles, each with its image choice (when there is a catalogue) and
    its walltime in the description."""
    out = []
    for p in env.jupyterhub.profiles:
        entry = {"slug": p.slug, "display_name": p.display_name,
                 "description": walltime.describe(p.description, p.walltime_hours),
                 "kubespawner_override": override(env, p)}
        if p.default:
            entry["default"] = True
        option = image_option(env, p)
        if option:
            entry["profile_options"] = {"image": option}
        out.append(entry)
    return out


def gating_code(env: Env) -> str:
    """hub.extraConfig: hide (and so refuse) profiles whose required roles the user lacks."""
    required = {p.slug: sorted(p.required_roles) for p in env.jupyterhub.profiles if p.required_roles}
    return "\n".join([
        "# Generated by mlplatform (components/jupyterhub.py): role-gated profiles.",
        "# A profile listed here is offered only to users holding one of its Keycloak realm roles",
        "# (JupyterHub groups, synced from the token at login). KubeSpawner rejects a profile that is",
        "# not in the user's list, so a hidden profile can't be started by crafting the form either.",
        f"_REQUIRED_ROLES = {json.dumps(required, sort_keys=True)}",
        "_ALL_PROFILES = list(c.KubeSpawner.profile_list)",
        "",
        "",
        "def _visible_profiles(spawner):",
        "    roles = {group.name for group in spawner.user.groups}",
        "    return [p for p in _ALL_PROFILES",
        "            if not _REQUIRED_ROLES.get(p['slug']) or roles & set(_REQUIRED_ROLES[p['slug']])]",
        "",
        "",
        "c.KubeSpawner.profile_list = _visible_profiles",
        "",
    ])


def _oauth(env: Env) -> dict:
    r, j = ROUTE, env.jupyterhub
    home = routes.url(env, r, r.post_logout)
    return {
        "client_id": CLIENT_ID,  # the secret comes from env OAUTH_CLIENT_SECRET (ExternalSecret)
        "oauth_callback_url": routes.redirect_uris(env, r)[0],
        "authorize_url": routes.oidc_endpoint(env, "auth"),
        "token_url": routes.oidc_endpoint(env, "token"),
        "userdata_url": routes.oidc_endpoint(env, "userinfo"),
        "logout_redirect_url": f"{routes.oidc_endpoint(env, 'logout')}?client_id={CLIENT_ID}"
                               f"&post_logout_redirect_uri={quote(home, safe='')}",
        "login_service": "Keycloak",
        "username_claim": "preferred_username",
        "scope": ["openid", "profile", "email"],
        "manage_groups": True,
        "auth_state_groups_key": "oauth_user.roles",
        "allowed_groups": sorted(j.allowed_roles),
        "admin_groups": sorted(j.admin_roles),
        "enable_auth_state": True,
        "refresh_pre_spawn": True,
        "auth_refresh_age": 300,
    }


def values(env: Env) -> dict:
    j = env.jupyterhub
    default = next((p for p in j.profiles if p.default), j.profiles[0])
    repo, tag = _image(default.image)
    hub_image = versions.IMAGES["jupyterhub-hub"]
    allowed_egress = [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}]}
                      for ns in sorted(j.egress_namespaces)]
    v = {
        "hub": {
            "baseUrl": ROUTE.path,
            "image": {"name": hub_image.repository, "tag": hub_image.tag},
            "existingSecret": JUPYTERHUB_HUB,
            "config": {
                # /jupyter/hub/metrics answers Prometheus without a token (our ServiceMonitor).
                "JupyterHub": {"authenticator_class": "generic-oauth", "authenticate_prometheus": False},
                "GenericOAuthenticator": _oauth(env),
                # Notebooks give way to serving and controllers (priority-classes).
                "KubeSpawner": {"container_security_context": k8s.restricted_container(),
                                "pod_security_context": {"seccompProfile": {"type": "RuntimeDefault"}},
                                "priority_class_name": PRIORITY.preemptible},
            },
            "extraEnv": {"OAUTH_CLIENT_SECRET": {"valueFrom": {"secretKeyRef": {
                "name": JUPYTERHUB_OIDC, "key": "client-secret"}}}},
            "extraConfig": {"10-role-gated-profiles": gating_code(env), **identity.extra_config(env, HOME)},
            "db": {"type": "sqlite-pvc", "pvc": {"storage": j.hub_db_size, "storageClassName": storage.GP3}},
            "resources": {"requests": {"cpu": j.hub_cpu, "memory": j.hub_memory},
                          "limits": {"cpu": j.hub_cpu_limit, "memory": j.hub_memory}},
            # The monitoring namespace scrapes the hub's metrics (explicit, whatever the
            # namespace-wide policies admit).
            "networkPolicy": {"enabled": True, "ingress": [{
                "from": [{"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": env.namespaces.monitoring_namespace}}}],
                "ports": [{"port": HUB_PORT, "protocol": "TCP"}]}]},
        },
        "proxy": {
            "service": {"type": "ClusterIP"},  # reached through our Ingress on the shared ALB
            "chp": {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                  "limits": {"cpu": "1", "memory": "512Mi"}},
                    "containerSecurityContext": k8s.restricted_container(runAsUser=65534, runAsGroup=65534),
                    # configurable-http-proxy only serves HTTP and its REST API to the hub; it never
                    # calls the Kubernetes API. The chart renders no pod securityContext.
                    "extraPodSpec": {"automountServiceAccountToken": False,
                                     "securityContext": {"runAsNonRoot": True,
                                                         "seccompProfile": {"type": "RuntimeDefault"}}},
                    "networkPolicy": {"enabled": True}},
        },
        "singleuser": {
            "image": {"name": repo, "tag": tag},
            "uid": UID,
            "fsGid": GID,
            "allowPrivilegeEscalation": False,
            # The chart's iptables block needs a privileged init container; the network policy
            # (cloudMetadataServer: false) blocks 169.254.169.254 instead.
            "cloudMetadata": {"blockWithIptables": False},
            "cpu": {"guarantee": default.cpu_guarantee, "limit": default.cpu_limit},
            "memory": {"guarantee": _mem(default.mem_guarantee), "limit": _mem(default.mem_limit)},
            "startTimeout": j.start_timeout_seconds,
            "extraEnv": {e["name"]: e["value"] for e in mlflow.tracking_env()},
            "storage": {
                "type": "dynamic",
                "capacity": j.home_size,
                "homeMountPath": HOME,
                "dynamic": {"storageClass": storage.GP3},
                "extraVolumes": [{"name": "shared", "persistentVolumeClaim": {"claimName": storage.claim_name(NAMESPACE)}}],
                "extraVolumeMounts": [{"name": "shared", "mountPath": SHARED}],
            },
            "networkPolicy": {
                "enabled": True,
                "egressAllowRules": {"cloudMetadataServer": False, "dnsPortsCloudMetadataServer": False,
                                     "dnsPortsKubeSystemNamespace": True, "dnsPortsPrivateIPs": True,
                                     "nonPrivateIPs": j.internet_egress, "privateIPs": False},
                "egress": allowed_egress,
            },
            "profileList": profile_list(env),
        },
        # Pods that would need cluster-wide or privileged rights, or Helm hooks, stay off.
        "scheduling": {"userScheduler": {"enabled": False}, "podPriority": {"enabled": False},
                       "userPlaceholder": {"enabled": False}},
        "prePuller": {"hook": {"enabled": False}, "continuous": {"enabled": False}},
        "cull": {"enabled": True, "timeout": j.cull.timeout_seconds, "every": j.cull.every_seconds,
                 "maxAge": j.cull.max_age_seconds},
        "ingress": {"enabled": False},  # ours, from the route (access.py)
    }
    walltime.add_to_values(env, v)
    digest = hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()
    v["hub"]["annotations"] = {VALUES_HASH: digest}
    return v


def pod_spec(env: Env, p: NotebookProfile) -> dict:
    """What KubeSpawner makes of a profile (tolerations, selector, resources, security contexts) for
    the cross-checks and Pod Security admission; tests/components/test_jupyterhub.py checks this against the
    real KubeSpawner."""
    o = override(env, p)
    limits = {"cpu": str(p.cpu_limit), "memory": p.mem_limit, **o.get("extra_resource_limits", {})}
    requests = {"cpu": str(p.cpu_guarantee), "memory": p.mem_guarantee, **o.get("extra_resource_guarantees", {})}
    # KubeSpawner: uid/allow_privilege_escalation, then container_security_context over them
    # (a profile's override replaces the hub-wide one); fs_gid, then pod_security_context.
    csc = {"runAsUser": o.get("uid", UID), "allowPrivilegeEscalation": False,
           **o.get("container_security_context", k8s.restricted_container())}
    spec: dict = {"securityContext": {"fsGroup": GID, "seccompProfile": {"type": "RuntimeDefault"}},
                  "priorityClassName": PRIORITY.preemptible,
                  "containers": [{"name": "notebook", "image": o["image"], "securityContext": csc,
                                  "resources": {"requests": requests, "limits": limits}}]}
    if "tolerations" in o:
        spec["tolerations"] = o["tolerations"]
    if "node_selector" in o:
        spec["nodeSelector"] = o["node_selector"]
    return spec


# The chart rolls these at every render (no existing-Secret option for the proxy token): Argo CD
# keeps the live values (RespectIgnoreDifferences) instead of rotating them on each sync.
IGNORE = (
    ("", "Secret", "hub", '.data["hub.config.ConfigurableHTTPProxy.auth_token"]'),
    ("", "Secret", "hub", '.data["hub.config.JupyterHub.cookie_secret"]'),
    ("", "Secret", "hub", '.data["hub.config.CryptKeeper.keys"]'),
    ("apps", "Deployment", "hub", '.spec.template.metadata.annotations["checksum/secret"]'),
    ("apps", "Deployment", "proxy", '.spec.template.metadata.annotations["checksum/auth-token"]'),
    ("apps", "Deployment", "proxy", '.spec.template.metadata.annotations["checksum/proxy-secret"]'),
)


def helm(env: Env) -> HelmRelease | None:
    if not env.jupyterhub.enabled:
        return None
    pods = tuple((f"profile {p.slug}", pod_spec(env, p)) for p in env.jupyterhub.profiles)
    # a directory user's pod (own uid/gid, passwd/group init container) is admitted too
    pods += tuple((f"profile {p.slug} (directory identity)", spec) for p in env.jupyterhub.profiles
                  if (spec := identity.example_pod_spec(env, pod_spec(env, p), HOME)) is not None)
    return HelmRelease(chart="jupyterhub", release=RELEASE, namespace=NAMESPACE, values=values(env),
                       ignore_differences=IGNORE, pod_specs=pods, pod_labels=tuple(sorted(SINGLEUSER_LABELS.items())))


# What every single-user pod carries: z2jh's jupyterhub_config.py sets KubeSpawner.common_labels
# (app = the chart name, release, chart, heritage) and KubeSpawner adds its component label.
SINGLEUSER_LABELS = {"app": "jupyterhub", "release": RELEASE, "heritage": "jupyterhub",
                     "component": "singleuser-server"}


# --------------------------------------------------------------------------- metrics
HUB_SERVICE = "hub"  # z2jh's hub Service (fixed name), port 8081 -> the hub container's 8081
HUB_PORT = 8081
HUB_MONITOR = "jupyterhub-hub"


def metrics_path() -> str:
    """The hub serves its Prometheus metrics under its base URL: /jupyter/hub/metrics."""
    return f"{ROUTE.path}/hub/metrics"


def service_monitor(env: Env) -> Obj:
    """The hub's metrics (running servers, spawn durations and failures, users). The chart's
    `hub` Service carries z2jh's labels component=hub, app=jupyterhub, release=<release>; the
    endpoint names the container port by number, which works whether or not the Service's port
    is named."""
    return {
        "apiVersion": versions.crd("ServiceMonitor").api_version, "kind": "ServiceMonitor",
        "metadata": metadata(HUB_MONITOR, component=NAME, env=env.name, namespace=NAMESPACE,
                             extra_labels=monitoring.monitor_labels()),
        "spec": {
            "selector": {"matchLabels": {"app": "jupyterhub", "component": "hub", "release": RELEASE}},
            "namespaceSelector": {"matchNames": [NAMESPACE]},
            "endpoints": [{"targetPort": HUB_PORT, "path": metrics_path(), "interval": "30s"}],
        },
    }


def build(env: Env) -> list[Obj]:
    if not env.jupyterhub.enabled:
        return []
    # The hub's /metrics answers without a login (authenticate_prometheus: false, for the
    # ServiceMonitor): the ALB refuses it, Prometheus scrapes the hub Service in-cluster.
    objs = [block_path(ingress(env, ROUTE, component=NAME), "/jupyter/hub/metrics",
                       "hub-metrics-blocked", "Metrics are not exposed publicly.")]
    if env.monitoring.enabled:
        objs.append(service_monitor(env))
    return objs
