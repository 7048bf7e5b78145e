"""`dist/<env>/INVENTORY.md`: what an env gives its users, in one page.

Written by every synth next to the env's component folders (through the writer's staging
directory, so it is swapped in with the rest of `dist/<env>/`). Argo CD directory sources read
only `dist/<env>/<component>/`, and ignore `.md` files anyway, so nothing here reaches a cluster.

Everything is read from the rendered env (the objects that land in `dist/`, the chart releases,
`kit/routes.for_env`, `kit/versions.py`) and the typed config, and everything is sorted: two
synths of the same config give the same bytes, which `python app.py check` relies on.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable, Iterator

from .components import APPS_FOLDER
from .inventory_gpu import gpu_ask, sharing
from .kit import routes, versions
from .kit.meta import LABEL_TEAM, Obj
from .kit.quantity import parse
from .plan import Rendered

INVENTORY_FILE = "INVENTORY.md"
GPU = "nvidia.com/gpu"
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
OWNER_COMPONENT = "platform.mlops.io/owner-component"
NONE = "—"


# --------------------------------------------------------------------------- formatting
def _cell(v: Any) -> str:
    s = NONE if v is None or v == "" else str(v)
    return s.replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: list[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    """A GitHub-flavoured Markdown table (cells escaped; empty and None cells shown as a dash)."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def natural_key(s: str) -> tuple:
    """`team-2` before `team-10`: digit runs compare as numbers."""
    out: list = []
    num = ""
    text = ""
    for ch in s:
        if ch.isdigit():
            if text:
                out.append((1, text))
                text = ""
            num += ch
        else:
            if num:
                out.append((0, int(num)))
                num = ""
            text += ch
    if num:
        out.append((0, int(num)))
    if text:
        out.append((1, text))
    return tuple(out)


def fmt_number(d: Decimal | int) -> str:
    """2 -> "2", Decimal("0.50") -> "0.5" (no exponent, no trailing zeros)."""
    return format(Decimal(d).normalize(), "f")


def _code(s: str) -> str:
    return f"`{s}`"


# --------------------------------------------------------------------------- reading the rendered env
def objects(r: Rendered) -> Iterator[tuple[str, Obj]]:
    """(component, object) of everything under `dist/<env>/` except the Applications."""
    for comp in sorted(r.components):
        if comp == APPS_FOLDER:
            continue
        for o in r.components[comp]:
            yield comp, o


def _of_kind(r: Rendered, kind: str, group: str = "") -> list[tuple[str, Obj]]:
    out = []
    for comp, o in objects(r):
        av = str(o.get("apiVersion", ""))
        if o.get("kind") == kind and (av.rpartition("/")[0] == group):
            out.append((comp, o))
    return out


def _name(o: Obj) -> str:
    return str((o.get("metadata") or {}).get("name", ""))


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def _image_dicts(node: Any) -> Iterator[dict]:
    """Dicts that hold an image as repository + tag (chart values style)."""
    if isinstance(node, dict):
        if "tag" in node and any(k in node for k in ("repository", "registry", "name")):
            yield node
        for v in node.values():
            yield from _image_dicts(v)
    elif isinstance(node, list):
        for v in node:
            yield from _image_dicts(v)


def images_used(r: Rendered) -> dict[str, list[str]]:
    """Image key of `versions.IMAGES` -> components whose objects or chart values reference it
    (as `repository:tag`, also inside embedded YAML, or as a repository/tag pair of chart values)."""
    by_comp: dict[str, set[str]] = {}
    for comp, o in objects(r):
        by_comp.setdefault(comp, set()).update(strings(o))
    pairs: dict[str, set[tuple[str, str]]] = {}
    for comp, rel in r.helm.items():
        by_comp.setdefault(comp, set()).update(strings(rel.values))
        for d in _image_dicts(rel.values):
            repo = "/".join(str(d[k]) for k in ("registry", "repository") if d.get(k)) or str(d.get("name", ""))
            pairs.setdefault(comp, set()).add((repo, str(d.get("tag"))))
    used: dict[str, list[str]] = {}
    for key, img in sorted(versions.IMAGES.items()):
        comps = []
        for comp in sorted(by_comp):
            hit = any(img.ref in s for s in by_comp[comp])
            if not hit:
                hit = any((repo == img.repository or repo.endswith("/" + img.repository)
                           or img.repository.endswith("/" + repo)) and tag == img.tag
                          for repo, tag in pairs.get(comp, ()))
            if hit:
                comps.append(comp)
        if comps:
            used[key] = comps
    return used


# --------------------------------------------------------------------------- sections
def _header(r: Rendered) -> list[str]:
    env, infra = r.env, r.env.infrastructure
    g = env.gitops
    return [
        f"# Inventory of env `{env.name}`",
        "",
        f"Generated by `python app.py synth` from `environments/{env.name}.yaml` and "
        f"`environments/infra/{env.name}.yaml`; do not edit (a fresh synth rewrites it and `python app.py check` "
        f"fails on a hand edit). Argo CD does not read this file.",
        "",
        *markdown_table(["", ""], [
            ["Kubernetes", env.kubernetes_version],
            ["domain", _code(env.domain)],
            ["cluster", f"`{infra.cluster_name}` in `{infra.region}` (account `{infra.account_id}`)"],
            ["GitOps", f"`{g.repo_url}` at `{g.revision}`, AppProject `{env.project}`"],
            ["teams", len(env.teams)],
            ["objects in `dist/" + env.name + "/`", sum(len(v) for v in r.components.values())],
        ]),
    ]


def _quota_cells(hard: dict[str, str]) -> list[str | None]:
    def two(a: str, b: str) -> str | None:
        if a not in hard and b not in hard:
            return None
        return f"{hard.get(a, NONE)} / {hard.get(b, NONE)}"
    gpus = hard.get("requests." + GPU, hard.get(GPU))
    return [two("requests.cpu", "requests.memory"), two("limits.cpu", "limits.memory"), gpus,
            hard.get("pods"), hard.get("persistentvolumeclaims"), hard.get("requests.storage")]


def _namespaces(r: Rendered) -> list[str]:
    quotas: dict[str, dict[str, str]] = {}
    for _, q in _of_kind(r, "ResourceQuota"):
        ns = (q.get("metadata") or {}).get("namespace", "")
        hard = quotas.setdefault(ns, {})
        hard.update(((q.get("spec") or {}).get("hard") or {}))
    rows = []
    for comp, ns in _of_kind(r, "Namespace"):
        md = ns.get("metadata") or {}
        labels = md.get("labels") or {}
        if LABEL_TEAM in labels:
            owner = f"team `{labels[LABEL_TEAM]}`"
        else:
            owner = f"component `{labels.get(OWNER_COMPONENT, comp)}`"
        rows.append([_code(_name(ns)), owner, labels.get(PSA_ENFORCE), *_quota_cells(quotas.get(_name(ns), {}))])
    rows.sort(key=lambda row: natural_key(row[0]))
    ext = ", ".join(_code(n) for n in sorted(set(r.env.namespaces.external) | {r.env.gitops.argocd_namespace}))
    return ["## Namespaces", "",
            f"Pod Security: `enforce` level shown; every namespace also warns and audits at `restricted`. "
            f"Quotas are the namespace's ResourceQuota (requests / limits). Not created by this generator: {ext}.",
            "",
            *markdown_table(["namespace", "owner", "Pod Security", "requests cpu / memory", "limits cpu / memory",
                             "GPUs", "pods", "PVCs", "storage"], rows)]


def served_gpu_need(r: Rendered) -> dict[str, int]:
    need: dict[str, int] = {}
    s = r.env.serving
    if not s.enabled:
        return need
    for m in s.models:
        need[m.team] = need.get(m.team, 0) + m.gpus * (m.autoscaling.max_replicas + (1 if m.rollout == "surge" else 0))
    return need


def ray_gpu_need(r: Rendered) -> dict[str, int]:
    ray, need = r.env.ray, {}
    if not ray.enabled:
        return need
    groups = [(t, c, 1) for t, c in ray.clusters.items()] + [(s.team, s.cluster, 2) for s in ray.services]
    for team, c, copies in groups:
        if c.gpu_workers is not None:
            need[team] = need.get(team, 0) + copies * c.gpu_workers.max_replicas * c.gpu_workers.gpus
    return need


def queues(r: Rendered) -> dict[str, Obj]:
    return {_name(o): o for _, o in _of_kind(r, "Queue", "scheduling.volcano.sh")}


def team_queues(r: Rendered) -> dict[str, Obj]:
    """Team -> its Volcano Queue (the queue labelled with the team)."""
    return {team: q for q in queues(r).values()
            if (team := ((q.get("metadata") or {}).get("labels") or {}).get(LABEL_TEAM))}


def _queue_cells(q: Obj | None) -> list[str | None]:
    if q is None:
        return [None] * 6
    spec = q.get("spec") or {}
    cap, gua = spec.get("capability") or {}, ((spec.get("guarantee") or {}).get("resource") or {})
    guarantee = ", ".join(f"{k} {v}" for k, v in sorted(gua.items())) or None
    return [cap.get(GPU, "0"), cap.get("cpu"), cap.get("memory"), spec.get("weight"), guarantee,
            "yes" if spec.get("reclaimable") else "no"]


def nodepools(r: Rendered) -> list[Obj]:
    return sorted((o for _, o in _of_kind(r, "NodePool", "karpenter.sh")), key=_name)


def requirement(pool: Obj, key: str) -> str | None:
    """A NodePool requirement on `key` in words: `g5, g6`, `not t3`, `≤ 1` (for `Lt 2`), `≥ 5` (`Gt 4`)."""
    for req in ((((pool.get("spec") or {}).get("template") or {}).get("spec") or {}).get("requirements") or []):
        if req.get("key") != key:
            continue
        values = [str(v) for v in req.get("values") or []]
        op = req.get("operator")
        if op in ("Lt", "Gt") and len(values) == 1 and values[0].lstrip("-").isdigit():
            n = int(values[0])
            return f"≤ {n - 1}" if op == "Lt" else f"≥ {n + 1}"
        return {"In": "", "NotIn": "not ", "Exists": "any", "DoesNotExist": "none"}.get(op, f"{op} ") + ", ".join(values)
    return None


def _gpu_budget(r: Rendered) -> list[str]:
    env = r.env
    qs = queues(r)
    served, ray = served_gpu_need(r), ray_gpu_need(r)
    by_team = team_queues(r)

    rows, total_quota, total_queue = [], 0, Decimal(0)
    for t in sorted(env.teams, key=lambda t: natural_key(t.name)):
        q = by_team.get(t.name)
        cells = _queue_cells(q)
        total_quota += t.quota.gpus
        total_queue += parse(cells[0]) if cells[0] is not None else 0
        rows.append([_code(t.name), t.quota.gpus, _code(_name(q)) if q is not None else None, *cells,
                     served.get(t.name, 0), ray.get(t.name, 0)])
    rows.append(["**total**", total_quota, "", fmt_number(total_queue), "", "", "", "", "",
                 sum(served.values()), sum(ray.values())])
    out = ["## GPU budget", "", "### Per team", "",
           "The namespace quota caps the GPUs a team's pods may request at once; its Volcano queue's capability "
           "caps its gang-scheduled jobs. The last two columns are what the team's own config can ask for: "
           "served models at `max_replicas` (plus the surge replica of `rollout: surge`) and Ray GPU worker groups "
           "at `max_replicas` (a RayService counts twice: KubeRay starts the new cluster before it drops the old).",
           "",
           *markdown_table(["team", "quota GPUs", "Volcano queue", "queue GPUs", "queue cpu", "queue memory", "weight",
                            "guarantee", "reclaimable", "models at max", "Ray GPU workers at max"], rows)]
    other = sorted(set(qs) - {_name(by_team[t.name]) for t in env.teams if t.name in by_team}, key=natural_key)
    if other:
        out += ["", "Other queues:", "",
                *markdown_table(["queue", "GPUs", "cpu", "memory", "weight", "guarantee", "reclaimable"],
                                [[_code(n), *_queue_cells(qs[n])] for n in other])]
    prow = []
    for p in nodepools(r):
        spec = p.get("spec") or {}
        limits, taints = spec.get("limits") or {}, (((spec.get("template") or {}).get("spec") or {}).get("taints") or [])
        prow.append([_code(_name(p)), limits.get(GPU), limits.get("cpu"), limits.get("memory"),
                     requirement(p, "karpenter.k8s.aws/instance-category"),
                     requirement(p, "karpenter.k8s.aws/instance-family") or "any",
                     requirement(p, "karpenter.k8s.aws/instance-size") or "any",
                     requirement(p, "karpenter.k8s.aws/instance-gpu-count"), requirement(p, "karpenter.sh/capacity-type"),
                     ", ".join(f"{t.get('key')}:{t.get('effect')}" for t in taints) or None, sharing(env, _name(p))])
    pool_gpus = sum((parse(str(((p.get("spec") or {}).get("limits") or {}).get(GPU, 0))) for p in nodepools(r)),
                    Decimal(0))
    out += ["", "### Per NodePool (Karpenter)", "",
            f"Team queues hold {fmt_number(total_queue)} GPUs; the NodePools may launch {fmt_number(pool_gpus)}"
            + ("" if not env.volcano.gpu_overcommit else " (overcommit allowed: queues compete for the pool)") + ".",
            "",
            *markdown_table(["NodePool", "GPU limit", "cpu limit", "memory limit", "categories", "families", "sizes",
                             "GPUs per node", "capacity", "taints", "GPU sharing"], prow)]
    return out


def _login(rt: routes.Route) -> str:
    if rt.login == "app":
        return f"Keycloak (the app's own OIDC client `{rt.name}`)"
    if rt.login == "alb":
        return f"Keycloak at the ALB (client `{routes.ALB_CLIENT}`)"
    if rt.owner == "vllm":
        return "API key (`Authorization: Bearer`)"
    if rt.owner == "keycloak":
        return "public (the login pages)"
    return "none"


def _endpoints(r: Rendered) -> list[str]:
    rows = []
    for rt in routes.for_env(r.env):
        rows.append([routes.url(r.env, rt), rt.description or rt.name, _login(rt),
                     f"`{rt.namespace}/{rt.service}:{rt.port}`"])
    rows.sort(key=lambda row: natural_key(row[0]))
    return ["## Endpoints", "", "Every URL the env serves (`kit/routes.py`), all on the env's one ALB.", "",
            *markdown_table(["URL", "what", "login", "backend"], rows)]


def _models(r: Rendered) -> list[str]:
    s = r.env.serving
    if not s.enabled or not s.models:
        return ["## Served models", "", "None."]
    by_name = {rt.name: rt for rt in routes.for_env(r.env)}
    rows = []
    for m in sorted(s.models, key=lambda m: natural_key(m.name)):
        rt = by_name.get(f"{s.host_prefix}-{m.name}")
        url = routes.url(r.env, rt) if rt is not None else None
        surge = 1 if m.rollout == "surge" else 0
        rows.append([_code(m.name), f"`{m.model}`" + (f" @ `{m.revision}`" if m.revision else ""), url,
                     _code(m.team), f"{m.autoscaling.min_replicas}–{m.autoscaling.max_replicas}", m.gpus,
                     m.gpus * (m.autoscaling.max_replicas + surge), f"{m.min_gpu_memory_gib} GiB", m.rollout])
    return ["## Served models", "",
            "vLLM, OpenAI-compatible: send `\"model\": \"<model>\"` to the endpoint with the env's API key.", "",
            *markdown_table(["model", "weights", "endpoint", "team", "replicas (min–max)", "GPUs per replica",
                             "GPUs at max (+surge)", "GPU memory per GPU", "rollout"], rows)]


def _notebooks(r: Rendered) -> list[str]:
    j = r.env.jupyterhub
    if not j.enabled:
        return ["## Notebook profiles (JupyterHub)", "", "JupyterHub is off in this env."]
    rows = [[_code(p.slug) + (" (default)" if p.default else ""), p.display_name,
             _code(versions.IMAGES[p.image].ref) if p.image in versions.IMAGES else p.image,
             f"{fmt_number(Decimal(str(p.cpu_guarantee)))}–{fmt_number(Decimal(str(p.cpu_limit)))}",
             f"{p.mem_guarantee}–{p.mem_limit}", gpu_ask(p), ", ".join(p.required_roles) or "everyone allowed to log in"]
            for p in j.profiles]
    return ["## Notebook profiles (JupyterHub)", "",
            *markdown_table(["profile", "name", "image", "CPU (guarantee–limit)", "memory (guarantee–limit)", "GPUs",
                             "roles"], rows), *_notebook_choices(r)]


def _notebook_choices(r: Rendered) -> list[str]:
    """The image choice per compute profile and each profile's walltime (only when configured)."""
    j = r.env.jupyterhub
    if not j.images and all(p.walltime_hours is None for p in j.profiles):
        return []
    rows = [[_code(p.slug), f"{p.walltime_hours:g} h" if p.walltime_hours is not None else "none (idle culling)",
             ", ".join(_code(i.key) for i in j.images if not i.compute or p.slug in i.compute) or _code(p.image)]
            for p in j.profiles]
    return ["", "Image choices and walltime per compute profile (the walltime service stops a server this long "
            "after it started):", "", *markdown_table(["profile", "walltime", "images offered"], rows)]


def _components(r: Rendered) -> list[str]:
    counts = {c: len(v) for c, v in r.components.items()}
    rows = []
    for name in sorted(r.waves, key=lambda c: (r.waves[c], c)):
        rel, up = r.helm.get(name), r.upstream.get(name)
        installs, ns = [], None
        if rel is not None:
            ch = versions.CHARTS[rel.chart]
            installs.append(f"chart `{ch.name}` {ch.version} (app {ch.app_version or NONE})")
            ns = rel.namespace
        if up is not None:
            m = versions.MANIFESTS[up.source]
            installs.append(f"manifests `{m.name}` {m.revision}")
            ns = ns or up.namespace
        if counts.get(name):
            n = counts[name]
            installs.append(f"{n} object{'' if n == 1 else 's'} in `dist/{r.env.name}/{name}/`")
        rows.append([_code(name), r.waves[name], "; ".join(installs), _code(ns) if ns else None])
    used = images_used(r)
    irows = [[_code(k), _code(versions.IMAGES[k].ref), ", ".join(_code(c) for c in comps)]
             for k, comps in sorted(used.items())]
    return ["## Components", "",
            "One Argo CD Application each (`<env>-<component>`), synced in this wave order.", "",
            *markdown_table(["component", "sync wave", "installs", "namespace"], rows),
            "", "### Images (`kit/versions.py`)", "",
            "Images of the versions table that this env's objects or chart values name (charts' own default "
            "images are not listed: `python app.py bom` has every pin).", "",
            *markdown_table(["image", "reference", "used by"], irows)]


def markdown(r: Rendered) -> str:
    """The inventory of one rendered env (deterministic: same config, same bytes)."""
    parts = [_header(r), _endpoints(r), _models(r), _gpu_budget(r), _namespaces(r), _notebooks(r), _components(r)]
    lines: list[str] = []
    for p in parts:
        if lines:
            lines.append("")
        lines += p
    return "\n".join(lines) + "\n"
