"""Notebooks as the user's POSIX identity, generator side: when the realm's directory provides uids
(keycloak's `posix_claims`), the hub gets `posix_identity.py` verbatim as hub.extraConfig plus the
line that installs its hooks with this env's settings (claim names, uid/gid bounds, fallback).

The same module is imported by the tests and runs against the real KubeSpawner there, and
`example_pod_spec` builds, with the module's own `pod_patch`, the pod a directory user gets, so
Pod Security admission judges it at synth like every other pod.

EFS: the shared claim (/home/shared) goes through the Terraform access point, which enforces
uid 1000 / gid 100 on every NFS call by default: whatever uid the notebook runs as, files there
are created as 1000:100 and everyone shares them. For the directory's ids to count on EFS, the env's
Terraform sets `efs_shared_posix_user = null` (no enforced user; see terraform/efs.tf), and the
directory's groups then decide who reads what.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .. import keycloak

if TYPE_CHECKING:
    from ...config.models import Env

MODULE = Path(__file__).with_name("posix_identity.py")
EXTRA_CONFIG_KEY = "20-posix-identity"  # after 10-role-gated-profiles (z2jh runs them in key order)
DEFAULT_UID, DEFAULT_GID = 1000, 100    # the platform default (objects.UID/GID)
INIT_RESOURCES = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}


def settings(env: Env, home: str) -> dict | None:
    """The hook settings of the env, or None when notebooks keep the platform default identity."""
    claims = keycloak.posix_claims(env)
    if claims is None:
        return None
    pi = env.jupyterhub.posix_identity
    return {
        "claims": {"uid": claims.uid, "gid": claims.gid, "supplementary_gids": claims.supplementary_gids},
        "min_uid": pi.min_uid, "max_uid": pi.max_uid, "min_gid": pi.min_gid, "max_gid": pi.max_gid,
        "missing_uid": pi.missing_uid, "default_uid": DEFAULT_UID, "default_gid": DEFAULT_GID,
        "home": home, "init_resources": INIT_RESOURCES,
    }


def extra_config(env: Env, home: str) -> dict[str, str]:
    """hub.extraConfig entries: the module and its install line (none without directory identities)."""
    s = settings(env, home)
    if s is None:
        return {}
    return {EXTRA_CONFIG_KEY: MODULE.read_text().rstrip("\n") + "\n\n\n"
            + f"PosixIdentity.install(c, {json.dumps(s, sort_keys=True)})\n"}


def example_pod_spec(env: Env, base: dict, home: str) -> dict | None:
    """`base` (what KubeSpawner makes of a profile) as a directory user at the lowest allowed ids,
    with the passwd/group init container: what Pod Security admission must accept."""
    s = settings(env, home)
    if s is None:
        return None
    from .posix_identity import PosixIdentity
    hooks = PosixIdentity(s)
    uid, gid = s["min_uid"], max(s["min_gid"], 100)
    ident = {"name": "example", "uid": uid, "gid": gid, "groups": [gid + 1]}
    spec = json.loads(json.dumps(base))
    notebook = spec["containers"][0]
    volume, init, mounts = hooks.pod_patch(ident, notebook["image"])
    spec["securityContext"] = {**spec.get("securityContext", {}), "fsGroup": gid, "supplementalGroups": [gid + 1]}
    notebook["securityContext"] = {**notebook["securityContext"], "runAsUser": uid, "runAsGroup": gid}
    notebook["volumeMounts"] = [*notebook.get("volumeMounts", []), *mounts]
    spec["initContainers"] = [init]
    spec["volumes"] = [*spec.get("volumes", []), volume]
    return spec
