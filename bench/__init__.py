"""Benchmarks of the generator, outside the product: they import `mlplatform`; nothing in it imports them.

`synth.py` times synth+validate of the real envs against the floor every synth pays (`python app.py
bench`); `scale.py` builds a synthetic platform far larger than ours and times it (`python app.py
bench-scale`). `COMMANDS` are those subcommands: app.py hands them to the command line.
"""
from __future__ import annotations

from mlplatform.cli import Command

from . import scale, synth

COMMANDS: tuple[Command, ...] = (
    Command("bench", "time synth+validate against the floor every synth pays (one run, progress on stderr)",
            synth.arguments, synth.main),
    Command("bench-scale", "synth+validate of a synthetic platform at several scales", scale.arguments, scale.main),
)
