"""Access follows teams: the realm, the RBAC and the Terraform agree on ml-team-<team>, and a team's
ALB-login UIs let in only that team's members and platform admins (evaluated against the realm)."""
from __future__ import annotations

import copy
from pathlib import Path

import hcl2
import pytest
from hcl2 import SerializationOptions

from mlplatform.components.keycloak import objects as keycloak
from mlplatform.components.kuberay import operator as ray_operator
from mlplatform.kit import routes

TF = Path(__file__).resolve().parents[1] / "terraform"
_OPTS = SerializationOptions(with_comments=False, strip_string_quotes=True, explicit_blocks=False)


def _tf(name: str) -> dict:
    with (TF / name).open(encoding="utf-8") as f:
        return hcl2.load(f, serialization_options=_OPTS)


def may_log_in(realm: dict, client_id: str, groups: set[str]) -> bool:
    """Keycloak's decision for a user in `groups` logging in to `client_id` through its browser flow:
    a CONDITIONAL subflow whose `conditional-user-role` holds runs its `deny-access-authenticator`."""
    client = next(c for c in realm["clients"] if c["clientId"] == client_id)
    roles: set[str] = set()
    for g in realm["groups"]:
        if g["name"] in groups:
            roles |= {f"{c}.{r}" for c, rs in (g.get("clientRoles") or {}).items() for r in rs}
            roles |= set(g.get("realmRoles") or [])
    flows = {f["alias"]: f for f in realm.get("authenticationFlows", [])}
    configs = {c["alias"]: c["config"] for c in realm.get("authenticatorConfig", [])}
    alias = (client.get("authenticationFlowBindingOverrides") or {}).get("browser")
    if alias is None:
        return True  # the realm's default browser flow: every user of the realm

    def denied(flow_alias: str) -> bool:
        for e in sorted(flows[flow_alias]["authenticationExecutions"], key=lambda e: e["priority"]):
            if not e["authenticatorFlow"]:
                if e["authenticator"] == "deny-access-authenticator" and e["requirement"] == "REQUIRED":
                    return True
                continue
            sub = flows[e["flowAlias"]]["authenticationExecutions"]
            if e["requirement"] == "CONDITIONAL":
                conds = [x for x in sub if not x["authenticatorFlow"] and x["authenticator"].startswith("conditional-")]
                holds = True
                for c in conds:
                    cfg = configs[c["authenticatorConfig"]]
                    has = cfg["condUserRole"] in roles
                    holds &= has != (cfg.get("negate") == "true")
                if holds and denied(e["flowAlias"]):
                    return True
            elif e["requirement"] == "REQUIRED" and denied(e["flowAlias"]):
                return True
        return False

    return not denied(alias)


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_team_uis_admit_only_the_team_and_admins(envs, name):
    env = envs[name]
    realm = keycloak.realm(env)
    teams = [t.name for t in env.teams]
    ray_teams = sorted(env.ray.clusters) if env.ray.enabled else []
    assert ray_teams, "every env has a team dashboard to protect"
    for team in ray_teams:
        route = next(r for r in routes.for_env(env) if r.name == f"ray-{team}")
        client = routes.alb_client(env, route.namespace)
        assert client != routes.ALB_CLIENT
        assert may_log_in(realm, client, {keycloak.team_group(env, team)})
        assert may_log_in(realm, client, {"admins"})
        for other in set(teams) - {team}:
            assert not may_log_in(realm, client, {keycloak.team_group(env, other)}), (team, other)
        for g in ("viewers", "data-scientists", "ml-engineers"):
            assert not may_log_in(realm, client, {g})
    # platform UIs stay open to every realm user
    assert may_log_in(realm, routes.ALB_CLIENT, {"viewers"})


def test_a_weakened_flow_is_caught(envs):
    realm = keycloak.realm(envs["dev"])
    weak = copy.deepcopy(realm)
    for c in weak["authenticatorConfig"]:
        c["config"]["negate"] = "false"  # deny the members instead of the others
    assert may_log_in(weak, "team-research-ui", {"ml-team-nlp"})
    gone = copy.deepcopy(realm)
    next(c for c in gone["clients"] if c["clientId"] == "team-research-ui").pop("authenticationFlowBindingOverrides")
    assert may_log_in(gone, "team-research-ui", {"ml-team-nlp"})


def test_realm_rbac_and_terraform_agree_on_team_groups(envs, rendered):
    locals_ = {k: v for d in _tf("locals.tf")["locals"] for k, v in d.items()}
    prefix = locals_["team_group_prefix"]
    eks = _tf("eks.tf")
    entries = {k: v for r in eks["resource"] for k, v in r.get("aws_eks_access_entry", {}).items()}
    assert entries["team"]["kubernetes_groups"] == ["${local.team_group_prefix}${each.key}"]
    assocs = {k: v for r in eks["resource"] for k, v in r.get("aws_eks_access_policy_association", {}).items()}
    scope = assocs["team"]["access_scope"]
    scope = scope[0] if isinstance(scope, list) else scope
    assert scope["type"] == "namespace" and scope["namespaces"] == ["${each.value.namespace}"]
    for name, env in envs.items():
        tfvars = _tf(f"envs/{name}.tfvars")
        assert {t: v["namespace"] for t, v in tfvars["teams"].items()} == {
            t.name: env.team_namespace(t) for t in env.teams}, name
        realm_groups = {g["name"] for g in keycloak.realm(env)["groups"]}
        objs = [o for objs in rendered[name].components.values() for o in objs]
        for t in env.teams:
            group = f"{prefix}{t.name}"
            assert ray_operator.member_group(env, t.name) == group == keycloak.team_group(env, t.name)
            assert group in realm_groups
            bound = {(o["metadata"]["namespace"], o["roleRef"]["name"]) for o in objs if o["kind"] == "RoleBinding"
                     for s in o["subjects"] if s == {"kind": "Group", "name": group,
                                                     "apiGroup": "rbac.authorization.k8s.io"}}
            assert bound and {ns for ns, _ in bound} == {env.team_namespace(t)}, (name, group, bound)
