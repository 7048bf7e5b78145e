"""Commands that print a table: `bom` (the versions table) and `components` (the README's component table)."""
from __future__ import annotations

import argparse
import json
import sys


def mirror_list(name: str) -> int:
    """`bom --mirror-list ENV`: `<source> <mirror>` per image the env pulls, for a sync job."""
    from ..config.loader import EnvError, load_env
    from ..plan import render
    from ..validate.mirror import mirror_list as pairs

    try:
        env = load_env(name)
    except EnvError as e:
        print("\n".join(e.problems), file=sys.stderr)
        return 1
    if not env.registry.enabled:
        print(f"env {name} has no registry mirror (registry.prefix / registry.sources)", file=sys.stderr)
        return 2
    copy, exempt = pairs(render(env))
    print(f"# env {name}: every image it pulls, source -> mirror (e.g. `crane copy SRC DST` per line)")
    for src, dst in copy:
        print(f"{src}\t{dst}")
    for src, why in exempt:
        print(f"# exempt, pulled from its source: {src}: {why}")
    return 0


def bom(a: argparse.Namespace) -> int:
    if getattr(a, "mirror_list", None):
        return mirror_list(a.mirror_list)
    from ..kit.versions import KNOWN_STALE, bom_rows
    rows = [(t, n, v + (" (STALE)" if (t, n) in KNOWN_STALE else ""), s) for t, n, v, s in bom_rows()]
    if a.json:
        print(json.dumps([dict(zip(("type", "name", "version", "source"), r)) for r in rows], indent=2))
        return 0
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"{'TYPE':<{w[0]}}  {'NAME':<{w[1]}}  {'VERSION':<{w[2]}}  SOURCE")
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}")
    print("\nknown stale (why they can't move yet):")
    for (t, n), why in sorted(KNOWN_STALE.items()):
        print(f"  {t} {n}: {why}")
    return 0


def components_table() -> str:
    """The README's component table (markdown), from the registry and the versions table."""
    from ..components import COMPONENTS
    from ..config.loader import env_names, load_env
    from ..kit import versions

    env = load_env(env_names()[0])
    rows = ["| component (`dist/<env>/…`, Application `<env>-…`) | what | installs | unit |",
            "|---|---|---|---|"]
    for c in COMPONENTS:
        rel = c.helm(env) if c.helm else None
        up = c.upstream(env) if c.upstream else None
        if rel is not None:
            ch = versions.CHARTS[rel.chart]
            src = f"chart `{ch.name}` **{ch.version}** (app {ch.app_version or 'n/a'}) → `{rel.namespace}`"
        elif up is not None:
            m = versions.MANIFESTS[up.source]
            src = f"upstream manifests `{m.name}` **{m.revision}**" + (f" → `{up.namespace}`" if up.namespace else "")
        else:
            src = "objects in `dist/`"
        module = f"`components/{c.name.replace('-', '_')}/`"
        rows.append(f"| `{c.name}` | {c.description} | {src} | {module} |")
    return "\n".join(rows) + "\n"


def components(a: argparse.Namespace) -> int:
    sys.stdout.write(components_table())
    return 0
