#!/usr/bin/env python3
"""Entry point for `cdk8s synth` (cdk8s.yaml: `app: python app.py`) and `python app.py <command>`.

The project's package lives under constructs/ (a source root, not a package: a top-level
package named `constructs` would shadow the `constructs` library cdk8s needs). The benchmarks
(`bench/`, beside it at the repo root) import the product, never the other way round: this entry
point hands their commands to the CLI. When started by an interpreter other than the project's
.venv (e.g. `python` on PATH via the cdk8s CLI), it re-executes itself with .venv/bin/python so
the pinned dependencies are used.
"""
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_PY = HERE / ".venv" / "bin" / "python"

if VENV_PY.exists() and Path(sys.prefix).resolve() != (HERE / ".venv").resolve() \
        and not os.environ.get("MLP_NO_REEXEC"):
    os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *sys.argv[1:]])

sys.path[:0] = [str(HERE / "constructs"), str(HERE)]  # the product, and bench/ at the repo root

import bench  # noqa: E402  (the benchmark commands)
from mlplatform.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(extra=bench.COMMANDS))
