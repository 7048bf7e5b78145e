#!/usr/bin/env bash
# One command for a fresh machine (Python 3.11+, Node 20+, package registries):
# creates .venv with pinned deps (+ .venv-checkov for the Terraform scanner), installs the pinned cdk8s CLI, fetches the pinned upstream
# files (mirror or network), and synthesizes every environment into dist/ and argocd/.
# SETUP_ONLY=1 stops before the synth (used by ./test.sh).
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing pinned Python packages" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
  echo "$want" > "$stamp"
fi
if command -v npm >/dev/null 2>&1; then
  if [ ! -x node_modules/.bin/cdk8s ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing the pinned cdk8s CLI (package-lock.json)" >&2
    npm ci --silent --no-audit --no-fund >/dev/null
  fi
else
  echo "setup: npm not found: the cdk8s CLI is optional (python app.py does the same)" >&2
fi
# checkov (static checks of terraform/) lives in its own venv: its pins clash with ours.
scripts/setup-checkov.sh
scripts/setup-prometheus.sh  # promtool: tests/test_prometheus_rules.py checks every emitted rule with it
.venv/bin/python app.py fetch
if [ "${SETUP_ONLY:-0}" != "1" ]; then
  .venv/bin/python app.py synth
fi
