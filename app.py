#!/usr/bin/env python3
"""Entry point for `cdk8s synth` (cdk8s.yaml: `app: python app.py`) and `python app.py <command>`.

The project's package lives under constructs/ (a source root, not a package: a top-level
package named `constructs` would shadow the `constructs` library cdk8s needs).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "constructs"))

from mlplatform.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
