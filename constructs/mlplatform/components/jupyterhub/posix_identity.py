# Shipped verbatim into the hub as hub.extraConfig (components/jupyterhub/identity.py embeds this
# file and appends one `PosixIdentity.install(c, {...})` line). It runs inside the hub image, so it
# imports only the standard library and what the hub already has (kubespawner, kubernetes_asyncio),
# and defines a single top-level name: other extraConfig snippets share the same namespace.
"""Notebooks run as the user's own POSIX identity (uid, gid, supplementary gids from the directory).

Keycloak maps the directory's uidNumber / gidNumber (and optional supplementary gids) into the
userinfo of JupyterHub's client; GenericOAuthenticator keeps the userinfo in the encrypted auth
state (`oauth_user`), refreshed before each spawn. Two KubeSpawner hooks use it:

* `pre_spawn_hook` reads the claims and sets KubeSpawner's `uid`, `gid`, `fs_gid` (the per-user
  home volume is group-owned by the user's primary gid) and `supplemental_gids`, and the
  environment (`HOME`, `USER`, `NB_USER`, `NB_UID`, `NB_GID`). It refuses the spawn -- the user
  sees the message -- when the uid is missing (unless configured to fall back to the platform
  default 1000/100), not an integer, 0, or outside the configured bounds, and likewise for gids.
* `modify_pod_hook` adds a `passwd`/`group` pair so `whoami`, `id`, `ls -l`, ssh, git and conda
  resolve the user without root: an init container of the notebook's own image (no extra image
  to pull) copies the image's /etc/passwd and /etc/group into an emptyDir and appends the user,
  its primary group and its supplementary groups; the notebook mounts the two files read-only
  over /etc/passwd and /etc/group. Both containers run as the user, non-root, no privilege
  escalation, all capabilities dropped, read-only root file system for the init container: the
  pod passes the `restricted` Pod Security level.
"""


class PosixIdentity:
    """The identity hooks, configured by `settings` (see `install`)."""

    VOLUME = "posix-identity"
    MOUNT = "/etc/mlplatform-identity"
    INIT = "posix-identity"
    USERNAME = r"^[a-z_][a-z0-9_.-]{0,31}$"
    # POSIX sh + awk of the notebook image; every value comes in through the environment.
    SCRIPT = "\n".join([
        "set -eu",
        "awk -F: -v u=\"$NB_USER\" -v id=\"$NB_UID\" '$1 != u && $3 != id' /etc/passwd > \"$OUT/passwd\"",
        "printf '%s:x:%s:%s:%s:%s:/bin/bash\\n' \"$NB_USER\" \"$NB_UID\" \"$NB_GID\" \"$NB_USER\" \"$HOME\""
        " >> \"$OUT/passwd\"",
        "awk -F: -v OFS=: -v u=\"$NB_USER\" -v primary=\"$NB_GID\" -v extra=\"$NB_GIDS\" '"
        "BEGIN { n = split(extra, g, \" \"); for (i = 1; i <= n; i++) want[g[i]] = 1 } "
        "{ if ($3 == primary) seen[$3] = 1; "
        "if ($3 in want) { seen[$3] = 1; $4 = ($4 == \"\" ? u : $4 \",\" u) } print } "
        "END { if (!(primary in seen)) print u, \"x\", primary, \"\"; "
        "for (i = 1; i <= n; i++) if (!(g[i] in seen)) { seen[g[i]] = 1; print \"g\" g[i], \"x\", g[i], u } }"
        "' /etc/group > \"$OUT/group\"",
    ])

    class Refused(Exception):
        """The spawn is refused; the message is shown to the user."""

    def __init__(self, settings):
        self.claims = settings["claims"]          # {"uid": ..., "gid": ..., "supplementary_gids": ...}
        self.min_uid, self.max_uid = settings["min_uid"], settings["max_uid"]
        self.min_gid, self.max_gid = settings["min_gid"], settings["max_gid"]
        self.missing_uid = settings["missing_uid"]  # "refuse" | "default"
        self.default_uid, self.default_gid = settings["default_uid"], settings["default_gid"]
        self.home = settings["home"]
        self.resources = settings["init_resources"]

    # ------------------------------------------------------------------ identity
    def _number(self, user, what, value, low, high):
        if isinstance(value, bool) or value is None:
            raise self.Refused(f"{user}: the directory gives no valid {what} ({value!r}); ask your directory "
                               f"administrators to set it")
        try:
            n = int(str(value).strip())
        except ValueError:
            raise self.Refused(f"{user}: {what} {value!r} from the directory is not a number") from None
        if n == 0:
            raise self.Refused(f"{user}: {what} 0 is root; notebooks never run as root")
        if not low <= n <= high:
            raise self.Refused(f"{user}: {what} {n} is outside the range this platform allows ({low}..{high}); "
                               f"notebooks never run as a system account")
        return n

    def resolve(self, user, claims):
        """(uid, gid, supplementary gids) of `user` from its userinfo claims, or Refused."""
        c = self.claims
        uid = claims.get(c["uid"])
        if uid is None or uid == "" or uid == []:
            if self.missing_uid == "default":
                return self.default_uid, self.default_gid, []
            raise self.Refused(f"{user}: your directory account has no POSIX uid ({c['uid']}), so a notebook "
                               f"can't run as you; ask your directory administrators to give you one")
        if isinstance(uid, list):
            if len(uid) != 1:
                raise self.Refused(f"{user}: the directory gives {len(uid)} uids; exactly one is needed")
            uid = uid[0]
        uid = self._number(user, "uid", uid, self.min_uid, self.max_uid)
        gid = claims.get(c["gid"])
        if isinstance(gid, list):
            gid = gid[0] if len(gid) == 1 else None
        gid = self._number(user, "gid", gid, self.min_gid, self.max_gid)
        extra = claims.get(c["supplementary_gids"]) or []
        if not isinstance(extra, list):
            extra = [extra]
        groups = sorted({self._number(user, "supplementary gid", g, self.min_gid, self.max_gid) for g in extra} - {gid})
        return uid, gid, groups

    def posix_name(self, user, uid):
        import re
        return user if re.match(self.USERNAME, user) else f"u{uid}"

    # ------------------------------------------------------------------ hooks
    async def pre_spawn_hook(self, spawner):
        auth_state = await spawner.user.get_auth_state() or {}
        claims = auth_state.get("oauth_user") or {}
        uid, gid, groups = self.resolve(spawner.user.name, claims)
        name = self.posix_name(spawner.user.name, uid)
        spawner.uid, spawner.gid, spawner.fs_gid = uid, gid, gid
        spawner.supplemental_gids = list(groups)
        spawner.environment = {**spawner.environment, "HOME": self.home, "USER": name, "NB_USER": name,
                               "NB_UID": str(uid), "NB_GID": str(gid)}
        spawner.posix_identity = {"name": name, "uid": uid, "gid": gid, "groups": list(groups)}
        spawner.log.info("Notebook of %s runs as uid %s gid %s groups %s", spawner.user.name, uid, gid, groups)

    def pod_patch(self, identity, image, pull_policy=None):
        """(volume, init container, notebook mounts) as plain Kubernetes dicts."""
        volume = {"name": self.VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}
        env = {"NB_USER": identity["name"], "NB_UID": str(identity["uid"]), "NB_GID": str(identity["gid"]),
               "NB_GIDS": " ".join(str(g) for g in identity["groups"]), "HOME": self.home, "OUT": self.MOUNT}
        init = {
            "name": self.INIT, "image": image, "command": ["/bin/sh", "-c", self.SCRIPT],
            "env": [{"name": k, "value": v} for k, v in env.items()],
            "resources": self.resources,
            "securityContext": {"runAsUser": identity["uid"], "runAsGroup": identity["gid"], "runAsNonRoot": True,
                                "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
            "volumeMounts": [{"name": self.VOLUME, "mountPath": self.MOUNT}],
        }
        if pull_policy:
            init["imagePullPolicy"] = pull_policy
        mounts = [{"name": self.VOLUME, "mountPath": f"/etc/{f}", "subPath": f, "readOnly": True}
                  for f in ("passwd", "group")]
        return volume, init, mounts

    def modify_pod_hook(self, spawner, pod):
        identity = getattr(spawner, "posix_identity", None)
        if identity is None:
            return pod
        from kubernetes_asyncio.client.models import V1Container, V1Volume, V1VolumeMount
        from kubespawner.utils import get_k8s_model
        notebook = pod.spec.containers[0]
        volume, init, mounts = self.pod_patch(identity, notebook.image, notebook.image_pull_policy)
        pod.spec.volumes = [*(pod.spec.volumes or []), get_k8s_model(V1Volume, volume)]
        pod.spec.init_containers = [*(pod.spec.init_containers or []), get_k8s_model(V1Container, init)]
        notebook.volume_mounts = [*(notebook.volume_mounts or []), *(get_k8s_model(V1VolumeMount, m) for m in mounts)]
        return pod

    @classmethod
    def install(cls, c, settings):
        """Set both hooks on `c.KubeSpawner`, after any hook an earlier snippet set."""
        me = cls(settings)
        before_spawn = c.KubeSpawner.pre_spawn_hook if "pre_spawn_hook" in c.KubeSpawner else None
        before_pod = c.KubeSpawner.modify_pod_hook if "modify_pod_hook" in c.KubeSpawner else None

        async def pre_spawn_hook(spawner):
            if before_spawn is not None:
                result = before_spawn(spawner)
                if hasattr(result, "__await__"):
                    await result
            await me.pre_spawn_hook(spawner)

        async def modify_pod_hook(spawner, pod):
            if before_pod is not None:
                pod = before_pod(spawner, pod)
                if hasattr(pod, "__await__"):
                    pod = await pod
            return me.modify_pod_hook(spawner, pod)

        c.KubeSpawner.pre_spawn_hook = pre_spawn_hook
        c.KubeSpawner.modify_pod_hook = modify_pod_hook
        return me
