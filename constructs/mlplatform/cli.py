"""Command line: `python app.py [command]` (`cdk8s synth` runs `python app.py`, i.e. `synth`).

Argument parsing and dispatch only: what each command does lives in `commands/` (and `synth.py`,
`envdiff.py`). Commands implemented outside the product (the benchmarks in `bench/`) come in as
`Command`s from the entry point (app.py), so the product never imports them.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .commands import err, files, gate, tables

HELP = """\
ML platform generator: environments/<env>.yaml -> validated dist/<env>/<component>/ + argocd/<env>/

commands:
  synth [--env E]...     render, validate and (if every object passes) write dist/ and argocd/ (default)
  check [--base REF]     the PR gate: fail if dist/, argocd/ or rendered/ in the working tree differ from a
                         fresh synth, or if the fresh dist/ and rendered/ change something destructively
                         against REF (default: merge base with main; skipped, with a note, when this clone
                         has no main); exit 2 if REF names no commit or has no dist/
  diff [--base REF]      field-level changes of dist/ vs a git ref (default: merge base with main), then
                         the destructive-change guard; exit 1 if changed, 2 if nothing could be compared
                         (unknown ref, missing or empty folder), 3 if something is destructive
  diff --dirs OLD NEW    ... or between two folders; --envs dev staging to narrow
                         --allow-destructive (check, diff): report but don't refuse -- for emergencies;
                         prefer guard.allow in the env file, so the reason is reviewed in the PR
  bom                    print the versions table (charts, CRDs, images)
  bom --mirror-list ENV  every image ENV pulls, as `<source> <mirror>` lines for a sync job (crane copy)
  components             print the component table (the README's, generated from the registry)
  infra --env E --from F write environments/infra/E.yaml from `terraform output -json` (F, or - for stdin)
  pins                   after a version moved in kit/versions.py: recompute the sha256 of every pinned
                         CRD/manifest file and the charts.lock entries (mirror or network), in place
  fetch                  fetch pinned CRDs and chart files into imports/upstream/ (mirror or network)
  schema                 regenerate environments/env.schema.json and environments/infra/infra.schema.json
  bench [--reps N]       time synth+validate of all envs against the jsii floor
  envdiff [ENV ...]      table of what differs between envs (GPU budgets, quotas, queues, models, hosts,
                         replicas, resources, components); --all for every fact, --markdown
  bench-scale            synth+validate of a synthetic platform (10 envs x 200 teams) at --factor 1 2 4
"""

# The order of the subcommands in `--help` (a command not listed goes last).
ORDER = ("synth", "infra", "components", "check", "diff", "bom", "pins", "fetch", "schema", "bench", "envdiff",
         "bench-scale")


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, its one-line help, what adds its arguments, and what it runs (-> exit code)."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _synth_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--env", action="append", metavar="ENV", help="only this env (repeatable)")
    s.add_argument("--out", help="output root (default: $CDK8S_OUTDIR or dist/); any other root also gets the Argo CD bootstrap under <root>/_argocd/ and the chart-render snapshots under <root>/_rendered/")
    s.add_argument("--dry-run", action="store_true", help="validate only, write nothing")
    s.add_argument("--env-dir", help="folder of env files (default: environments/)")


def _synth(a: argparse.Namespace) -> int:
    from .config.loader import ENV_DIR
    from .synth import synth
    out = Path(a.out) if a.out else None
    return synth(a.env or None, out, dry_run=a.dry_run, env_dir=Path(a.env_dir) if a.env_dir else ENV_DIR)


def _infra_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--env", required=True, help="the env whose inputs these outputs are")
    s.add_argument("--from", dest="source", required=True, metavar="FILE",
                   help="a file holding `terraform output -json` (- for stdin)")
    s.add_argument("--env-dir", help="folder of env files (default: environments/)")


_DESTRUCTIVE = ("report destructive changes but don't fail on them: for emergencies; prefer a guard.allow "
                "entry in the env file so the reason is reviewed in the PR")


def _check_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--base", help="git ref the guard compares with (default: merge base with main; "
                                  "skipped when there is none)")
    s.add_argument("--allow-destructive", action="store_true", help=_DESTRUCTIVE)


def _diff_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--base", help="git ref (default: merge base with main)")
    s.add_argument("--dirs", nargs=2, metavar=("OLD", "NEW"),
                   help="compare two dist/ folders (or synth output roots) instead of a git ref; each one's chart "
                        "renders are read from <dir>/_rendered/ or the rendered/ beside it")
    s.add_argument("--envs", nargs="+", metavar="ENV", help="only these envs (default: every env on either side)")
    s.add_argument("--env-dir", help="folder of env files whose guard: settings apply (default: environments/)")
    s.add_argument("--allow-destructive", action="store_true", help=_DESTRUCTIVE)


def _bom_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--json", action="store_true", help="a JSON list of {type, name, version, source} instead of a table")
    s.add_argument("--mirror-list", metavar="ENV", help="every image ENV pulls as `<source> <mirror>` lines, for the "
                   "job that fills its registry mirror (registry: in the env file)")


def _no_args(s: argparse.ArgumentParser) -> None:
    pass


def _envdiff_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("envs", nargs="*", metavar="ENV", help="envs to compare, in column order (default: all)")
    s.add_argument("--all", action="store_true", help="every fact, not only those that differ")
    s.add_argument("--markdown", action="store_true", help="a Markdown table instead of fixed-width columns")
    s.add_argument("--section", action="append", metavar="S",
                   help="only this section (repeatable): env, components, versions, hosts, gpu, quotas, queues, "
                        "node pools, serving, notebooks, replicas, resources")
    s.add_argument("--env-dir", help="folder of env files (default: environments/)")


def _envdiff(a: argparse.Namespace) -> int:
    from .envdiff import run
    return run(a.envs, all_rows=a.all, markdown=a.markdown, sections=a.section,
               env_dir=Path(a.env_dir) if a.env_dir else None)


COMMANDS: tuple[Command, ...] = (
    Command("synth", "render, validate and write dist/ and argocd/", _synth_args, _synth),
    Command("infra", "write environments/infra/<env>.yaml from `terraform output -json`", _infra_args,
            files.infra),
    Command("components", "print the component table (as in the README)", _no_args, tables.components),
    Command("check", "fail if dist/, argocd/ or rendered/ in the working tree differ from a fresh synth, or the "
                     "fresh synth changes something destructively against the base ref",
            _check_args, gate.check_command),
    Command("diff", "field-level diff of dist/ against a git ref or between two folders, then the "
                    "destructive-change guard (exit 0 same, 1 changed, 3 destructive)", _diff_args, gate.diff),
    Command("bom", "print the versions table", _bom_args, tables.bom),
    Command("pins", "refresh the hashes that follow a version (CRD/manifest sha256s, charts.lock)", _no_args,
            files.pins),
    Command("fetch", "fetch pinned upstream files into imports/upstream/", _no_args, files.fetch),
    Command("schema", "regenerate the env JSON Schemas", _no_args, files.schema),
    Command("envdiff", "table of the meaningful differences between envs (from rendered envs)", _envdiff_args,
            _envdiff),
)


def parser(extra: Iterable[Command] = ()) -> argparse.ArgumentParser:
    """The parser of every command: ours plus `extra` (commands implemented outside the product)."""
    p = argparse.ArgumentParser(prog="python app.py", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="command")
    commands = {c.name: c for c in (*COMMANDS, *extra)}
    for name in sorted(commands, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        c = commands[name]
        s = sub.add_parser(c.name, help=c.help)
        c.arguments(s)
        s.set_defaults(func=c.run)
    return p


def main(argv: list[str] | None = None, extra: Iterable[Command] = ()) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = parser(extra)
    if argv and argv[0] == "--env":  # `python app.py --env staging` == `python app.py synth --env staging`
        argv = ["synth", *argv]
    a = p.parse_args(argv or ["synth"])
    if not getattr(a, "func", None):
        a = p.parse_args(["synth", *argv])
    try:
        return a.func(a)
    except KeyboardInterrupt:
        err("interrupted; dist/ was left as it was")
        return 130
    except BrokenPipeError:  # e.g. `python app.py bom | head`
        sys.stderr.close()
        return 0
