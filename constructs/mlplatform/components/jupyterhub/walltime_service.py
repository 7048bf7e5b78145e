"""mlplatform walltime service: stop notebook servers that have run longer than their profile's walltime.

Shipped verbatim into the hub container (z2jh `hub.extraFiles`) and run by JupyterHub as a
hub-managed service, the way the chart runs jupyterhub-idle-culler: JupyterHub starts it, mints its
API token at startup (JUPYTERHUB_API_TOKEN; never stored in a Secret) and restarts it if it dies.
Its JupyterHub role grants exactly what it uses (`SCOPES`):

* `list:users`     GET  /users                             (who has servers)
* `read:servers`   the `servers` field of each user model  (started, pending, user_options.profile)
* `delete:servers` DELETE /users/<name>/server[s/<server>]  (stop the server; never removes it)

Every `--every` seconds it lists users with active servers (paginated) and stops each ready server
whose profile (`user_options.profile`, or `--default-profile` when the user made no choice) has a
walltime and whose `started` is at least that many hours ago. Idle culling runs alongside: whichever
comes first stops the server. Python standard library only (the hub image has nothing else we own).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator
from urllib.error import HTTPError
from urllib.parse import quote
from urllib.request import Request, urlopen

SCOPES = ("list:users", "read:servers", "delete:servers")
PAGINATION = "application/jupyterhub-pagination+json"
log = logging.getLogger("mlplatform-walltime")


def parse_walltimes(items: list[str]) -> dict[str, float]:
    """`slug=hours` pairs (from the command line) -> {slug: hours}; hours must be > 0."""
    out = {}
    for item in items:
        slug, sep, hours = item.partition("=")
        if not sep or not slug or float(hours) <= 0:
            raise ValueError(f"--walltime {item!r}: expected <profile slug>=<hours above 0>")
        out[slug] = float(hours)
    return out


def parse_time(s: str) -> datetime:
    """JupyterHub's ISO-8601 timestamps (UTC, `Z` suffix) as aware datetimes."""
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(timezone.utc)


def deadline(server: dict, walltimes: dict[str, float], default_profile: str | None) -> datetime | None:
    """When `server` (a JupyterHub server model) must stop, or None (no walltime, not started)."""
    profile = (server.get("user_options") or {}).get("profile") or default_profile
    hours = walltimes.get(profile or "")
    if hours is None or not server.get("started"):
        return None
    return parse_time(server["started"]) + timedelta(hours=hours)


def due(users: list[dict], walltimes: dict[str, float], default_profile: str | None,
        now: datetime) -> list[tuple[str, str, datetime]]:
    """(user, server name, deadline) of every ready server past its deadline. Servers still
    starting or already stopping are left to the next round."""
    out = []
    for user in users:
        for name, server in sorted((user.get("servers") or {}).items()):
            if server.get("pending") or not server.get("ready"):
                continue
            end = deadline(server, walltimes, default_profile)
            if end is not None and now >= end:
                out.append((user["name"], name, end))
    return out


class Hub:
    """The few JupyterHub REST calls the service makes, authenticated with its own token."""

    def __init__(self, url: str, token: str, opener: Callable = urlopen, timeout: float = 30):
        self.url, self.token, self.opener, self.timeout = url.rstrip("/"), token, opener, timeout

    def _call(self, method: str, path: str, accept: str = "application/json"):
        req = Request(self.url + path, method=method,
                      headers={"Authorization": f"token {self.token}", "Accept": accept})
        with self.opener(req, timeout=self.timeout) as resp:
            body = resp.read()
            return json.loads(body) if body else None

    def users(self, page: int = 200) -> Iterator[dict]:
        """Users with active servers, following JupyterHub's pagination."""
        offset = 0
        while True:
            got = self._call("GET", f"/users?state=active&offset={offset}&limit={page}", PAGINATION)
            yield from got["items"]
            nxt = (got.get("_pagination") or {}).get("next")
            if not nxt:
                return
            offset = nxt["offset"]

    def stop(self, user: str, server: str) -> None:
        path = f"/users/{quote(user, safe='')}/" + (f"servers/{quote(server, safe='')}" if server else "server")
        try:
            self._call("DELETE", path)
        except HTTPError as e:
            if e.code != 404:  # gone already: nothing to stop
                raise


def sweep(hub: Hub, walltimes: dict[str, float], default_profile: str | None,
          now: datetime | None = None) -> list[tuple[str, str]]:
    """One round: stop what is due; return (user, server) of each server stopped."""
    now = now or datetime.now(timezone.utc)
    stopped = []
    for user, server, end in due(list(hub.users()), walltimes, default_profile, now):
        log.info("stopping %s/%s: walltime ended at %s", user, server or "(default)", end.isoformat())
        try:
            hub.stop(user, server)
            stopped.append((user, server))
        except Exception:  # one failure must not keep the others running past their walltime
            log.exception("could not stop %s/%s", user, server)
    return stopped


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default=os.environ.get("JUPYTERHUB_API_URL", ""), help="the hub's API URL")
    p.add_argument("--every", type=int, default=60, help="seconds between rounds")
    p.add_argument("--walltime", action="append", default=[], metavar="SLUG=HOURS")
    p.add_argument("--default-profile", default=None, help="profile of a server started without a choice")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s %(asctime)s %(name)s] %(message)s")
    walltimes = parse_walltimes(a.walltime)
    hub = Hub(a.url, os.environ["JUPYTERHUB_API_TOKEN"])
    log.info("walltimes (hours) %s; checking every %ss", json.dumps(walltimes, sort_keys=True), a.every)
    while True:
        try:
            sweep(hub, walltimes, a.default_profile)
        except Exception:
            log.exception("round failed; retrying in %ss", a.every)
        time.sleep(a.every)


if __name__ == "__main__":
    sys.exit(main())
