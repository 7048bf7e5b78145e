"""The route collector: routes come from the units that serve them, none is named by kit."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from mlplatform.kit import routes
from mlplatform.kit.component import Component, contributors, no_objects, register, units
from mlplatform.kit.routes import Route

ENV = SimpleNamespace(name="dev")


def _route(name: str, component: str = "", login: str = "alb") -> Route:
    return Route(name, "platform", f"/{name}", "ns", name, 80, "/health", login, component=component)


def _unit(name: str, *served: Route) -> Component:
    return Component(name, f"fake unit {name}", no_objects, routes=lambda env: list(served))


def test_routes_are_collected_from_every_unit_in_unit_order():
    alpha = _unit("alpha", _route("alpha"), _route("alpha-ui", component="alpha"))
    beta = _unit("beta", _route("beta", login="app"))
    quiet = Component("quiet", "serves nothing", no_objects)
    got = routes.collect(ENV, (alpha, quiet, beta))
    assert [r.name for r in got] == ["alpha", "alpha-ui", "beta"]
    assert routes.collect(ENV, (beta, alpha))[0].name == "beta"


def test_for_env_asks_the_registered_contributors(monkeypatch):
    alpha, beta = _unit("alpha", _route("alpha")), _unit("beta", _route("beta", login="app"))
    monkeypatch.setattr(routes, "contributors", lambda: (alpha, beta))
    assert [r.name for r in routes.for_env(ENV)] == ["alpha", "beta"]
    assert [r.name for r in routes.app_clients(ENV)] == ["beta"]
    assert [r.name for r in routes.alb_routes(ENV)] == ["alpha"]


def test_a_duplicate_route_name_is_refused():
    alpha, beta = _unit("alpha", _route("shared", component="alpha")), _unit("beta", _route("shared", component="beta"))
    with pytest.raises(ValueError, match="route 'shared' is contributed by both 'alpha' and 'beta'"):
        routes.collect(ENV, (alpha, beta))


def test_a_route_of_another_component_is_refused():
    """`Route.owner` is the unit that emits the Ingress: a unit contributes only its own routes."""
    alpha = _unit("alpha", _route("ui", component="beta"))
    with pytest.raises(ValueError, match="route 'ui' is contributed by 'alpha' but names component 'beta'"):
        routes.collect(ENV, (alpha,))


def test_every_route_of_a_real_env_comes_from_its_owner(envs):
    for env in envs.values():
        by_unit = {u.name: u.routes(env) for u in contributors() if u.routes is not None}
        assert routes.for_env(env) == [r for rs in by_unit.values() for r in rs]
        assert all(r.owner == unit for unit, rs in by_unit.items() for r in rs)
    # Argo CD is not an Application of the env but serves a route: a bootstrap contributor
    assert "argocd" not in {u.name for u in units()}
    assert [r.name for r in routes.for_env(envs["dev"]) if r.owner == "argocd"] == ["argocd"]


def test_a_bootstrap_contributor_may_not_share_a_unit_name():
    clash = Component(units()[0].name, "clash", no_objects)
    with pytest.raises(ValueError, match="duplicate component names"):
        register(units(), bootstrap=(clash,))
    assert clash not in contributors()
