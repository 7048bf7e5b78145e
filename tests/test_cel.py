"""CRD CEL rules (x-kubernetes-validations): our objects pass the pinned CRDs' rules, a broken one
fails with the CRD's own message at the right path, and nothing the evaluator can't run passes."""
import copy
from collections import Counter

import pytest
import yaml

from conftest import ROOT, find
from mlplatform.kit import versions
from mlplatform.validate import cel, cel_runtime, validate

RULE = "(x-kubernetes-validations rule: "


@pytest.fixture(autouse=True)
def _fresh_memo(monkeypatch):
    monkeypatch.setattr(cel, "_MEMO", {})


def _obj(rendered, component, kind, name):
    return copy.deepcopy(find(rendered["dev"].components[component], kind, name))


# --- what we ship passes ----------------------------------------------------------------------


def test_rendered_custom_resources_pass_their_crd_rules(rendered):
    before = cel.STATS["evaluated"]
    kinds = Counter()
    for name, r in rendered.items():
        for comp, objs in r.components.items():
            for o in objs:
                if cel.rules_for(o["apiVersion"], o["kind"]) is not None:
                    kinds[o["kind"]] += 1
                    assert cel.check_object(o) == [], f"{name}/{comp}/{o['kind']}/{o['metadata']['name']}"
    # the rule-bearing kinds we emit, so a silently skipped kind shows up here
    assert {"NodePool", "EC2NodeClass", "ClusterSecretStore", "RayCluster", "ClusterTrainingRuntime"} <= set(kinds)
    assert cel.STATS["evaluated"] - before >= 100


def test_committed_dist_passes_the_crd_rules():
    kinds = {p.kind for p in versions.CRDS if cel.rules_for(p.api_version, p.kind) is not None}
    checked = 0
    for path in sorted((ROOT / "dist").glob("*/*/*.k8s.yaml")):
        if path.name.split(".", 1)[0] not in kinds:
            continue
        obj = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        assert cel.check_object(obj) == [], path.relative_to(ROOT)
        checked += 1
    assert checked >= 20


# --- real pinned rules fire with the CRD's message ----------------------------------------------


def test_nodepool_in_requirement_without_values(rendered):
    pool = _obj(rendered, "node-pools", "NodePool", "gpu")
    reqs = pool["spec"]["template"]["spec"]["requirements"]
    next(r for r in reqs if r["key"] == "karpenter.k8s.aws/instance-family")["values"] = []
    assert cel.check_object(pool) == [
        "spec.template.spec.requirements: requirements with operator 'In' must have a value defined "
        f"{RULE}self.all(x, x.operator == 'In' ? x.values.size() != 0 : true))"]


def test_nodepool_requirement_on_the_nodepool_label(rendered):
    pool = _obj(rendered, "node-pools", "NodePool", "default")
    reqs = pool["spec"]["template"]["spec"]["requirements"]
    reqs.append({"key": "karpenter.sh/nodepool", "operator": "In", "values": ["gpu"]})
    assert cel.check_object(pool) == [
        f'spec.template.spec.requirements[{len(reqs) - 1}].key: label "karpenter.sh/nodepool" is restricted '
        f'{RULE}self != "karpenter.sh/nodepool")']


def test_nodepool_template_label_in_a_restricted_domain(rendered):
    pool = _obj(rendered, "node-pools", "NodePool", "default")
    pool["spec"]["template"]["metadata"]["labels"]["karpenter.sh/team"] = "nlp"
    (p,) = cel.check_object(pool)
    assert p.startswith('spec.template.metadata.labels: label domain "karpenter.sh" is restricted ' + RULE), p


def test_ec2nodeclass_alias_combined_with_other_terms(rendered):
    nc = _obj(rendered, "node-pools", "EC2NodeClass", "default")
    nc["spec"]["amiSelectorTerms"].append({"tags": {"team": "ml"}})
    assert cel.check_object(nc) == [
        "spec.amiSelectorTerms: 'alias' is mutually exclusive, cannot be set with a combination of other "
        f"amiSelectorTerms {RULE}!(self.exists(x, has(x.alias)) && self.size() != 1))"]


def test_ec2nodeclass_alias_family_and_restricted_tag(rendered):
    nc = _obj(rendered, "node-pools", "EC2NodeClass", "default")
    nc["spec"]["amiSelectorTerms"] = [{"alias": "windows2022@v20260101"}]
    nc["spec"]["tags"]["kubernetes.io/cluster/ml-dev"] = "owned"
    problems = cel.check_object(nc)
    assert ("spec.amiSelectorTerms[0].alias: windows families may only specify version 'latest' "
            f"{RULE}self.split('@')[0] in ['windows2019','windows2022','windows2025'] ? "
            "self.split('@')[1] == 'latest' : true)") in problems
    assert any(p.startswith("spec.tags: tag contains a restricted tag matching kubernetes.io/cluster/ ")
               for p in problems), problems


def test_cluster_secret_store_reserved_session_tag(rendered):
    store = _obj(rendered, "secrets", "ClusterSecretStore", "aws-secrets-manager")
    store["spec"]["provider"]["aws"]["customSessionTags"] = {"esoNamespace": "x"}
    (p,) = cel.check_object(store)
    assert p.startswith("spec.provider.aws.customSessionTags: customSessionTags cannot contain automatically "
                        "injected reserved keys"), p


def test_training_runtime_with_two_ml_policies(rendered):
    rt = next(copy.deepcopy(o) for o in rendered["dev"].components["kubeflow-trainer"]
              if o["kind"] == "ClusterTrainingRuntime")
    rt["spec"]["mlPolicy"]["mpi"] = {"numProcPerNode": 1}
    problems = cel.check_object(rt)
    assert any(p.startswith("spec.mlPolicy: Only one of the policy can be configured " + RULE) for p in problems), problems


def test_problem_reaches_validate_with_object_prefix(rendered):
    r = copy.deepcopy(rendered["dev"])
    pool = find(r.components["node-pools"], "NodePool", "gpu")
    pool["spec"]["template"]["spec"]["requirements"].append({"key": "kubernetes.io/hostname", "operator": "Exists"})
    problems = validate(r)
    assert [p for p in problems if RULE in p] == [
        f"dev/node-pools/NodePool/gpu: spec.template.spec.requirements[{len(pool['spec']['template']['spec']['requirements']) - 1}]"
        f'.key: label "kubernetes.io/hostname" is restricted {RULE}self != "kubernetes.io/hostname")']


# --- the inventory: nothing we can't run, transition rules counted -------------------------------


def test_no_pinned_rule_is_beyond_the_evaluator():
    s = cel.survey()
    assert [(r.kind, r.where, r.rule, why) for r, why in s.unsupported] == []
    assert len(s.rules) >= 170  # every pinned CRD's rules were found (Karpenter alone has 84)


def test_transition_rules_are_known_and_skipped(rendered):
    s = cel.survey()
    assert Counter(r.kind for r in s.transition) == {
        "NodeClaim": 1, "NodePool": 3, "RayCluster": 2, "RayJob": 3, "RayService": 3,
        "ClusterTrainingRuntime": 6, "TrainingRuntime": 6, "TrainJob": 13}
    assert [(r.kind, r.where) for r in s.status] == [("TrainJob", "status.trainerStatus")]
    pool = _obj(rendered, "node-pools", "NodePool", "gpu")
    before = Counter(cel.STATS)
    assert cel.check_object(pool) == []
    # has(self.replicas) == has(oldSelf.replicas) on spec, and nodeClassRef's group and kind
    assert cel.STATS["transition_skipped"] - before["transition_skipped"] == 3
    assert cel.STATS["evaluated"] - before["evaluated"] > 5


# --- CEL semantics, on hand-written schemas ------------------------------------------------------


def _rs(spec_schema):
    return cel.RuleSet("Thing", {"type": "object", "properties": {"spec": spec_schema}})


def _check(spec_schema, spec):
    return cel.check_with(_rs(spec_schema), {"apiVersion": "x/v1", "kind": "Thing", "spec": spec})


def _obj_schema(props, *rules, **extra):
    return {"type": "object", "properties": props,
            "x-kubernetes-validations": [r if isinstance(r, dict) else {"rule": r} for r in rules], **extra}


def test_defaults_are_applied_before_rules():
    s = _obj_schema({"mode": {"type": "string", "default": "fast"}}, "self.mode == 'fast'")
    assert _check(s, {}) == []
    assert _check(s, {"mode": "slow"}) == ["spec: failed rule (x-kubernetes-validations rule: self.mode == 'fast')"]


def test_absent_fields_has_and_errors():
    s = _obj_schema({"a": {"type": "string"}}, "!has(self.a) || self.a != ''")
    assert _check(s, {}) == [] and _check(s, {"a": "x"}) == []
    (p,) = _check(_obj_schema({"a": {"type": "string"}}, "self.a == 'x'"), {})
    assert p.startswith("spec: rule evaluation error: ") and "a" in p  # never a pass on a missing key


def test_number_is_double_and_integer_is_int():
    num = _obj_schema({"x": {"type": "number"}}, "self.x / 2.0 == 1.5")  # int / double: no overload
    assert _check(num, {"x": 3}) == []
    integer = _obj_schema({"x": {"type": "integer"}}, "self.x / 2 == 1")
    assert _check(integer, {"x": 3}) == []


def test_rules_under_items_and_additional_properties_run_per_element():
    s = {"type": "object", "properties": {
        "list": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [
            {"rule": "self.startsWith('ok')", "message": "must start with ok"}]}},
        "map": {"type": "object", "additionalProperties": {"type": "integer", "x-kubernetes-validations": [
            {"rule": "self >= 0", "message": "negative"}]}}}}
    assert _check(s, {"list": ["ok1", "bad", "ok2"], "map": {"a": 1, "b": -1}}) == [
        "spec.list[1]: must start with ok (x-kubernetes-validations rule: self.startsWith('ok'))",
        "spec.map.b: negative (x-kubernetes-validations rule: self >= 0)"]


def test_escaped_property_names():
    s = _obj_schema({"foo-bar": {"type": "integer"}, "namespace": {"type": "string"}},
                    "self.foo__dash__bar == 1 && self.__namespace__ == 'ns' && self.namespace == 'ns'")
    assert _check(s, {"foo-bar": 1, "namespace": "ns"}) == []
    assert cel.escape("a.b/c-d__e") == "a__dot__b__slash__c__dash__d__underscores__e"
    assert cel.escape("1abc") is None and cel.escape("sp ace") is None


def test_null_values_are_not_validated():
    s = {"type": "object", "properties": {"a": {"type": "string", "nullable": True,
                                                "x-kubernetes-validations": [{"rule": "self == 'x'"}]}}}
    assert _check(s, {"a": None}) == []
    assert len(_check(s, {"a": "y"})) == 1


def test_duration_and_date_time_typed_self():
    s = {"type": "object", "properties": {
        "after": {"type": "string", "format": "duration",
                  "x-kubernetes-validations": [{"rule": "self <= duration('1h')", "message": "at most an hour"}]},
        "at": {"type": "string", "format": "date-time",
               "x-kubernetes-validations": [{"rule": "self > timestamp('2020-01-01T00:00:00Z')"}]}}}
    assert _check(s, {"after": "45m", "at": "2024-05-01T10:00:00Z"}) == []
    assert _check(s, {"after": "1h30m", "at": "2024-05-01T10:00:00Z"}) == [
        "spec.after: at most an hour (x-kubernetes-validations rule: self <= duration('1h'))"]
    (p,) = _check(s, {"after": "soon", "at": "2024-05-01T10:00:00Z"})
    assert p.startswith("spec.after: rule evaluation error: "), p
    duration = cel_runtime.go_duration
    assert duration("1h30m") == duration("90m") and duration("-1.5s").total_seconds() == -1.5
    assert duration("5") is None and duration("") is None


def test_message_expression_and_field_path():
    s = _obj_schema({"replicas": {"type": "integer"}},
                    {"rule": "self.replicas <= 3", "messageExpression": "'too many: ' + string(self.replicas)",
                     "fieldPath": ".replicas"},
                    {"rule": "self.replicas != 4", "messageExpression": "self.nope", "message": "plain"})
    assert _check(s, {"replicas": 4}) == [
        "spec.replicas: too many: 4 (x-kubernetes-validations rule: self.replicas <= 3)",
        "spec: plain (x-kubernetes-validations rule: self.replicas != 4)"]


def test_k8s_regex_library():
    s = _obj_schema({"k": {"type": "string"}},
                    "self.k.find('^[^/]+') == 'example.com'",
                    "self.k.findAll('[a-z]+') == ['example', 'com', 'app']",
                    "self.k.findAll('[a-z]+', 1) == ['example']")
    assert _check(s, {"k": "example.com/app"}) == []
    (p,) = _check(_obj_schema({"k": {"type": "string"}}, "self.k.find('(') == ''"), {"k": "x"})
    assert "rule evaluation error: " in p and "invalid regular expression" in p


def test_unsupported_rules_are_reported_not_passed():
    s = _obj_schema({"cpu": {"type": "string"}}, "quantity(self.cpu).isGreaterThan(quantity('1'))")
    (p,) = _check(s, {"cpu": "2"})
    assert p.startswith("spec: rule not evaluated: undeclared reference to 'quantity'"), p
    assert cel.STATS["unsupported"] >= 1


def test_transition_rule_is_skipped_and_counted():
    s = _obj_schema({"a": {"type": "string"}}, "self.a == oldSelf.a", "has(self.a)")
    before = cel.STATS["transition_skipped"]
    assert _check(s, {"a": "x"}) == []
    assert cel.STATS["transition_skipped"] == before + 1
    assert _check(s, {}) == ["spec: failed rule (x-kubernetes-validations rule: has(self.a))"]


def test_root_rules_see_only_name_and_generate_name():
    rs = cel.RuleSet("Thing", {"type": "object", "x-kubernetes-validations": [
        {"rule": "size(self.metadata.name) <= 5", "message": "name too long"},
        {"rule": "!has(self.metadata.labels)", "message": "labels visible"}]})
    obj = {"apiVersion": "x/v1", "kind": "Thing", "metadata": {"name": "abcdefg", "labels": {"a": "b"}}}
    assert cel.check_with(rs, obj) == [
        "(root): name too long (x-kubernetes-validations rule: size(self.metadata.name) <= 5)"]


def test_memoized_by_body(rendered):
    pool = _obj(rendered, "node-pools", "NodePool", "gpu")
    cel.check_object(pool)
    hits = cel.STATS["memo_hits"]
    other = copy.deepcopy(pool)
    other["metadata"]["labels"]["x"] = "y"  # metadata isn't what NodePool's rules see
    assert cel.check_object(other) == [] and cel.STATS["memo_hits"] == hits + 1
