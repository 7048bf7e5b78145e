"""Issue 14 item 12: ./setup.sh (warm) shows one line per step and nothing else; tools' output
goes to setup.log."""
import subprocess

from conftest import ROOT


def test_setup_prints_one_line_per_step():
    run = subprocess.run(["./setup.sh"], cwd=ROOT, env={**__import__("os").environ, "SETUP_ONLY": "1"},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = (run.stdout + run.stderr).splitlines()
    assert 3 <= len(lines) <= 8 and all(line.startswith("setup: ") for line in lines), lines
