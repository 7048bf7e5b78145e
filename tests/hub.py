"""The JupyterHub side of the tests: our hub values loaded into the real KubeSpawner the way z2jh's
`jupyterhub_config.py` loads them, without a cluster.

Test modules import `no_cluster` (an autouse fixture: KubeSpawner reads a kube config in its
constructor and never calls the API here), `User` and `hub_config`.
"""
from __future__ import annotations

from unittest.mock import Mock

import pytest
from jupyterhub.objects import Server
from traitlets.config import Config

from mlplatform.components.jupyterhub import objects as jh

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: none, user: {token: unused}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


@pytest.fixture(autouse=True)
def no_cluster(tmp_path, monkeypatch):
    """KubeSpawner loads a kube config in its constructor; it never calls the API here."""
    import kubernetes_asyncio.config.kube_config as kc
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.setattr(kc, "KUBE_CONFIG_DEFAULT_LOCATION", str(tmp_path / "kubeconfig"))


class User(Mock):
    name = "alice"
    server = Server()

    @property
    def escaped_name(self):
        return self.name

    @property
    def url(self):
        return self.server.url


def hub_config(env) -> Config:
    """KubeSpawner's and JupyterHub's part of our hub values as z2jh loads them (hub.config, the
    singleuser keys it maps to traits, loadRoles), then every hub.extraConfig snippet in key order."""
    v = jh.values(env)
    c = Config()
    for k, val in v["hub"]["config"]["KubeSpawner"].items():
        setattr(c.KubeSpawner, k, val)
    su = v["singleuser"]
    c.KubeSpawner.uid = su["uid"]
    c.KubeSpawner.fs_gid = su["fsGid"]
    c.KubeSpawner.allow_privilege_escalation = su["allowPrivilegeEscalation"]
    c.KubeSpawner.profile_list = su["profileList"]
    c.KubeSpawner.environment = dict(su.get("extraEnv") or {})
    c.KubeSpawner.volumes = list((su.get("storage") or {}).get("extraVolumes") or [])  # z2jh adds the home claim too
    c.KubeSpawner.volume_mounts = list((su.get("storage") or {}).get("extraVolumeMounts") or [])
    c.JupyterHub.services = []
    c.JupyterHub.load_roles = [dict(r) for r in v["hub"].get("loadRoles", {}).values()]
    for key, code in sorted(v["hub"]["extraConfig"].items()):
        exec(compile(code, f"hub.extraConfig.{key}", "exec"), {"c": c})
    return c
