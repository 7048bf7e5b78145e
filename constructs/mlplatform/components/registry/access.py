"""The registry mirror's pull credential: one catalog row, and the dockerconfigjson Secret it fills in
every namespace that runs pods (`registry.pull_secret`).

Why a Secret per namespace, listed in each pod's imagePullSecrets, rather than on ServiceAccounts:
most pods here run under ServiceAccounts a chart or an operator creates (and re-creates), which we
cannot patch declaratively; a pod's own imagePullSecrets is set by the builder (`kit/mirror.py`
adds it to every pod template of ours) or by the chart's pull-secret value. A Secret can only be
read in its own namespace, hence one ExternalSecret per namespace, all from one Secrets Manager
name (`registry/pull`: a Harbor robot account's username and password).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ...kit.secrets import Credential, SecretWant
from .config import PULL_SECRET

if TYPE_CHECKING:
    from ...config.models import Env

CREDENTIAL = "registry/pull"
CREDENTIALS = (Credential(CREDENTIAL, ("username", "password"),
                          "the registry mirror's pull account (a Harbor robot account): read only with registry.pull_secret",
                          optional=True),)


def pulling_namespaces(env: Env) -> list[str]:
    """Every namespace the env runs pods in: the platform's, the teams', and the cluster's own ones
    where charts install controllers (kube-system, argocd); `default` runs nothing of ours."""
    names = {p.name for p in env.namespaces.platform} | {env.team_namespace(t) for t in env.teams}
    names |= set(env.namespaces.external) - {"default"}
    return sorted(names)


def dockerconfig_template(hosts: tuple[str, ...]) -> str:
    """The `.dockerconfigjson` of the pull Secret: one `auths` entry per mirror host, filled by ESO's
    template engine from the fetched username and password."""
    entry = {"auth": '{{ printf "%s:%s" .username .password | b64enc }}'}  # all a container runtime reads
    return json.dumps({"auths": {h: entry for h in hosts}}, sort_keys=True)


def secrets(env: Env) -> list[SecretWant]:
    if not (env.registry.enabled and env.registry.pull_secret):
        return []
    tpl = dockerconfig_template(env.registry.mirror().hosts())
    return [SecretWant(PULL_SECRET, ns, {"username": (CREDENTIAL, "username"), "password": (CREDENTIAL, "password")},
                       template_data={".dockerconfigjson": tpl}, per_namespace=True,
                       secret_type="kubernetes.io/dockerconfigjson")
            for ns in pulling_namespaces(env)]
