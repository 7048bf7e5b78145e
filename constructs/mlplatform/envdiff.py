"""`python app.py envdiff dev staging prod`: what is different between envs, as a table.

Not a text diff of `dist/` (that is `python app.py diff`, which compares one tree with another
version of itself): each env is loaded and rendered, and the same *facts* are read off each one
-- Kubernetes minor, enabled components and what they install, hosts, GPU budgets (team quotas,
Volcano queues, NodePool limits and instance families), quotas, queues, served models, notebook
profiles, and the replicas and requests/limits of every workload and chart value. A fact is a
(section, item) -> short text; rows where the envs disagree are printed (`--all`: every row).

Hosts are shown relative to the env's domain (`auth.<domain>`), so that envs on different domains
differ only where a host exists in one env and not the other, or its label changed.
"""
from __future__ import annotations

from pathlib import Path

from dataclasses import dataclass
from typing import Any, Iterator

from .components import COMPONENTS
from .inventory import (GPU, images_used, markdown_table, natural_key, nodepools, objects, queues,
                        ray_gpu_need, requirement, served_gpu_need, team_queues)
from .inventory_gpu import sharing
from .kit import routes, versions
from .plan import Rendered

MISSING = "-"
SECTIONS = ("env", "components", "versions", "hosts", "gpu", "quotas", "queues", "node pools", "serving",
            "notebooks", "replicas", "resources")
REPLICA_KEYS = frozenset({"replicas", "replicaCount", "minReplicas", "maxReplicas", "instances"})
# Path segments that add length but no meaning to an item (pod templates of workloads).
_NOISE = ("spec.template.spec.", "template.spec.", "jobTemplate.spec.")

Facts = dict[tuple[str, str], str]  # (section, item) -> value


@dataclass(frozen=True)
class Row:
    section: str
    item: str
    values: tuple[str, ...]  # one per env, in the order asked for

    @property
    def differs(self) -> bool:
        return len(set(self.values)) > 1


# --------------------------------------------------------------------------- generic walks
def _seg(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every mapping entry; list items named by their `name`/`groupName`."""
    if isinstance(node, dict):
        for k in sorted(node, key=str):
            v = node[k]
            yield path, str(k), v
            yield from _walk(v, _seg(path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            label = v.get("name", v.get("groupName", i)) if isinstance(v, dict) else i
            yield from _walk(v, f"{path}[{label}]")


def _short(path: str) -> str:
    for n in _NOISE:
        path = path.replace(n, "")
    path = path[len("spec."):] if path.startswith("spec.") else path
    if path == "resources":
        return ""
    return path[: -len(".resources")] if path.endswith(".resources") else path


_RESOURCE_ORDER = ("cpu", "memory", "nvidia.com/gpu", "ephemeral-storage", "storage")
_RESOURCE_SHORT = {"nvidia.com/gpu": "gpu", "ephemeral-storage": "ephemeral"}


def _resources_text(res: dict) -> str:
    """`cpu 250m/1, memory 512Mi/1Gi, gpu 1`: request/limit per resource (one number when equal)."""
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    if not isinstance(req, dict) or not isinstance(lim, dict):
        return ""
    keys = sorted(set(req) | set(lim), key=lambda k: (_RESOURCE_ORDER.index(k) if k in _RESOURCE_ORDER
                                                      else len(_RESOURCE_ORDER), k))
    parts = []
    for k in keys:
        a, b = req.get(k), lim.get(k)
        v = str(a) if a == b else f"{MISSING if a is None else a}/{MISSING if b is None else b}"
        parts.append(f"{_RESOURCE_SHORT.get(k, k)} {v}")
    return ", ".join(parts)


def _workload_facts(where: str, node: Any, out: Facts) -> None:
    for path, key, value in _walk(node):
        if key in REPLICA_KEYS and isinstance(value, int) and not isinstance(value, bool):
            out[("replicas", f"{where} {_short(_seg(path, key))}".rstrip())] = str(value)
        elif key == "resources" and isinstance(value, dict) and ("requests" in value or "limits" in value):
            text = _resources_text(value)
            if text:
                out[("resources", f"{where} {_short(_seg(path, key))}".rstrip())] = text


# --------------------------------------------------------------------------- facts of one env
def facts(r: Rendered) -> Facts:
    env = r.env
    f: Facts = {}

    def put(section: str, item: str, value: Any) -> None:
        f[(section, item)] = MISSING if value is None or value == "" else str(value)

    infra = env.infrastructure
    put("env", "kubernetes minor", env.kubernetes_version)
    put("env", "domain", env.domain)
    put("env", "cluster", f"{infra.cluster_name} ({infra.region})")
    put("env", "gitops revision", env.gitops.revision)
    put("env", "teams", ", ".join(sorted((t.name for t in env.teams), key=natural_key)))
    put("env", "objects", sum(len(v) for v in r.components.values()) + len(r.bootstrap))

    for c in COMPONENTS:
        if c.name in r.waves:
            put("components", c.name, f"on (wave {r.waves[c.name]})")
        else:
            put("components", c.name, "off")
    for comp, rel in r.helm.items():
        ch = versions.CHARTS[rel.chart]
        put("versions", f"chart {ch.name}", ch.version)
    for comp, up in r.upstream.items():
        m = versions.MANIFESTS[up.source]
        put("versions", f"manifests {m.name}", m.revision)
    for key in images_used(r):
        put("versions", f"image {key}", versions.IMAGES[key].ref)

    for rt in routes.for_env(env):
        host = routes.hostname(env, rt)
        label = host[: -len(env.domain) - 1] + ".<domain>" if host.endswith("." + env.domain) else host
        put("hosts", rt.name, f"{label}{'' if rt.path == '/' else rt.path} (login: {rt.login})")

    # GPU budgets: what a team may use (quota, queue), what the env may launch (pool), who asks.
    qs = queues(r)
    served, ray = served_gpu_need(r), ray_gpu_need(r)
    by_team = team_queues(r)
    for t in env.teams:
        put("gpu", f"team {t.name} quota", t.quota.gpus)
        q = by_team.get(t.name)
        if q is not None:
            put("gpu", f"team {t.name} queue", ((q.get("spec") or {}).get("capability") or {}).get(GPU, "0"))
        if served.get(t.name):
            put("gpu", f"team {t.name} served models at max", served[t.name])
        if ray.get(t.name):
            put("gpu", f"team {t.name} Ray GPU workers at max", ray[t.name])
    put("gpu", "total of team quotas", sum(t.quota.gpus for t in env.teams))
    put("gpu", "total of team queues", sum(int(((q.get("spec") or {}).get("capability") or {}).get(GPU, 0))
                                          for q in qs.values()))
    put("gpu", "queues may overcommit the pool", "yes" if env.volcano.gpu_overcommit else "no")
    for p in nodepools(r):
        spec, name = p.get("spec") or {}, p["metadata"]["name"]
        gpu_limit = (spec.get("limits") or {}).get(GPU)
        if gpu_limit is None:
            continue
        put("gpu", f"nodepool {name} limit", gpu_limit)
        put("gpu", f"nodepool {name} families", requirement(p, "karpenter.k8s.aws/instance-family") or "any")
        put("gpu", f"nodepool {name} GPUs per node", requirement(p, "karpenter.k8s.aws/instance-gpu-count") or "any")
        put("gpu", f"nodepool {name} sharing", sharing(env, name))
    g = env.compute.gpu
    put("gpu", "gpu-operator MIG", f"{g.mig_strategy}{' + manager' if g.mig_manager else ''}" if g.enabled else "off")

    for _, q in ((c, o) for c, o in objects(r) if o.get("kind") == "ResourceQuota"):
        ns = q["metadata"].get("namespace", "")
        for k, v in ((q.get("spec") or {}).get("hard") or {}).items():
            if GPU not in k:
                put("quotas", f"{ns} {k}", v)

    for name, q in qs.items():
        spec = q.get("spec") or {}
        cap = spec.get("capability") or {}
        gua = (spec.get("guarantee") or {}).get("resource") or {}
        put("queues", f"volcano {name} weight", spec.get("weight"))
        put("queues", f"volcano {name} capability", ", ".join(f"{k} {cap[k]}" for k in sorted(cap)))
        if gua:
            put("queues", f"volcano {name} guarantee", ", ".join(f"{k} {gua[k]}" for k in sorted(gua)))
        put("queues", f"volcano {name} reclaimable", "yes" if spec.get("reclaimable") else "no")
    if env.airflow.enabled:
        for pool in env.airflow.pools:
            put("queues", f"airflow pool {pool.name}", f"{pool.slots} slots")
        put("queues", "airflow parallelism", env.airflow.parallelism)

    for p in nodepools(r):
        spec, name = p.get("spec") or {}, p["metadata"]["name"]
        limits = spec.get("limits") or {}
        put("node pools", f"{name} limits", ", ".join(f"{k} {limits[k]}" for k in sorted(limits) if k != GPU))
        for label, key in (("categories", "karpenter.k8s.aws/instance-category"),
                           ("sizes", "karpenter.k8s.aws/instance-size"),
                           ("generation", "karpenter.k8s.aws/instance-generation"),
                           ("capacity", "karpenter.sh/capacity-type"), ("arch", "kubernetes.io/arch")):
            put("node pools", f"{name} {label}", requirement(p, key) or "any")
        if GPU not in limits:
            put("node pools", f"{name} families", requirement(p, "karpenter.k8s.aws/instance-family") or "any")
        d = spec.get("disruption") or {}
        put("node pools", f"{name} consolidation", f"{d.get('consolidationPolicy')} after {d.get('consolidateAfter')}")
        budgets = "; ".join(str(b.get("nodes"))
                            + (f" at cron \"{b['schedule']}\" for {b.get('duration')}" if b.get("schedule") else "")
                            + (f" ({', '.join(b['reasons'])})" if b.get("reasons") else "")
                            for b in d.get("budgets") or [])
        put("node pools", f"{name} budgets", budgets)
        put("node pools", f"{name} expire after", ((spec.get("template") or {}).get("spec") or {}).get("expireAfter"))
        put("node pools", f"{name} weight", spec.get("weight"))
    put("node pools", "root volume", f"{env.compute.karpenter.root_volume_gib} GiB")

    s = env.serving
    if s.enabled:
        put("serving", "model cache", s.model_cache + (f" ({s.pod_cache_size})" if s.model_cache == "pod" else ""))
        for m in s.models:
            put("serving", f"{m.name} weights", m.model + (f"@{m.revision}" if m.revision else ""))
            put("serving", f"{m.name} team", m.team)
            put("serving", f"{m.name} replicas", f"{m.autoscaling.min_replicas}-{m.autoscaling.max_replicas}")
            put("serving", f"{m.name} GPUs", f"{m.gpus} x {m.min_gpu_memory_gib} GiB per replica, rollout {m.rollout}")
            put("serving", f"{m.name} context", m.max_model_len)

    if env.jupyterhub.enabled:
        for p in env.jupyterhub.profiles:
            put("notebooks", p.slug, f"cpu {p.cpu_guarantee:g}-{p.cpu_limit:g}, memory {p.mem_guarantee}-{p.mem_limit}, "
                                     f"GPUs {p.gpus}, {p.image}" + (" (default)" if p.default else ""))
        for p in env.jupyterhub.profiles:  # walltime: the server is stopped this long after start
            if p.walltime_hours is not None:
                put("notebooks", f"{p.slug} walltime", f"{p.walltime_hours:g} h")
        for i in env.jupyterhub.images:  # the image choice after the compute profile
            put("notebooks", f"image {i.key}", "profiles " + (", ".join(i.compute) or "all"))

    for comp, o in objects(r):
        md = o.get("metadata") or {}
        ns = f"{md['namespace']}/" if md.get("namespace") else ""
        body = {k: v for k, v in o.items() if k not in ("metadata", "apiVersion", "kind")}
        _workload_facts(f"{comp} {o.get('kind')}/{ns}{md.get('name')}", body, f)
    for comp, rel in r.helm.items():
        _workload_facts(f"{comp} (chart values)", rel.values, f)
    return f


# --------------------------------------------------------------------------- table
def rows(by_env: dict[str, Facts], *, all_rows: bool = False, sections: list[str] | None = None) -> list[Row]:
    """Rows in section order, items naturally sorted; only differing rows unless `all_rows`."""
    order = {s: i for i, s in enumerate(SECTIONS)}
    keys = set().union(*(set(f) for f in by_env.values())) if by_env else set()
    out = []
    for section, item in sorted(keys, key=lambda k: (order.get(k[0], len(order)), natural_key(k[1]))):
        if sections and section not in sections:
            continue
        row = Row(section, item, tuple(f.get((section, item), MISSING) for f in by_env.values()))
        if all_rows or row.differs:
            out.append(row)
    return out


def text_table(envs: list[str], table: list[Row]) -> list[str]:
    """Fixed-width columns; the section is printed once per block of rows."""
    head = ["SECTION", "ITEM", *envs]
    body, last = [], None
    for r in table:
        body.append([r.section if r.section != last else "", r.item, *r.values])
        last = r.section
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [fmt(head), fmt(["-" * w for w in widths]), *(fmt(b) for b in body)]


def md_table(envs: list[str], table: list[Row]) -> list[str]:
    return markdown_table(["section", "item", *envs], ([r.section, r.item, *r.values] for r in table))


def compare(names: list[str], env_dir=None) -> tuple[dict[str, Facts], list[str]]:
    """Load and render `names`; (facts per env in that order, problems)."""
    from .config.loader import ENV_DIR, EnvError, load_env
    from .plan import render

    by_env: dict[str, Facts] = {}
    problems: list[str] = []
    for name in names:
        try:
            env = load_env(name, env_dir or ENV_DIR)
        except EnvError as e:
            problems += e.problems
            continue
        r = render(env)
        problems += r.problems
        by_env[name] = facts(r)
    return by_env, problems


def run(names: list[str], *, all_rows: bool = False, markdown: bool = False, sections: list[str] | None = None,
        env_dir=None) -> int:
    """The `envdiff` command: print the table; 2 for unknown envs or sections, 1 when an env fails to load."""
    import sys

    from .config.loader import ENV_DIR, env_names

    folder = Path(env_dir or ENV_DIR)
    known = env_names(folder) if folder.is_dir() else []
    if not known:
        print(f"envdiff: no environments to compare: {folder} "
              f"{'holds no <env>.yaml files' if folder.is_dir() else 'is not a folder'}", file=sys.stderr)
        return 2
    names = list(dict.fromkeys(names or known))
    unknown = [n for n in names if n not in known]
    bad_sections = [s for s in sections or [] if s not in SECTIONS]
    if unknown or bad_sections:
        if unknown:
            print(f"envdiff: unknown env(s): {', '.join(unknown)} (have: {', '.join(known)})", file=sys.stderr)
        if bad_sections:
            print(f"envdiff: unknown section(s): {', '.join(bad_sections)} (have: {', '.join(SECTIONS)})",
                  file=sys.stderr)
        return 2
    by_env, problems = compare(names, env_dir)
    if problems:
        print("envdiff: the envs must load and render first:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    table = rows(by_env, all_rows=all_rows, sections=sections)
    lines = md_table(names, table) if markdown else text_table(names, table)
    print("\n".join(lines))
    total = len(rows(by_env, all_rows=True, sections=sections))
    differing = sum(1 for r in table if r.differs)
    what = "rows" if all_rows else "differing rows"
    print(f"\n{len(table)} {what} ({differing} of {total} facts differ between {', '.join(names)})"
          + ("" if all_rows else "; --all shows every fact"), file=sys.stderr)
    return 0
