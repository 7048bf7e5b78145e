#!/usr/bin/env bash
# One command for a fresh machine (Python 3.11+, Node 20+, package registries):
# creates .venv with pinned deps (+ .venv-checkov for the Terraform scanner), installs the pinned cdk8s CLI, fetches the pinned upstream
# files (mirror or network), and synthesizes every environment into dist/ and argocd/.
# One line per step on stderr; every tool's own output goes to setup.log, whose tail is printed
# when a step fails. No root needed: only promtool (tests/components/test_prometheus_rules.py) comes from a
# Debian package; without root it is skipped with a note, and the synth works without it.
# SETUP_ONLY=1 stops before the synth (used by ./test.sh).
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
LOG=setup.log
: > "$LOG"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
PIP_QUIET=(--quiet --quiet --disable-pip-version-check --no-input)

step() {  # step "what" command...: one line, the command's output in $LOG
  local what=$1 t0=$SECONDS
  shift
  printf 'setup: %s ... ' "$what" >&2
  if "$@" >>"$LOG" 2>&1; then
    echo "ok ($((SECONDS - t0))s)" >&2
  else
    echo "FAILED; last lines of $LOG:" >&2
    tail -n 15 "$LOG" >&2
    exit 1
  fi
}

python_deps() {
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  local stamp=.venv/.requirements.sha256 want
  want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install "${PIP_QUIET[@]}" -r requirements.lock
    echo "$want" > "$stamp"
  fi
}

cdk8s_cli() {
  if [ ! -x node_modules/.bin/cdk8s ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --silent --no-audit --no-fund
  fi
}

step "Python packages (.venv, requirements.lock)" python_deps
if command -v npm >/dev/null 2>&1; then
  step "cdk8s CLI (package-lock.json)" cdk8s_cli
else
  echo "setup: npm not found: skipping the cdk8s CLI (optional: python app.py does the same)" >&2
fi
# checkov (static checks of terraform/) lives in its own venv: its pins clash with ours.
step "checkov (.venv-checkov, for tests/test_terraform.py and test_policy_scan.py)" scripts/setup-checkov.sh
# promtool: tests/components/test_prometheus_rules.py checks every emitted rule with it (Debian package: root).
if command -v promtool >/dev/null 2>&1; then
  echo "setup: promtool ... ok (on PATH)" >&2
elif [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then
  step "promtool (apt-get install prometheus, for tests/components/test_prometheus_rules.py)" scripts/setup-prometheus.sh
else
  echo "setup: promtool ... skipped (needs root: scripts/setup-prometheus.sh); only tests/components/test_prometheus_rules.py and the promtool checks of tests/components/test_monitoring.py need it" >&2
fi
step "pinned upstream files (app.py fetch)" .venv/bin/python app.py fetch
if [ "${SETUP_ONLY:-0}" != "1" ]; then
  step "synth every env (dist/, argocd/, rendered/)" .venv/bin/python app.py synth
fi
