#!/usr/bin/env python3
"""Check what the platform relies on in vLLM against a release's own sources (re-run on every bump).

    pip download vllm==<version> --no-deps -d /tmp/vllm     # the wheel (~240 MB: not in CI)
    .venv/bin/python scripts/vllm_facts.py --wheel /tmp/vllm/vllm-<version>-*.whl [--dist dist]

What it checks, reading only the wheel's Python sources (nothing is imported or run):
- every `vllm serve` flag we pass: the `"--flag"` literals of components/vllm/ and every flag in the
  args of the vLLM containers in dist/ exist in the release's argument parser (a literal `"--flag"`
  in an `add_argument`, or a field of a `*FrontendArgs` class, which vLLM turns into `--field-name`);
- every `vllm:` metric dist/ uses (PrometheusRules, the prometheus-adapter rule, dashboards): the
  release defines it (`name="vllm:..."`), of the kind the suffix implies (`_total` a counter,
  `_bucket`/`_sum`/`_count` a histogram), with the `model_name` label our selectors use;
- the image pin in kit/versions.py is this release (`v<version>`);
and prints the release's `gpu_memory_utilization` default (ServedModel leaves it unset by default).
Exit 0 when every fact holds, 1 otherwise (each missing fact on its own line).
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAG = re.compile(r'"(--[a-z][a-z0-9-]*)"')
METRIC = re.compile(r"vllm:[a-z0-9_]+")
DEFINED = re.compile(r"(_gauge_cls|_counter_cls|_histogram_cls|Gauge|Counter|Histogram)\(\s*name=\"(vllm:[a-z0-9_]+)\"")
KIND = {"_gauge_cls": "gauge", "Gauge": "gauge", "_counter_cls": "counter", "Counter": "counter",
        "_histogram_cls": "histogram", "Histogram": "histogram"}


class Release:
    """The facts of one vLLM wheel, read from its Python sources."""

    def __init__(self, sources: dict[str, str], version: str):
        self.version = version
        self.sources = sources
        self.flags: set[str] = set()
        for path, text in sources.items():
            if path.startswith(("vllm/engine/", "vllm/entrypoints/")):
                self.flags |= set(FLAG.findall(text))
                self.flags |= {"--" + f.replace("_", "-") for f in _frontend_fields(text)}
        self.metrics: dict[str, tuple[str, bool]] = {}  # name -> (kind, has model_name label)
        for path, text in sources.items():
            for m in DEFINED.finditer(text):
                window = text[m.end():m.end() + 600]
                labelled = "labelnames" in window.split(")")[0]
                self.metrics[m.group(2)] = (KIND[m.group(1)], labelled)
        self.model_name_label = any('"model_name"' in t for p, t in sources.items() if p.startswith("vllm/v1/metrics/"))

    @classmethod
    def from_wheel(cls, wheel: Path) -> "Release":
        with zipfile.ZipFile(wheel) as z:
            sources = {n: z.read(n).decode("utf-8", "replace") for n in z.namelist()
                       if n.startswith("vllm/") and n.endswith(".py")}
        m = re.match(r"vllm-([^-]+)-", wheel.name)
        return cls(sources, m.group(1) if m else "?")

    def gpu_memory_default(self) -> str:
        text = self.sources.get("vllm/config/cache.py", "")
        m = re.search(r"^\s*gpu_memory_utilization:[^\n]*", text, re.M)
        return m.group(0).strip() if m else "(not found in vllm/config/cache.py)"


def _frontend_fields(text: str) -> set[str]:
    if "FrontendArgs" not in text:
        return set()
    out: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef) and node.name.endswith("FrontendArgs"):
            out |= {s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}
    return out


def used_flags(dist: Path) -> set[str]:
    """Flags the vllm unit (components/vllm/) can pass, and those the vLLM containers in dist/ do pass."""
    import yaml
    unit = ROOT / "constructs" / "mlplatform" / "components" / "vllm"
    flags = {f for p in sorted(unit.glob("*.py")) for f in FLAG.findall(p.read_text())}
    for f in sorted(dist.glob("*/vllm/Deployment.*.k8s.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            for c in ((doc or {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []):
                if "vllm" in str(c.get("image", "")):
                    flags |= {a.split("=", 1)[0] for a in c.get("args") or [] if a.startswith("--")}
    return flags


def used_metrics(dist: Path) -> set[str]:
    return {m for f in dist.rglob("*.yaml") for m in METRIC.findall(f.read_text(errors="replace"))}


def problems(rel: Release, flags: set[str], metrics: set[str], image_tag: str) -> list[str]:
    out = [f"flag {f}: not an argument of `vllm serve` in vLLM {rel.version}" for f in sorted(flags - rel.flags)]
    for name in sorted(metrics):
        base, want = name, None
        for suffix, kind in (("_total", "counter"), ("_bucket", "histogram"), ("_sum", "histogram"), ("_count", "histogram")):
            if name.endswith(suffix) and name[: -len(suffix)] in rel.metrics:
                base, want = name[: -len(suffix)], kind
                break
        if base not in rel.metrics:
            out.append(f"metric {name}: vLLM {rel.version} defines no such metric")
            continue
        kind, labelled = rel.metrics[base]
        if want and kind != want:
            out.append(f"metric {name}: {base} is a {kind} in vLLM {rel.version}, not a {want}")
        if not labelled:
            out.append(f"metric {name}: {base} has no model_name label in vLLM {rel.version}")
    if not rel.model_name_label:
        out.append(f"vLLM {rel.version} metrics carry no model_name label (our selectors and the adapter need it)")
    if image_tag != f"v{rel.version}":
        out.append(f"kit/versions.py pins vllm/vllm-openai:{image_tag}, not this release (v{rel.version})")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wheel", required=True, type=Path, help="a vllm-<version>-*.whl (pip download vllm==V --no-deps)")
    p.add_argument("--dist", type=Path, default=ROOT / "dist", help="synth output to read (default: dist/)")
    a = p.parse_args(argv)
    sys.path.insert(0, str(ROOT / "constructs"))
    from mlplatform.kit import versions
    rel = Release.from_wheel(a.wheel)
    flags, metrics = used_flags(a.dist), used_metrics(a.dist)
    found = problems(rel, flags, metrics, versions.IMAGES["vllm"].tag)
    print(f"vLLM {rel.version}: {len(rel.flags)} serve flags, {len(rel.metrics)} metrics in its sources")
    print(f"ours: {len(flags)} flags ({' '.join(sorted(flags))})")
    print(f"ours: {len(metrics)} metrics ({' '.join(sorted(metrics))})")
    print(f"gpu_memory_utilization in vllm/config/cache.py: {rel.gpu_memory_default()}")
    for x in found:
        print(f"MISSING {x}")
    print("every fact holds" if not found else f"{len(found)} fact(s) do not hold")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
