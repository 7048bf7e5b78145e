"""The JSON Schemas are what editors show while someone edits an env file: every property has a
description and each schema declares its draft (issue 14 item 11)."""
import copy
import json

import pytest

from conftest import ROOT
from mlplatform.config.models import Env, Infrastructure

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS = {"env": ROOT / "environments/env.schema.json", "infra": ROOT / "environments/infra/infra.schema.json"}


def undescribed(node, path="#") -> list[str]:
    """JSON pointers of every property (at any depth: $defs, anyOf, items, additionalProperties)
    without a non-empty description."""
    out: list[str] = []
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            if not (isinstance(prop, dict) and str(prop.get("description", "")).strip()):
                out.append(f"{path}/properties/{name}")
        for key, value in node.items():
            out += undescribed(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += undescribed(value, f"{path}/{i}")
    return out


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_declares_its_draft_and_describes_every_property(name):
    schema = json.loads(SCHEMAS[name].read_text())
    assert schema.get("$schema") == DRAFT
    assert undescribed(schema) == [], f"{SCHEMAS[name].name}: properties without a description"


@pytest.mark.parametrize("model", [Env, Infrastructure], ids=["env", "infra"])
def test_every_model_field_has_a_description(model):
    """Straight from the models, so a field added without a description fails even before the
    committed schema is regenerated."""
    schema = model.model_json_schema()
    assert undescribed(schema) == []
    assert len(json.dumps(schema)) > 1000  # the walk saw the real schema


def test_the_check_catches_a_removed_description():
    schema = json.loads(SCHEMAS["env"].read_text())
    nested = copy.deepcopy(schema)
    del nested["$defs"]["TeamQuota"]["properties"]["gpus"]["description"]
    assert undescribed(nested) == ["#/$defs/TeamQuota/properties/gpus"]
    top = copy.deepcopy(schema)
    top["properties"]["teams"]["description"] = "  "
    assert undescribed(top) == ["#/properties/teams"]
