"""Secrets by reference only: a real secret scanner (detect-secrets) over everything we commit or
emit, and the planted secret it must find. `scan` is also used by other tests (chart values)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


SCANNER = Path(sys.executable).with_name("detect-secrets")


# The keyword plugin flags any value of a key containing "secret" (`credentials_secret`,
# `secrets_manager_prefix`, `external_secrets` role): ours are Secrets Manager *names* and IAM
# ARNs -- references by design. Exactly those value shapes are exempt; anything else fails.
REFERENCE = r"^(arn:aws[a-z-]*:[^\s]+|[a-z0-9-]+/([a-z0-9-]+/?)*)$"


# Lines that *name* a secret: an ExternalSecret's target keys, the Keycloak CR's bootstrap-admin
# Secret name, a Secret volume's `secretName`, chart values naming a Secret (`existingSecret`, `credentialsSecret`, `image_pull_secret`,
# `metadataSecretName`, ...: a DNS-label value, which the cross-checks require an ExternalSecret
# to create), our content hashes (`platform.mlops.io/<what>-sha256`, flagged for entropy), and
# the Hugging Face commit ids that pin served model weights (`revision:`, `--revision=`).
# (The scanner's YAML reader quotes values before matching, hence the optional quotes.)
NAMING_LINES = (r'^\s*(- )?secretKey: "?[-._a-zA-Z0-9]+"?$|^\s*secret: "?[a-z0-9-]+"?$'
                r'|^\s*[A-Za-z_]*[Ss]ecret(Name)?: "?[a-z0-9]([-a-z0-9]*[a-z0-9])?"?$'
                r'|^\s*platform\.mlops\.io/[a-z0-9-]+-sha256: "?[0-9a-f]{64}"?$'
                r'|^\s*(- )?"?(--)?revision[:=] ?"?[0-9a-f]{40}"?(\s+#.*)?$')


def scan(*paths: Path) -> dict[str, list[dict]]:
    base = paths[0].parent  # the scanner skips paths outside its working directory
    out = subprocess.run([str(SCANNER), "scan", "--all-files", "--exclude-secrets", REFERENCE,
                          "--exclude-lines", NAMING_LINES, *(str(p.relative_to(base)) for p in paths)],
                         cwd=base, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["results"]


def test_no_secret_in_dist_argocd_or_environments():
    found = scan(ROOT / "dist", ROOT / "argocd", ROOT / "environments")
    assert found == {}, {f: [(x["type"], x["line_number"]) for x in v] for f, v in found.items()}


def test_scanner_catches_a_planted_secret(tmp_path):
    """The scan above can fail: a literal credential in an env file is found."""
    d = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", d)
    (d / "dev.yaml").write_text((d / "dev.yaml").read_text() + 'db_password: "Str0ngP0stge-pas_w0rd"\n'
                                "aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    found = scan(d)
    assert any(f.endswith("dev.yaml") for f in found), found
