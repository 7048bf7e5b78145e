"""What the EC2 GPU instance types the NodePools may launch offer: GPUs, GPU memory, host memory.

Karpenter knows this from the EC2 API at run time; the generator needs it at synth to tell
whether a served model fits any instance its pool may launch (the vllm unit's checks) and how many
GPUs a pool's largest node has (the NodePool config, `kit/nodepools.py`). Values
from the EC2 instance type pages (accelerated computing); a family missing here is reported,
not guessed. Also how EC2 names a family (category + generation: `g4dn` = `g` + 4), which the NodePool
models and the scheduling check both read.
"""
from __future__ import annotations

from decimal import Decimal

# EC2 categories whose instances carry NVIDIA GPUs (g: graphics/inference, p: training).
GPU_INSTANCE_CATEGORIES = ("g", "p")

# family -> (GPU memory per GPU in GiB, {size: (GPUs, host memory GiB)})
_COMMON_G = {"xlarge": (1, 16), "2xlarge": (1, 32), "4xlarge": (1, 64), "8xlarge": (1, 128),
             "16xlarge": (1, 256), "12xlarge": (4, 192), "24xlarge": (4, 384), "48xlarge": (8, 768)}
GPU_FAMILIES: dict[str, tuple[int, dict[str, tuple[int, int]]]] = {
    "g4dn": (16, {"xlarge": (1, 16), "2xlarge": (1, 32), "4xlarge": (1, 64), "8xlarge": (1, 128),
                  "16xlarge": (1, 256), "12xlarge": (4, 192), "metal": (8, 384)}),  # NVIDIA T4
    "g5": (24, dict(_COMMON_G)),  # NVIDIA A10G
    "g6": (24, dict(_COMMON_G)),  # NVIDIA L4
    "g6e": (48, {"xlarge": (1, 32), "2xlarge": (1, 64), "4xlarge": (1, 128), "8xlarge": (1, 256),
                 "16xlarge": (1, 512), "12xlarge": (4, 384), "24xlarge": (4, 768), "48xlarge": (8, 1536)}),  # L40S
    "p4d": (40, {"24xlarge": (8, 1152)}),  # NVIDIA A100 40 GB
    "p4de": (80, {"24xlarge": (8, 1152)}),  # NVIDIA A100 80 GB
    "p5": (80, {"4xlarge": (1, 256), "48xlarge": (8, 2048)}),  # NVIDIA H100
    "p5e": (141, {"48xlarge": (8, 2048)}),  # NVIDIA H200
    "p5en": (141, {"48xlarge": (8, 2048)}),  # NVIDIA H200
}


def allocatable_memory_gib(host_gib: int) -> Decimal:
    """Host memory left for pods: Karpenter's VM overhead (7.5 %), kube-reserved and eviction
    threshold (about 1.5 GiB on GPU sizes)."""
    return Decimal(host_gib) * Decimal("0.925") - Decimal("1.5")


def fitting(families: list[str], sizes: list[str] | None, *, gpus: int, gpu_memory_gib: int, memory: Decimal,
            max_gpus: int | None) -> tuple[list[str], str]:
    """Instance types (`family.size`) that fit one replica, and why none does when the list is empty."""
    unknown = sorted(f for f in families if f not in GPU_FAMILIES)
    if unknown:
        return [], f"GPU memory of instance families {', '.join(unknown)} unknown (add them to kit/instances.py)"
    if not families:
        return [], "the pool does not name its instance families (instance-family In [...]), so GPU memory can't be judged"
    fits, reasons = [], set()
    for fam in sorted(families):
        mem_per_gpu, by_size = GPU_FAMILIES[fam]
        if mem_per_gpu < gpu_memory_gib:
            reasons.add(f"{fam} GPUs have {mem_per_gpu} GiB (< {gpu_memory_gib})")
            continue
        for size, (n, host) in sorted(by_size.items()):
            if sizes is not None and size not in sizes:
                continue
            if n < gpus or (max_gpus is not None and n > max_gpus):
                reasons.add(f"{fam}.{size} has {n} GPUs (needs {gpus}, pool allows at most {max_gpus})")
                continue
            if allocatable_memory_gib(host) * Decimal(2) ** 30 < memory:
                reasons.add(f"{fam}.{size} leaves {allocatable_memory_gib(host):.1f} GiB for pods")
                continue
            fits.append(f"{fam}.{size}")
    return fits, "; ".join(sorted(reasons))


def most_gpus(families: list[str], sizes: list[str] | None) -> tuple[int, list[str]] | None:
    """(GPU count, instance types with it) of the largest instances of `families` (only `sizes` when
    given) by GPU count; None when a family is missing from the table (not guessed) or none is left."""
    if not families or any(f not in GPU_FAMILIES for f in families):
        return None
    counts = {f"{fam}.{size}": n for fam in sorted(families) for size, (n, _) in sorted(GPU_FAMILIES[fam][1].items())
              if sizes is None or size in sizes}
    if not counts:
        return None
    top = max(counts.values())
    return top, [t for t, n in counts.items() if n == top]


def instance_category(family: str) -> str:
    """`g4dn` -> `g`, `p5en` -> `p`, `c7gn` -> `c`: the letters before the generation digits."""
    i = 0
    while i < len(family) and family[i].isalpha():
        i += 1
    return family[:i]


def instance_generation(family: str) -> int | None:
    """`g4dn` -> 4, `p5en` -> 5; None when the name carries no generation."""
    rest = family[len(instance_category(family)):]
    digits = ""
    for ch in rest:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


def gpu_families(categories: list[str], families: list[str], min_generation: int | None) -> list[str]:
    """The GPU instance families a pool may launch: the ones it names, else every family of its
    categories (and generations) that this table knows."""
    if families:
        return list(families)
    return [f for f in sorted(GPU_FAMILIES) if instance_category(f) in categories
            and (min_generation is None or (instance_generation(f) or 0) >= min_generation)]


def gpus_per_node_cap(categories: list[str], families: list[str], sizes: list[str] | None, min_generation: int | None,
                      explicit: int | None) -> tuple[int, str] | None:
    """The most GPUs one node of a pool can have, and why: the explicit cap when set, else the largest
    instance of the families it allows (None when that is unknown: a family missing from the facts)."""
    if explicit is not None:
        return explicit, "max_gpus_per_node"
    top = most_gpus(gpu_families(categories, families, min_generation), sizes)
    if top is None:
        return None
    n, types = top
    shown = ", ".join(types[:3]) + (", ..." if len(types) > 3 else "")
    return n, f"largest instances of its families: {shown}"
