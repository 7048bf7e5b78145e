"""Commands that write files in the checkout: `pins` (derived hashes), `fetch` (the upstream cache),
`schema` (the env JSON Schemas) and `infra` (an env's Terraform outputs)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import ROOT, err as _err


def pins(a: argparse.Namespace) -> int:
    from ..kit import pins as derived
    from ..kit.upstream import UpstreamError
    try:
        n = derived.refresh(progress=_err)
    except UpstreamError as e:
        _err(f"pins: {e}")
        return 1
    _err(f"pins: {n} derived pin(s) updated" if n else "pins: every derived pin is current")
    return 0


def fetch(a: argparse.Namespace) -> int:
    from ..kit.upstream import UpstreamError, fetch_all
    try:
        fetch_all(progress=_err)
    except UpstreamError as e:
        _err(f"fetch: {e}")
        return 1
    return 0


def infra(a: argparse.Namespace) -> int:
    # Imported here, not at module level: the Terraform boundary is outside the synth's import graph.
    from ..config.loader import ENV_DIR, EnvError, load_env
    from ..config.terraform import TerraformOutputError, import_outputs
    env_dir = Path(a.env_dir) if a.env_dir else ENV_DIR
    src = Path("/dev/stdin") if a.source == "-" else Path(a.source)
    try:
        path = import_outputs(a.env, src, env_dir)
    except TerraformOutputError as e:
        _err(f"infra: {a.env}: the Terraform outputs are not usable ({len(e.problems)} problem(s)):")
        for p in e.problems:
            _err(f"  {p}")
        return 1
    _err(f"infra: wrote {path}")
    try:
        load_env(a.env, env_dir)
    except EnvError as e:
        for p in e.problems:
            _err(f"  {p}")
        return 1
    _err(f"infra: {a.env} loads; run `python app.py synth --env {a.env}` and review the diff of dist/{a.env}/")
    return 0


def write_schemas() -> list[Path]:
    from ..config.models import Env, Infrastructure
    out = []
    for model, path in ((Env, ROOT / "environments" / "env.schema.json"),
                        (Infrastructure, ROOT / "environments" / "infra" / "infra.schema.json")):
        # pydantic emits JSON Schema draft 2020-12; say so, so editors pick the right dialect
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **model.model_json_schema()}
        if model is Env:  # infrastructure comes from its own file (environments/infra/<env>.yaml)
            schema["properties"].pop("infrastructure", None)
            schema["required"] = [r for r in schema.get("required", []) if r != "infrastructure"]
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        out.append(path)
    return out


def schema(a: argparse.Namespace) -> int:
    for p in write_schemas():
        _err(f"wrote {p.relative_to(ROOT)}")
    return 0
