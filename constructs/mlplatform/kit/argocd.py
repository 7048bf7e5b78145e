"""Argo CD objects, typed with pydantic (the fields we use; unknown fields are errors) and then
validated again against the pinned Argo CD CRDs like every other custom resource."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import versions
from .component import Component, no_objects
from .meta import Obj, SYNC_WAVE, metadata
from .routes import Route
from .secrets import SecretWant, oidc_credential, oidc_data

API_VERSION = "argoproj.io/v1alpha1"
# Argo CD's own API: its CRDs come with the Argo CD installation (bootstrap), not from a component.
BOOTSTRAP_CRDS = frozenset({("argoproj.io", "Application"), ("argoproj.io", "AppProject"),
                            ("argoproj.io", "ApplicationSet")})


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def dump(self) -> Obj:
        return self.model_dump(by_alias=True, exclude_none=True)


class Helm(_M):
    release_name: str = Field(alias="releaseName")
    values_object: dict[str, Any] = Field(alias="valuesObject")
    skip_crds: bool | None = Field(default=None, alias="skipCrds")


class Directory(_M):
    recurse: bool = False
    include: str | None = None


class Source(_M):
    repo_url: str = Field(alias="repoURL")
    target_revision: str = Field(alias="targetRevision")
    path: str | None = None
    chart: str | None = None
    helm: Helm | None = None
    directory: Directory | None = None


class Destination(_M):
    server: str
    namespace: str | None = None


class Backoff(_M):
    duration: str
    factor: int
    max_duration: str = Field(alias="maxDuration")


class Retry(_M):
    limit: int
    backoff: Backoff


class Automated(_M):
    prune: bool = True
    self_heal: bool = Field(default=True, alias="selfHeal")


class SyncPolicy(_M):
    automated: Automated
    sync_options: list[str] = Field(alias="syncOptions")
    retry: Retry


class IgnoreDifference(_M):
    group: str
    kind: str
    name: str | None = None
    namespace: str | None = None
    json_pointers: list[str] | None = Field(default=None, alias="jsonPointers")
    jq_path_expressions: list[str] | None = Field(default=None, alias="jqPathExpressions")


class ApplicationSpec(_M):
    project: str
    source: Source | None = None
    sources: list[Source] | None = None  # multi-source: a chart plus our own objects
    destination: Destination
    sync_policy: SyncPolicy = Field(alias="syncPolicy")
    ignore_differences: list[IgnoreDifference] | None = Field(default=None, alias="ignoreDifferences")

    @model_validator(mode="after")
    def _one_way(self) -> "ApplicationSpec":
        if (self.source is None) == (self.sources is None):
            raise ValueError("an Application has either `source` or `sources`")
        return self


class GroupKind(_M):
    group: str
    kind: str


class ProjectDestination(_M):
    server: str
    namespace: str
    name: str | None = None


class AppProjectSpec(_M):
    description: str
    source_repos: list[str] = Field(alias="sourceRepos")
    destinations: list[ProjectDestination]
    cluster_resource_whitelist: list[GroupKind] = Field(alias="clusterResourceWhitelist")
    namespace_resource_blacklist: list[GroupKind] = Field(default_factory=list, alias="namespaceResourceBlacklist")


def application(name: str, *, namespace: str, env: str, component: str, spec: ApplicationSpec,
                wave: int | None = None, finalizer: bool = True) -> Obj:
    md = metadata(name, component=component, env=env, namespace=namespace,
                  annotations={SYNC_WAVE: str(wave)} if wave is not None else None)
    if finalizer:
        # Deleting the Application removes what it deployed (cascading), deliberately.
        md["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    return {"apiVersion": API_VERSION, "kind": "Application", "metadata": md, "spec": spec.dump()}


def app_project(name: str, *, namespace: str, env: str, spec: AppProjectSpec) -> Obj:
    return {"apiVersion": API_VERSION, "kind": "AppProject",
            "metadata": metadata(name, component="argocd", env=env, namespace=namespace),
            "spec": spec.dump()}


def chart_source(chart: str, *, release: str, values: dict) -> Source:
    c = versions.CHARTS[chart]
    return Source(repo_url=c.repo_url, chart=c.name, target_revision=c.version,
                  helm=Helm(release_name=release, values_object=values))


def manifests_source(name: str) -> Source:
    m = versions.MANIFESTS[name]
    return Source(repo_url=m.repo_url, target_revision=m.revision, path=m.path,
                  directory=Directory(include=m.include))


# --------------------------------------------------------------------------- what Argo CD contributes
# Argo CD is installed by the bootstrap (argocd/<env>/), not an Application of the env, yet like a
# unit it serves a route (its UI, with its own Keycloak login) and reads a client secret. The
# registry hands `SERVER` to the collectors next to the units (`kit.component.contributors`).
ROUTE = Route("argocd", "argocd", "/", "argocd", "argocd-server", 80, "/healthz", "app",
              callbacks=("/auth/callback",), post_logout="/", component="argocd", description="Argo CD")
# Argo CD resolves `$argocd-oidc:client-secret` only in Secrets labelled part-of=argocd.
OIDC_SECRET = "argocd-oidc"
CREDENTIALS = (oidc_credential(ROUTE.name, "Keycloak client secret of Argo CD"),)


def routes(env) -> list[Route]:
    return [ROUTE]


def secrets(env) -> list[SecretWant]:
    return [SecretWant(OIDC_SECRET, env.gitops.argocd_namespace, oidc_data(ROUTE.name),
                       labels={"app.kubernetes.io/part-of": "argocd"})]


SERVER = Component(ROUTE.owner, "Argo CD: the env's GitOps server, installed by the bootstrap", no_objects,
                   routes=routes, credentials=CREDENTIALS, secrets=secrets)


def server_values(env) -> dict:
    """Argo CD's own values for the env: UI on the shared ALB, login through the platform realm.

    The client secret is `$argocd-oidc:client-secret`: Argo CD resolves it from Secret
    `argocd-oidc` (an ExternalSecret labelled part-of=argocd), never from git. TLS ends at the
    ALB, so the server runs without its own TLS (`server.insecure`); the CLI uses `--grpc-web`.
    """
    from . import ingress
    from .routes import hostname, issuer, url

    r = ROUTE
    host = hostname(env, r)
    oidc = "\n".join([
        "name: Keycloak",
        f"issuer: {issuer(env)}",
        f"clientID: {r.name}",
        f"clientSecret: ${OIDC_SECRET}:client-secret",
        "requestedScopes: [openid, profile, email]",
        "",
    ])
    policy = "\n".join(["g, admins, role:admin", "g, ml-engineers, role:readonly",
                         "g, data-scientists, role:readonly", "g, viewers, role:readonly", ""])
    return {
        # the Argo CD release the BOM pins (newer than the chart's appVersion; see versions.IMAGES)
        "global": {"domain": host, "image": {"repository": versions.IMAGES["argocd"].repository,
                                             "tag": versions.IMAGES["argocd"].tag}},
        "configs": {
            "cm": {"url": url(env, r), "oidc.config": oidc},
            "params": {"server.insecure": True},
            # Users without a platform group see nothing; groups come from the realm's `groups` claim.
            "rbac": {"policy.default": "", "policy.csv": policy, "scopes": "[groups]"},
        },
        "server": {"ingress": {
            "enabled": True, "controller": "generic", "ingressClassName": env.ingress.class_name,
            "hostname": host, "path": r.path, "pathType": "Prefix",
            "annotations": ingress.annotations(env, r),
            "tls": False, "extraTls": [{"hosts": [host]}],
        }},
    }


# argo-cd#3781: since Argo CD 1.8 an Application has no health of its own, so app-of-apps sync
# waves don't wait for the previous wave. This health check restores that, and treats a
# Healthy-but-OutOfSync child as still progressing (argo-cd#10550).
APPLICATION_HEALTH_LUA = """\
local hs = {status = "Progressing", message = "waiting for the application to report health"}
if obj.status ~= nil and obj.status.health ~= nil and obj.status.health.status ~= nil then
  hs.status = obj.status.health.status
  hs.message = obj.status.health.message or ""
  local sync = obj.status.sync
  if hs.status == "Healthy" and (sync == nil or sync.status ~= "Synced") then
    hs.status = "Progressing"
    hs.message = "healthy but not yet synced"
  end
end
return hs
"""
