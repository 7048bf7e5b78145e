"""Compute x image profiles and walltime (issue 17 part 3), against the real consumers: the installed
KubeSpawner applies our profile_list and profile_options, the installed JupyterHub defines the scopes
of the walltime service's role, and the service itself runs against a fake hub API that enforces
those scopes the way JupyterHub's handlers do."""
from __future__ import annotations

import asyncio
import inspect
import json
import re
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import Mock
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from jupyterhub import orm
from jupyterhub import scopes as jh_scopes
from jupyterhub.apihandlers.users import UserListAPIHandler, UserServerAPIHandler
from jupyterhub.objects import Hub
from kubespawner import KubeSpawner
from traitlets.config import Config

from hub import User as _User, hub_config as _hub_config, no_cluster  # noqa: F401  (autouse: no cluster)
from mlplatform.components.jupyterhub import objects as jh
from mlplatform.components.jupyterhub import walltime, walltime_service
from mlplatform.config.loader import EnvError, load_env
from mlplatform.validate.charts import check_values

UTC = timezone.utc


def _spawner(env, roles, started=None):
    user = _User()
    user.groups = [Mock() for _ in roles]
    for g, r in zip(user.groups, roles):
        g.name = r
    sp = KubeSpawner(config=_hub_config(env), hub=Hub(), user=user, api_token="t",
                     oauth_client_id="unused", _mock=True)
    if started:
        sp.orm_spawner = orm.Spawner(name="", started=started)  # what the hub records at spawn
    return sp


def _spawn(env, roles, user_options=None, form=None, started=None):
    """The pod KubeSpawner builds for these choices: from the spawn form (form data, as the browser
    posts it) or from user_options (as the REST API passes them)."""
    async def run():
        sp = _spawner(env, roles, started)
        sp.user_options = sp.options_from_form(form) if form is not None else dict(user_options or {})
        await sp.load_user_options()
        return sp.user_options, await sp.get_pod_manifest()
    return asyncio.run(run())


def _env_of(pod) -> dict:
    return {e.name: e.value for e in pod.spec.containers[0].env}


ALL = ["admin", "ml-engineer", "data-scientist"]


# --------------------------------------------------------------------------- profile_list
def test_choices_override_only_kubespawner_traits_and_every_image_is_pinned(envs):
    traits = set(KubeSpawner.class_traits())
    pinned = {i.ref for i in __import__("mlplatform.kit.versions", fromlist=["IMAGES"]).IMAGES.values()}
    for env in envs.values():
        for p in jh.profile_list(env):
            for opt in p.get("profile_options", {}).values():
                assert opt["choices"] and sum(bool(c.get("default")) for c in opt["choices"].values()) == 1
                for choice in opt["choices"].values():
                    assert set(choice["kubespawner_override"]) <= traits
                    assert choice["kubespawner_override"]["image"] in pinned
        assert check_values("jupyterhub", jh.values(env)) == [], env.name


def test_prod_offers_compute_then_image_in_the_real_spawn_form(envs):
    env = envs["prod"]
    async def form():
        sp = _spawner(env, ["ml-engineer"])
        return sp._render_options_form(sp._get_initialized_profile_list(jh.profile_list(env)))
    html = asyncio.run(form())
    # the compute profile first, then its image select (named profile-option-<slug>--image)
    assert 'name="profile-option-gpu-1--image"' in html and "PyTorch + CUDA 12" in html
    assert "stopped 30 min after start (walltime)" in html and "stopped 12 h after start (walltime)" in html
    gpu1 = next(p for p in jh.profile_list(env) if p["slug"] == "gpu-1")
    assert list(gpu1["profile_options"]["image"]["choices"]) == ["notebook-scipy", "notebook-pytorch-cuda"]
    small = next(p for p in jh.profile_list(env) if p["slug"] == "small")
    assert list(small["profile_options"]["image"]["choices"]) == ["notebook-base", "notebook-scipy",
                                                                    "notebook-datascience"]


def test_chosen_profile_and_image_reach_the_pod(envs):
    env = envs["prod"]
    # through the spawn form, as the browser submits it
    opts, pod = _spawn(env, ["data-scientist"], form={"profile": ["gpu-1"],
                                                      "profile-option-gpu-1--image": ["notebook-scipy"]})
    assert opts == {"profile": "gpu-1", "image": "notebook-scipy"}
    c = pod.spec.containers[0]
    assert c.image == "quay.io/jupyter/scipy-notebook:2026-07-28"
    assert c.resources.limits["nvidia.com/gpu"] == "1" and int(c.resources.limits["memory"]) == 48 * 1024 ** 3
    assert float(c.resources.requests["cpu"]) == 4 and pod.spec.node_selector == {"platform.mlops.io/node-pool": "gpu"}
    # no image choice: the profile's own image is the preselected one
    _, pod = _spawn(env, ["data-scientist"], {"profile": "gpu-1"})
    assert pod.spec.containers[0].image == "quay.io/jupyter/pytorch-notebook:cuda12-2026-07-28"
    # a CPU profile with a data-science image: CPU resources, no GPU pool
    _, pod = _spawn(env, [], {"profile": "datascience", "image": "notebook-datascience"})
    c = pod.spec.containers[0]
    assert c.image.startswith("quay.io/jupyter/datascience-notebook:") and "nvidia.com/gpu" not in c.resources.limits
    assert int(c.resources.limits["memory"]) == 32 * 1024 ** 3 and not pod.spec.node_selector


def test_an_image_the_profile_does_not_offer_and_a_gated_profile_cannot_be_started(envs):
    env = envs["prod"]
    with pytest.raises(KeyError, match="notebook-pytorch-cuda"):  # CUDA image on a CPU profile
        _spawn(env, ALL, {"profile": "small", "image": "notebook-pytorch-cuda"})
    with pytest.raises(ValueError, match="No such profile: gpu-quick"):  # role gating still applies
        _spawn(env, ["viewer"], {"profile": "gpu-quick", "image": "notebook-pytorch-cuda"})


def test_without_a_catalogue_or_walltime_the_menu_is_unchanged(envs):
    env = envs["dev"]
    assert not env.jupyterhub.images and not walltime.enabled(env)
    v = jh.values(env)
    assert all("profile_options" not in p for p in v["singleuser"]["profileList"])
    assert "30-walltime" not in v["hub"]["extraConfig"] and "loadRoles" not in v["hub"]
    assert "extraFiles" not in v["hub"] and "extraFiles" not in v["singleuser"]


# --------------------------------------------------------------------------- config refusals
def _refused(env_dir, old: str, new: str) -> list[str]:
    f = env_dir / "prod.yaml"
    text = f.read_text()
    assert old in text, old
    f.write_text(text.replace(old, new, 1))
    with pytest.raises(EnvError) as e:
        load_env("prod", env_dir)
    return e.value.problems


@pytest.mark.parametrize("old, new, message", [
    ("- {key: notebook-scipy,", "- {key: notebook-scipy-unpinned,", "image 'notebook-scipy-unpinned' is not pinned"),
    ("- {key: notebook-scipy,", "- {key: jupyterhub-hub,", "image 'jupyterhub-hub' is not pinned"),
    ("mem_limit: 48Gi, gpus: 1, walltime_hours: 12,", "mem_limit: 48Gi, gpus: 1, walltime_hours: 0,",
     "walltime_hours"),
    ("mem_limit: 48Gi, gpus: 1, walltime_hours: 12,", "mem_limit: 48Gi, gpus: 1, walltime_hours: -2,",
     "walltime_hours"),
    ("mem_limit: 48Gi, gpus: 1, walltime_hours: 12,", "mem_limit: 48Gi, gpus: 1, walltime_hours: 200,",
     "(gpu-1).walltime_hours 200 exceeds cull.max_age_seconds 604800"),
    ('{slug: gpu-1, display_name: "1 GPU", description: "One NVIDIA GPU (PyTorch, CUDA)", image: notebook-pytorch-cuda,',
     '{slug: gpu-1, display_name: "1 GPU", description: "One NVIDIA GPU (PyTorch, CUDA)", image: notebook-base,',
     "(gpu-1) offers image 'notebook-base', which the image catalogue does not allow for it"),
    ("{slug: gpu-quick,", "{slug: gpu-1,", "notebook profiles listed twice: gpu-1"),
    ("- {key: notebook-datascience,", "- {key: notebook-base,", "images listed twice: notebook-base"),
    ("compute: [gpu-mig-small, gpu-quick, gpu-1, gpu-4]}", "compute: [gpu-mig-small, gpu-quick, gpu-1, gpu-8]}", "compute names no compute profile: gpu-8"),
])
def test_impossible_catalogues_and_walltimes_are_refused(env_dir, old, new, message):
    problems = _refused(env_dir, old, new)
    assert any(message in p and "jupyterhub" in p for p in problems), problems


# --------------------------------------------------------------------------- walltime: user side
def test_the_notebook_gets_its_deadline_from_the_spawn_time(envs):
    env = envs["prod"]
    started = datetime(2026, 3, 1, 9, 15)  # the hub keeps naive UTC
    _, pod = _spawn(env, ALL, {"profile": "gpu-quick"}, started=started)
    e = _env_of(pod)
    assert e[walltime.DEADLINE_ENV] == "2026-03-01T09:45:00Z" and e[walltime.HOURS_ENV] == "0.5"
    assert e["MLFLOW_TRACKING_URI"], "the platform's own env stays"
    _, pod = _spawn(env, ALL, {"profile": "gpu-4", "image": "notebook-scipy"}, started=started)
    assert _env_of(pod)[walltime.DEADLINE_ENV] == "2026-03-01T21:15:00Z"
    _, pod = _spawn(env, ALL, {}, started=started)  # no choice: the default profile, no walltime
    assert _env_of(pod)[walltime.DEADLINE_ENV] == "" and _env_of(pod)[walltime.HOURS_ENV] == ""


def _banner(env, deadline: str, hours: str) -> str:
    files = jh.values(env)["singleuser"]["extraFiles"]
    (f,) = [f for f in files.values() if f["mountPath"] == walltime.BANNER_PATH]
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", f'{f["stringData"]}\nwalltime'],
                         env={"PATH": "/usr/bin:/bin", walltime.DEADLINE_ENV: deadline, walltime.HOURS_ENV: hours},
                         capture_output=True, text=True, check=True)
    return out.stdout


def test_the_terminal_banner_shows_the_time_left(envs):
    env = envs["prod"]
    soon = (datetime.now(UTC) + timedelta(minutes=95, seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert re.match(r"Walltime: 1h 35min left of 12 h \(server stops at .* UTC\)", _banner(env, soon, "12"))
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "Walltime reached" in _banner(env, past, "0.5")
    assert "no walltime" in _banner(env, "", "")


# --------------------------------------------------------------------------- walltime: hub side
def test_the_service_is_hub_managed_with_a_minimal_role(envs):
    env = envs["prod"]
    c = _hub_config(env)
    (svc,) = [s for s in c.JupyterHub.services if s["name"] == walltime.SERVICE]
    assert "api_token" not in svc, "managed: the hub mints its token at startup, nothing stored"
    (role,) = [r for r in c.JupyterHub.load_roles if r["name"] == walltime.SERVICE]
    assert role["services"] == [walltime.SERVICE] and role["scopes"] == list(walltime_service.SCOPES)
    jh_scopes._check_scopes_exist(role["scopes"])
    granted = jh_scopes.expand_scopes(set(role["scopes"]))
    for too_much in ("servers", "admin:users", "access:servers", "admin:server_state", "read:users", "users",
                     "admin:auth_state", "tokens"):
        assert too_much not in granted, too_much
    # the command the hub runs: the script mounted into the hub, reading these walltimes
    script = jh.values(env)["hub"]["extraFiles"][walltime.SCRIPT_KEY]
    assert svc["command"][:2] == ["python3", script["mountPath"]]
    assert script["stringData"] == inspect.getsource(walltime_service)
    args = [a for a in svc["command"][2:] if a.startswith("--walltime=")]
    assert walltime_service.parse_walltimes([a.split("=", 1)[1] for a in args]) == walltime.hours(env) == {
        "datascience": 24, "gpu-mig-small": 8, "gpu-quick": 0.5, "gpu-1": 12, "gpu-4": 12}
    assert "--url=http://localhost:8081/jupyter/hub/api" in svc["command"]


def test_the_fake_hub_demands_what_jupyterhub_demands():
    """The scopes the fake hub enforces per call are the ones on JupyterHub's own handlers."""
    assert "@needs_scope('list:users')" in inspect.getsource(UserListAPIHandler.get)
    assert "@needs_scope('delete:servers')" in inspect.getsource(UserServerAPIHandler.delete)


T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _server(started_min_ago: float, profile: str | None, *, ready=True, pending=None, image=None) -> dict:
    opts = {} if profile is None else {"profile": profile, **({"image": image} if image else {})}
    return {"started": (T0 - timedelta(minutes=started_min_ago)).isoformat().replace("+00:00", "Z"),
            "ready": ready, "pending": pending, "user_options": opts}


USERS = {
    "alice": {"": _server(40, "gpu-quick")},                             # 30 min walltime: due
    "bob": {"": _server(11 * 60, "gpu-1", image="notebook-scipy")},      # 12 h: not yet
    "carol": {"": _server(100 * 60, "small")},                           # no walltime: idle culling only
    "dave": {"": _server(100 * 60, None)},                               # no choice: default (small)
    "erin": {"train": _server(13 * 60, "gpu-4"), "": _server(5, "gpu-1")},  # a named server is due
    "frank": {"": _server(120, "gpu-quick", ready=False, pending="spawn")},  # still starting: next round
    "gina": {"": _server(25 * 60, "datascience")},                       # 24 h: due
    "hal w": {"": _server(31, "gpu-quick")},                             # names are escaped
}


class FakeHub(ThreadingHTTPServer):
    """JupyterHub's REST API as the service uses it, enforcing scopes like the real handlers:
    GET /users needs list:users and shows servers only with read:servers; DELETE needs delete:servers."""

    def __init__(self, scopes, users, page=3):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.granted = jh_scopes.expand_scopes(set(scopes))
        self.users, self.page, self.stopped, self.token = json.loads(json.dumps(users)), page, [], "svc-token"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/jupyter/hub/api"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def _reply(self, code, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _allowed(self, scope) -> bool:
        hub = self.server
        if self.headers.get("Authorization") != f"token {hub.token}":
            self._reply(403, {"message": "bad token"})
            return False
        if scope not in hub.granted:
            self._reply(403, {"message": f"missing scope {scope}"})
            return False
        return True

    def do_GET(self):
        hub, url = self.server, urlparse(self.path)
        if url.path != "/jupyter/hub/api/users":
            return self._reply(404)
        if not self._allowed("list:users"):
            return None
        q = parse_qs(url.query)
        assert q["state"] == ["active"]
        assert self.headers["Accept"] == walltime_service.PAGINATION
        names = sorted(hub.users)
        offset, limit = int(q["offset"][0]), min(int(q["limit"][0]), hub.page)
        items = []
        for n in names[offset:offset + limit]:
            model = {"name": n, "kind": "user"}
            if "read:servers" in hub.granted:
                model["servers"] = hub.users[n]
            items.append(model)
        nxt = {"offset": offset + limit, "limit": limit} if offset + limit < len(names) else None
        self._reply(200, {"items": items, "_pagination": {"offset": offset, "limit": limit,
                                                          "total": len(names), "next": nxt}})

    def do_DELETE(self):
        hub = self.server
        m = re.fullmatch(r"/jupyter/hub/api/users/([^/]+)/(?:server|servers/([^/]+))", self.path)
        if not m:
            return self._reply(404)
        if not self._allowed("delete:servers"):
            return None
        user, server = unquote(m.group(1)), unquote(m.group(2) or "")
        if server not in hub.users.get(user, {}):
            return self._reply(404)
        hub.stopped.append((user, server))
        hub.users[user].pop(server)
        self._reply(204)


@pytest.fixture
def fake_hub(request):
    hub = FakeHub(getattr(request, "param", walltime_service.SCOPES), USERS)
    t = threading.Thread(target=hub.serve_forever, daemon=True)
    t.start()
    yield hub
    hub.shutdown()
    hub.server_close()


def _sweep(envs, hub, now, token="svc-token"):
    env = envs["prod"]
    return walltime_service.sweep(walltime_service.Hub(hub.url, token), walltime.hours(env),
                                  walltime.default_profile(env), now)


def test_the_service_stops_exactly_the_servers_past_their_walltime(envs, fake_hub):
    stopped = _sweep(envs, fake_hub, T0)
    assert sorted(stopped) == [("alice", ""), ("erin", "train"), ("gina", ""), ("hal w", "")]
    assert sorted(fake_hub.stopped) == sorted(stopped)
    assert "" in fake_hub.users["erin"], "erin's default server (5 min into 12 h) keeps running"
    assert _sweep(envs, fake_hub, T0) == [], "nothing is stopped twice"


def test_the_service_stops_a_server_at_its_deadline_not_before(envs, fake_hub):
    # bob: gpu-1 (12 h), started 11 h before T0 -> due at T0 + 1 h
    assert ("bob", "") not in _sweep(envs, fake_hub, T0 + timedelta(minutes=59, seconds=59))
    assert ("bob", "") in _sweep(envs, fake_hub, T0 + timedelta(hours=1))
    # carol and dave (small: no walltime) run on, however long: the idle culler handles them
    assert not {("carol", ""), ("dave", "")} & set(_sweep(envs, fake_hub, T0 + timedelta(days=30)))


@pytest.mark.parametrize("fake_hub", [tuple(s for s in walltime_service.SCOPES if s != drop)
                                      for drop in walltime_service.SCOPES], indirect=True)
def test_every_scope_of_the_role_is_needed(envs, fake_hub):
    """Drop any one scope and the service no longer stops anything: the role is minimal."""
    from urllib.error import HTTPError
    try:
        stopped = _sweep(envs, fake_hub, T0)
    except HTTPError as e:
        assert e.code == 403  # without list:users it can't even list
    else:
        assert stopped == []  # without read:servers it sees no servers; without delete:servers 403s are logged
    assert fake_hub.stopped == []


def test_a_wrong_token_stops_nothing(envs, fake_hub):
    from urllib.error import HTTPError
    with pytest.raises(HTTPError):
        _sweep(envs, fake_hub, T0, token="stolen")
    assert fake_hub.stopped == []


def test_service_arguments_are_checked():
    assert walltime_service.parse_walltimes(["gpu-1=12", "q=0.5"]) == {"gpu-1": 12.0, "q": 0.5}
    for bad in ("gpu-1", "gpu-1=0", "=3", "gpu-1=-1"):
        with pytest.raises(ValueError):
            walltime_service.parse_walltimes([bad])
