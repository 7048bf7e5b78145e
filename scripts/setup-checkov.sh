#!/usr/bin/env bash
# Install checkov (the Terraform scanner of tests/test_terraform.py) into .venv-checkov from
# requirements-checkov.lock. A venv of its own: checkov pins many packages that would conflict
# with the generator's requirements.lock. Idempotent: reinstalls only when the lock changes
# (its sha256 is stamped in the venv, as setup.sh does for .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
venv=.venv-checkov
lock=requirements-checkov.lock
stamp="$venv/.requirements.sha256"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-checkov: creating $venv" >&2
  "$PY" -m venv "$venv"
fi
want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup-checkov: installing pinned checkov ($lock)" >&2
  "$venv/bin/python" -m pip install --quiet --quiet --disable-pip-version-check -r "$lock"
  echo "$want" > "$stamp"
fi
