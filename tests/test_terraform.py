"""The Terraform boundary: terraform/ makes the base infrastructure, its outputs become
environments/infra/<env>.yaml (config/terraform.py), and the generator never reads terraform/.

`terraform` itself is not available here, so the configuration is checked statically: parsed
with python-hcl2 (outputs, secrets, references, tfvars against the env files) and scanned with
checkov from its own venv (.venv-checkov, scripts/setup-checkov.sh).
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hcl2 import SerializationOptions

from mlplatform.config.loader import load_env
from mlplatform.config.infrastructure import Database, Efs, IamRoles, Infrastructure
from mlplatform.config.terraform import (
    TerraformOutputError,
    import_outputs,
    infrastructure_from_outputs,
    write_infra_yaml,
)
from mlplatform.kit.secrets import catalog, database_key, remote_name

ROOT = Path(__file__).resolve().parents[1]
TF = ROOT / "terraform"
ENVS = ROOT / "environments"
SAMPLE = ROOT / "tests" / "data" / "terraform-output.dev.json"
PACKAGE = ROOT / "constructs" / "mlplatform"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

# Findings suppressed inline (`#checkov:skip=<id>:<why>`); a new one is a reviewed change here.
ALLOWED_SKIPS = {
    "CKV2_AWS_57": "aws_secretsmanager_secret.platform",
    "CKV_AWS_18": "aws_s3_bucket.workloads",
    "CKV_AWS_144": "aws_s3_bucket.workloads",
    "CKV2_AWS_38": "aws_route53_zone.this",
    "CKV2_AWS_39": "aws_route53_zone.this",
    "CKV_AWS_31": "aws_elasticache_replication_group.ray",
}

_OPTS = SerializationOptions(with_comments=False, strip_string_quotes=True, explicit_blocks=False)


def _parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        return hcl2.load(f, serialization_options=_OPTS)


@pytest.fixture(scope="module")
def tf() -> dict[str, dict[str, Any]]:
    files = sorted(TF.glob("*.tf"))
    assert files, "terraform/*.tf missing"
    return {p.name: _parse(p) for p in files}


@pytest.fixture(scope="module")
def tfvars() -> dict[str, dict[str, Any]]:
    return {p.name.removesuffix(".tfvars"): _parse(p) for p in sorted((TF / "envs").glob("*.tfvars"))}


def _labelled(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    """{label: body} of single-label blocks (output, variable)."""
    return {name: body for block in doc.get(kind, []) for name, body in block.items()}


def _typed(doc: dict[str, Any], kind: str) -> dict[tuple[str, str], Any]:
    """{(type, name): body} of two-label blocks (resource, data)."""
    return {(t, n): body for block in doc.get(kind, []) for t, named in block.items() for n, body in named.items()}


def _locals(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for block in doc.get("locals", []) for k, v in block.items()}


def _all(tf: dict[str, dict[str, Any]], fn, kind: str | None = None) -> dict:
    out: dict = {}
    for doc in tf.values():
        out.update(fn(doc, kind) if kind else fn(doc))
    return out


def _strings(node: Any):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def _infra(env: str) -> dict[str, Any]:
    return yaml.safe_load((ENVS / "infra" / f"{env}.yaml").read_text(encoding="utf-8"))


def _env_names() -> list[str]:
    return sorted(p.stem for p in ENVS.glob("*.yaml"))


def _sample() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ (a) outputs.tf = Infrastructure
def test_every_infrastructure_field_is_an_output_of_the_same_shape(tf):
    outputs = _labelled(tf["outputs.tf"], "output")
    fields = set(Infrastructure.model_fields)
    assert not fields - set(outputs), f"fields of Infrastructure without an output: {sorted(fields - set(outputs))}"
    for name in fields:
        assert not outputs[name].get("sensitive"), f"output {name} is sensitive: the importer refuses it"
    assert set(outputs["roles"]["value"]) == set(IamRoles.model_fields)
    assert set(outputs["efs"]["value"]) == set(Efs.model_fields)
    # databases is a for expression: `{for db in ... : db => {host = ..., port = ..., ...}}`
    expr = outputs["databases"]["value"]
    body = expr[expr.index("=>"):]
    assert set(re.findall(r"(\w+)\s*=(?!=)", body)) == set(Database.model_fields), expr
    # Outputs live in outputs.tf only, so the contract is read in one place.
    for name, doc in tf.items():
        if name != "outputs.tf":
            assert not doc.get("output"), f"terraform/{name} declares outputs; keep them in outputs.tf"


# ------------------------------------------------------------------------------ (b) the sample round-trips
def test_sample_output_round_trips_to_the_dev_infra_file():
    expected = Infrastructure.model_validate(_infra("dev")).model_dump(mode="json")
    assert infrastructure_from_outputs(_sample()) == expected


def test_import_writes_a_file_the_loader_reads_back(env_dir, envs):
    path = import_outputs("dev", SAMPLE, env_dir)
    assert path == env_dir / "infra" / "dev.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=infra.schema.json\n")
    assert "generated from `terraform output -json`" in text
    assert load_env("dev", env_dir) == envs["dev"]
    # stable: the same outputs give the same bytes, whatever order Terraform printed them in
    shuffled = dict(reversed(list(_sample().items())))
    write_infra_yaml("dev", infrastructure_from_outputs(shuffled), path)
    assert path.read_text(encoding="utf-8") == text
    keys = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith((" ", "#", "-"))]
    assert keys == list(Infrastructure.model_fields)


# ------------------------------------------------------------------------------ (c) clear errors
def _problems(outputs: dict[str, Any]) -> list[str]:
    with pytest.raises(TerraformOutputError) as e:
        infrastructure_from_outputs(outputs)
    assert str(e.value) == "\n".join(e.value.problems)
    return e.value.problems


def test_a_missing_output_is_named():
    out = _sample()
    del out["route53_zone_id"]
    problems = _problems(out)
    assert len(problems) == 1
    assert problems[0].startswith("terraform output 'route53_zone_id': missing")


def test_a_malformed_output_is_named_with_its_field_path():
    out = _sample()
    out["efs"]["value"]["access_point_id"] = "ap-123"
    assert _problems(out) == [
        "terraform output 'efs.access_point_id': String should match pattern '^fsap-[0-9a-f]{8,17}$'"]


def test_every_problem_is_listed_at_once():
    out = _sample()
    del out["vpc_id"], out["karpenter_node_role"]
    out["certificate_arn"]["sensitive"] = True
    out["databases"]["value"]["mlflow"]["port"] = 70000
    out["roles"]["value"].pop("workloads_s3")
    out["account_id"] = "111111111111"  # a bare value, not `terraform output -json` form
    problems = _problems(out)
    missing = "missing (declare it in terraform/outputs.tf, then `terraform apply` and export again)"
    assert problems[:4] == [
        "terraform output 'account_id': not in `terraform output -json` form (an object with 'sensitive', 'type' and 'value')",
        f"terraform output 'vpc_id': {missing}",
        "terraform output 'certificate_arn': is sensitive; infrastructure outputs must be identifiers and endpoints, "
        "never credentials (drop `sensitive = true` or move the value to Secrets Manager)",
        f"terraform output 'karpenter_node_role': {missing}",
    ]
    assert sorted(problems[4:]) == [
        "terraform output 'databases.mlflow.port': Input should be less than or equal to 65535",
        "terraform output 'roles.workloads_s3': Field required",
    ]


def test_unknown_outputs_are_ignored_even_sensitive_ones():
    out = _sample()
    out["cluster_endpoint"] = {"sensitive": False, "type": "string", "value": "https://example.eks.amazonaws.com"}
    out["kubeconfig"] = {"sensitive": True, "type": "string", "value": "secret"}
    assert infrastructure_from_outputs(out) == infrastructure_from_outputs(_sample())


def test_an_extra_key_inside_a_nested_output_is_refused():
    out = _sample()
    out["roles"]["value"]["ebs_csi_driver"] = "arn:aws:iam::111111111111:role/ml-dev-ebs-csi-driver"
    assert _problems(out) == ["terraform output 'roles.ebs_csi_driver': Extra inputs are not permitted"]


def test_import_refuses_bad_json_and_another_envs_outputs(env_dir, tmp_path):
    bad = tmp_path / "out.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(TerraformOutputError, match=r"out\.json:1:2: not valid JSON"):
        import_outputs("dev", bad, env_dir)
    with pytest.raises(TerraformOutputError, match="file not found"):
        import_outputs("dev", tmp_path / "missing.json", env_dir)
    before = (env_dir / "infra" / "staging.yaml").read_bytes()
    with pytest.raises(TerraformOutputError, match=r"does not cover staging\.mlplatform\.example\.com"):
        import_outputs("staging", SAMPLE, env_dir)  # dev's outputs
    assert (env_dir / "infra" / "staging.yaml").read_bytes() == before


# ------------------------------------------------------------------------------ (d) secrets.tf = the catalog
def test_every_secret_the_generator_references_is_declared_and_nothing_else(tf):
    doc = tf["secrets.tf"]
    loc = _locals(doc)
    declared = set(loc["platform_credentials"]) | {database_key(db) for db in loc["platform_databases"]}
    referenced = set(catalog())
    for env in _env_names():
        referenced |= {database_key(db) for db in _infra(env).get("databases", {})}
    assert declared == referenced, (
        f"only in terraform/secrets.tf: {sorted(declared - referenced)}; "
        f"only in the generator: {sorted(referenced - declared)}")
    # ... and secrets.tf really creates one secret per key, named <prefix><key>
    assert 'rds/${db}' in loc["platform_secrets"] and "local.platform_credentials" in loc["platform_secrets"]
    secret = _typed(doc, "resource")[("aws_secretsmanager_secret", "platform")]
    assert secret["for_each"] == "${local.platform_secrets}"
    assert secret["name"] == "${local.secrets_prefix}${each.key}"
    assert secret["kms_key_id"] == "${aws_kms_key.secrets.arn}"
    assert loc["secrets_prefix"] == "${local.name}/"
    # the infra files name the database secrets exactly as External Secrets will look them up
    for env in _env_names():
        infra = _infra(env)
        for db, spec in infra.get("databases", {}).items():
            assert spec["credentials_secret"] == remote_name(infra["secrets_manager_prefix"], database_key(db))


def _keys(node: Any):
    if isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from _keys(v)
    elif isinstance(node, list):
        for v in node:
            yield from _keys(v)


def test_terraform_holds_no_secret_value(tf):
    resources = _all(tf, _typed, "resource")
    assert not [r for r in resources if r[0] == "aws_secretsmanager_secret_version"]
    forbidden = {"secret_string", "secret_binary", "secret_string_wo", "password", "password_wo",
                 "master_password", "master_user_password"}
    for name, doc in tf.items():
        assert not forbidden & set(_keys(doc)), f"terraform/{name} sets a secret value"
    assert resources[("aws_db_instance", "platform")]["manage_master_user_password"] is True
    comment = " ".join(line.lstrip("# ") for line in (TF / "secrets.tf").read_text(encoding="utf-8").splitlines())
    assert "values are set outside git" in comment.lower()


# ------------------------------------------------------------------------------ (e) the generator never reads terraform/
def _imported(node: ast.AST) -> list[str]:
    """Module names an import statement loads (relative ones keep their dots)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = "." * node.level + (node.module or "")
        sep = "." if node.module else ""
        return [base] + [f"{base}{sep}{a.name}" for a in node.names]
    return []


_TERRAFORM_IMPORT = re.compile(r"(^|\.)terraform$|^hcl2(\.|$)")


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def test_no_generator_module_imports_or_reads_terraform():
    importer = PACKAGE / "config" / "terraform.py"
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == importer:
            continue
        rel = path.relative_to(PACKAGE)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # the `infra` command (commands/files.py) may import config.terraform inside its function (lazily),
        # nothing else may
        nodes = tree.body if rel.as_posix() == "commands/files.py" else list(ast.walk(tree))
        for node in nodes:
            for name in _imported(node):
                assert not _TERRAFORM_IMPORT.search(name), f"{rel}:{node.lineno}: imports {name}"
        if path.name == "cli.py":
            continue  # its help text may name the folder
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                assert not re.search(r"(^|[/\\])terraform([/\\]|$)", node.value), (
                    f"{rel}:{node.lineno}: refers to the terraform/ folder: {node.value!r}")


def test_loading_the_cli_does_not_load_the_terraform_importer():
    code = ("import sys, mlplatform.cli, mlplatform.config.loader, mlplatform.config.models; "
            "print(sorted(m for m in sys.modules if m == 'mlplatform.config.terraform' or m.startswith('hcl2')))")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "constructs"), "MLP_NO_REEXEC": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------ coherence of terraform/ itself
_REF = {
    "var": re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)"),
    "local": re.compile(r"(?<![\w.])local\.([A-Za-z_][\w-]*)"),
    "data": re.compile(r"(?<![\w.])data\.([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)"),
    "resource": re.compile(r"(?<![\w.:/-])(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)"),
}


def test_every_reference_resolves_and_every_declaration_is_used(tf):
    variables = _all(tf, _labelled, "variable")
    locals_ = _all(tf, _locals)
    resources = _all(tf, _typed, "resource")
    data = _all(tf, _typed, "data")
    used: dict[str, set] = {k: set() for k in _REF}
    for doc in tf.values():
        for s in _strings(doc):
            if "${" not in s:
                continue
            used["var"] |= set(_REF["var"].findall(s))
            used["local"] |= set(_REF["local"].findall(s))
            used["data"] |= set(_REF["data"].findall(s))
            used["resource"] |= set(_REF["resource"].findall(s))
    assert used["var"] <= set(variables), f"undeclared variables: {sorted(used['var'] - set(variables))}"
    assert used["local"] <= set(locals_), f"undefined locals: {sorted(used['local'] - set(locals_))}"
    assert used["data"] <= set(data), f"undeclared data sources: {sorted(used['data'] - set(data))}"
    assert used["resource"] <= set(resources), f"undeclared resources: {sorted(used['resource'] - set(resources))}"
    assert set(variables) <= used["var"], f"unused variables: {sorted(set(variables) - used['var'])}"
    assert set(locals_) <= used["local"], f"unused locals: {sorted(set(locals_) - used['local'])}"
    assert set(data) <= used["data"], f"unused data sources: {sorted(set(data) - used['data'])}"


def test_the_boundary_holds(tf):
    """Terraform makes AWS resources only; Kubernetes objects belong to the generator."""
    versions = tf["versions.tf"]["terraform"][0]
    providers = {k: v for p in versions["required_providers"] for k, v in p.items()}
    assert set(providers) == {"aws"} and providers["aws"]["version"].startswith("~> ")
    assert re.fullmatch(r">= 1\.\d+\.\d+", versions["required_version"])
    for name, doc in tf.items():
        assert set(doc.get("provider", [{}])[0]) <= {"aws"}, name
        assert not doc.get("module"), f"{name}: modules are not used (plain resources, checked here)"
        for (rtype, rname) in _typed(doc, "resource"):
            assert rtype.startswith("aws_"), f"{name}: {rtype}.{rname} is not an AWS resource"
    resources = _all(tf, _typed, "resource")
    cluster = resources[("aws_eks_cluster", "this")]
    assert "compute_config" not in cluster, "EKS Auto Mode: this platform runs self-managed Karpenter"
    assert cluster["encryption_config"][0]["resources"] == ["secrets"]
    assert resources[("aws_eks_node_group", "system")]["labels"] == "${var.system_node_labels}"
    ap = resources[("aws_efs_access_point", "shared")]
    # uid 1000 / gid 100 enforced unless an env lets directory identities through (efs_shared_posix_user = null)
    variables = _all(tf, _labelled, "variable")
    assert variables["efs_shared_posix_user"]["default"] == {"uid": 1000, "gid": 100}
    (enforced,) = ap["dynamic"]
    assert set(enforced) == {"posix_user"} and "var.efs_shared_posix_user == null ? []" in enforced["posix_user"]["for_each"]
    root = ap["root_directory"][0]
    assert root["path"] == "/shared"
    assert root["creation_info"][0]["permissions"] == '${var.efs_shared_posix_user == null ? "1777" : "0770"}'
    db = resources[("aws_db_instance", "platform")]
    assert db["manage_master_user_password"] is True and db["storage_encrypted"] is True
    assert db["publicly_accessible"] is False and db["deletion_protection"] is True


def test_tfvars_agree_with_the_env_files(tf, tfvars):
    """envs/<env>.tfvars make the cluster that environments/infra/<env>.yaml describes."""
    variables = _all(tf, _labelled, "variable")
    required = {n for n, v in variables.items() if "default" not in v}
    loc = _all(tf, _locals)
    role_names = {k: v["role"] for k, v in loc["irsa"].items()}
    assert sorted(tfvars) == _env_names()
    for env, tv in tfvars.items():
        assert set(tv) <= set(variables), f"{env}.tfvars: unknown variables {sorted(set(tv) - set(variables))}"
        assert required <= set(tv), f"{env}.tfvars: unset required variables {sorted(required - set(tv))}"
        spec = yaml.safe_load((ENVS / f"{env}.yaml").read_text(encoding="utf-8"))
        infra = _infra(env)
        cluster, account = tv["cluster_name"], tv["account_id"]

        def sub(s: str, cluster: str = cluster) -> str:
            return s.replace("${local.name}", cluster)

        assert tv["env"] == env and tv["domain"] == spec["domain"]
        assert tv["kubernetes_version"] == str(spec["kubernetes_version"])
        for key in ("cluster_name", "region", "account_id", "vpc_cidr"):
            assert tv[key] == infra[key], f"{env}: {key}"
        assert infra["certificate_domains"] == [spec["domain"], f"*.{spec['domain']}"]
        assert infra["secrets_manager_prefix"] == sub(loc["secrets_prefix"])
        for key in ("private_subnet_tags", "public_subnet_tags", "node_security_group_tags"):
            assert infra[key] == {k: sub(v) for k, v in loc[key].items()}, f"{env}: {key}"
        assert infra["system_node_labels"] == tv.get("system_node_labels", variables["system_node_labels"]["default"])
        assert infra["karpenter_node_role"] == f"{cluster}-karpenter-node"
        assert infra["karpenter_interruption_queue"] == f"{cluster}-karpenter"
        for key, arn in infra["roles"].items():
            assert arn == f"arn:aws:iam::{account}:role/{sub(role_names[key])}", f"{env}: roles.{key}"
        assert infra["certificate_arn"].startswith(f"arn:aws:acm:{tv['region']}:{account}:certificate/")


# ------------------------------------------------------------------------------ (f) checkov
def test_checkov_skips_are_inline_justified_and_known():
    found: dict[str, str] = {}
    for path in sorted(TF.glob("*.tf")):
        resource = None
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.match(r'resource "(\w+)" "(\w+)"', line)
            if m:
                resource = f"{m[1]}.{m[2]}"
            if "checkov:skip" in line:
                m = re.fullmatch(r"\s*#checkov:skip=(CKV2?_AWS_\d+):(.+)", line)
                assert m, f"{path.name}: malformed skip: {line.strip()}"
                assert len(m[2].split()) >= 12, f"{path.name}: {m[1]}: justify the skip concretely"
                found[m[1]] = resource
    assert found == ALLOWED_SKIPS


def test_checkov_finds_nothing():
    if not CHECKOV.exists():
        if os.environ.get("MLP_REQUIRE_CHECKOV"):
            pytest.fail(f"{CHECKOV.relative_to(ROOT)} missing and MLP_REQUIRE_CHECKOV is set: run scripts/setup-checkov.sh")
        pytest.skip("checkov is not installed (.venv-checkov): run scripts/setup-checkov.sh; "
                    "set MLP_REQUIRE_CHECKOV=1 to make this a failure")
    start = time.monotonic()
    # --skip-download: no calls to the vendor's API (offline, and faster)
    run = subprocess.run([str(CHECKOV), "-d", str(TF), "--framework", "terraform", "--quiet", "--compact",
                          "-o", "json", "--skip-download"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    elapsed = time.monotonic() - start
    assert run.returncode in (0, 1), f"checkov failed to run ({run.returncode}): {run.stderr[-2000:]}"
    reports = json.loads(run.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}): {c['check_name']}"
              for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    summary = [r.get("summary", {}) for r in reports]
    assert all(s.get("parsing_errors", 0) == 0 for s in summary), summary
    assert sum(s.get("passed", 0) for s in summary) > 0, summary
    assert not failed, "checkov findings (fix, or skip inline with a justification):\n" + "\n".join(failed)
    assert sum(s.get("skipped", 0) for s in summary) == len(ALLOWED_SKIPS), summary
    print(f"checkov: {summary} in {elapsed:.1f}s")


def test_infra_command_writes_the_env_inputs_and_reports_bad_outputs(tmp_path, env_dir):
    """`python app.py infra --env dev --from out.json`: the documented way Terraform outputs
    become the env's typed inputs; a missing output fails with its name, the file is untouched."""
    import subprocess
    import sys
    sample = ROOT / "tests" / "data" / "terraform-output.dev.json"
    (env_dir / "infra" / "dev.yaml").unlink()
    run = subprocess.run([sys.executable, str(ROOT / "app.py"), "infra", "--env", "dev", "--from", str(sample),
                          "--env-dir", str(env_dir)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "dev loads" in run.stderr and (env_dir / "infra" / "dev.yaml").is_file()
    broken = json.loads(sample.read_text())
    del broken["karpenter_interruption_queue"]
    bad = tmp_path / "out.json"
    bad.write_text(json.dumps(broken))
    before = (env_dir / "infra" / "dev.yaml").read_text()
    run = subprocess.run([sys.executable, str(ROOT / "app.py"), "infra", "--env", "dev", "--from", str(bad),
                          "--env-dir", str(env_dir)], capture_output=True, text=True)
    assert run.returncode == 1 and "karpenter_interruption_queue" in run.stderr
    assert (env_dir / "infra" / "dev.yaml").read_text() == before
