#!/usr/bin/env bash
# The whole test suite, offline: sets up what it needs (same as ./setup.sh without the synth),
# then runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
SETUP_ONLY=1 ./setup.sh
# Every check runs here: the Terraform scan must not skip because checkov is missing.
export MLP_REQUIRE_CHECKOV=1
# ...and the promtool/Prometheus tests must not skip because the binaries are missing.
export MLP_REQUIRE_PROMETHEUS=1
exec .venv/bin/python -m pytest "$@"
