"""Import Terraform outputs into `environments/infra/<env>.yaml`.

`terraform/outputs.tf` declares one output per field of `Infrastructure`, with the same name and
shape. `terraform output -json` prints them as `{"<name>": {"sensitive": bool, "type": ..., "value":
...}}`; this module checks that every field is there, that none of them is sensitive (they are
identifiers and endpoints: a sensitive one means a credential is about to land in git), validates
the values with the `Infrastructure` model and writes the YAML file the loader reads.

Only the `infra` command uses this module (imported lazily): synth never reads `terraform/`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .infrastructure import Infrastructure

HEADER = """\
# yaml-language-server: $schema=infra.schema.json
# Terraform outputs for the {env} cluster, generated from `terraform output -json` (terraform/outputs.tf)
# by `python app.py infra --env {env} --from <file>`: do not edit by hand, re-run the import after
# `terraform apply`. Values are identifiers and endpoints only: credentials stay in Secrets Manager,
# referenced by name.
"""


class TerraformOutputError(ValueError):
    """Terraform outputs that cannot become an `Infrastructure`; one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def infrastructure_from_outputs(outputs: Any) -> dict[str, Any]:
    """The content of `environments/infra/<env>.yaml` from parsed `terraform output -json`.

    Every missing output, every sensitive one and every malformed value is reported at once;
    outputs that are not fields of `Infrastructure` are ignored.
    """
    if not isinstance(outputs, dict):
        raise TerraformOutputError([
            f"terraform outputs: expected the JSON object printed by `terraform output -json`, "
            f"got {type(outputs).__name__}"])
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name in Infrastructure.model_fields:
        entry = outputs.get(name)
        if entry is None and not Infrastructure.model_fields[name].is_required():
            continue  # an optional input whose output is null: Terraform omits null outputs
        if entry is None:
            problems.append(f"terraform output '{name}': missing (declare it in terraform/outputs.tf, "
                            f"then `terraform apply` and export again)")
            continue
        if not isinstance(entry, dict) or "value" not in entry:
            problems.append(f"terraform output '{name}': not in `terraform output -json` form "
                            f"(an object with 'sensitive', 'type' and 'value')")
            continue
        if entry.get("sensitive"):
            problems.append(f"terraform output '{name}': is sensitive; infrastructure outputs must be "
                            f"identifiers and endpoints, never credentials (drop `sensitive = true` or "
                            f"move the value to Secrets Manager)")
            continue
        values[name] = entry["value"]
    present = set(values)
    try:
        infra = Infrastructure.model_validate(values)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(err["loc"])
            if err["type"] == "missing" and len(loc) == 1 and loc[0] not in present:
                continue  # already reported above (missing, sensitive or malformed)
            problems.append(f"terraform output '{_path(loc)}': {err['msg']}")
        raise TerraformOutputError(problems) from None
    if problems:
        raise TerraformOutputError(problems)
    return infra.model_dump(mode="json")


def _ordered(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Fields in model order, free-form maps sorted by key: the file is stable across imports."""
    return {name: _ordered_value(field.annotation, data[name])
            for name, field in model.model_fields.items() if name in data}


def _ordered_value(annotation: Any, value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _ordered(annotation, value)
    args = getattr(annotation, "__args__", ())  # dict[K, V]: order V's fields too
    item = args[1] if len(args) == 2 else None
    return {k: _ordered_value(item, v) for k, v in sorted(value.items())}


def write_infra_yaml(env_name: str, infra: dict[str, Any], path: Path) -> Path:
    """Write `infra` (validated again here) to `path` with the header of the infra files."""
    data = Infrastructure.model_validate(infra).model_dump(mode="json")
    body = yaml.safe_dump(_ordered(Infrastructure, data), sort_keys=False, default_flow_style=False,
                          allow_unicode=True, width=10_000)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(HEADER.format(env=env_name) + body, encoding="utf-8")
    tmp.replace(path)
    return path


def import_outputs(env_name: str, outputs_path: Path, env_dir: Path) -> Path:
    """Read `terraform output -json` from `outputs_path`, write `env_dir/infra/<env>.yaml`.

    When `env_dir/<env>.yaml` exists, its `domain` must be covered by the certificate: outputs of
    another env's Terraform state are refused instead of silently replacing this env's inputs.
    """
    outputs_path = Path(outputs_path)
    try:
        outputs = json.loads(outputs_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TerraformOutputError([f"{outputs_path}: file not found"]) from None
    except json.JSONDecodeError as e:
        raise TerraformOutputError([f"{outputs_path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}"]) from None
    infra = infrastructure_from_outputs(outputs)
    env_file = Path(env_dir) / f"{env_name}.yaml"
    if env_file.exists():
        try:
            domain = (yaml.safe_load(env_file.read_text(encoding="utf-8")) or {}).get("domain")
        except (yaml.YAMLError, AttributeError):
            domain = None  # the env loader reports a broken env file with line numbers
        if isinstance(domain, str):
            missing = [d for d in (domain, f"*.{domain}") if d not in infra["certificate_domains"]]
            if missing:
                raise TerraformOutputError([
                    f"terraform output 'certificate_domains': {infra['certificate_domains']} does not cover "
                    f"{' and '.join(missing)} (domain of {env_file.name}); are these the outputs of "
                    f"another env's Terraform state?"])
    return write_infra_yaml(env_name, infra, Path(env_dir) / "infra" / f"{env_name}.yaml")
