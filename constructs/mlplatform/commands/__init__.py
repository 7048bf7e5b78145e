"""What the `python app.py` subcommands do; `cli.py` parses the arguments and dispatches here.

Each command is a function of the parsed arguments (`argparse.Namespace`) that returns the exit
code, and reports on stderr through `err`. `gate` holds the PR gate and the diffs (`check`,
`diff`), `tables` what prints a table (`bom`, `components`), `files` what writes files in the
checkout (`pins`, `fetch`, `schema`, `infra`). The benchmarks live outside the product (`bench/`).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def err(msg: str) -> None:
    print(msg, file=sys.stderr)
