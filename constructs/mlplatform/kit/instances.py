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


# ------------------------------------------------------------------------------ GPU models and MIG
# family -> the NVIDIA GPU model its instances carry (EC2 accelerated-computing instance pages).
GPU_MODELS: dict[str, str] = {
    "g4dn": "T4", "g5": "A10G", "g6": "L4", "g6e": "L40S",
    "p4d": "A100-SXM4-40GB", "p4de": "A100-SXM4-80GB", "p5": "H100-SXM5-80GB",
    "p5e": "H200-SXM5-141GB", "p5en": "H200-SXM5-141GB",
}

# A MIG profile `<g>g.<mem>gb`: `compute` of the GPU's 7 compute slices, `memory` of its 8 memory
# slices, `gib` of framebuffer, at most `most` instances of it per GPU. From NVIDIA's MIG user
# guide ("Supported MIG Profiles"; the +me media-extension variants are left out). T4, A10G, L4
# and L40S have no MIG.
MigProfile = tuple[int, int, int, int]  # (compute slices, memory slices, GiB, most per GPU)
_MIG_80GB: dict[str, MigProfile] = {"1g.10gb": (1, 1, 10, 7), "1g.20gb": (1, 2, 20, 4), "2g.20gb": (2, 2, 20, 3),
                                    "3g.40gb": (3, 4, 40, 2), "4g.40gb": (4, 4, 40, 1), "7g.80gb": (7, 8, 80, 1)}
MIG_PROFILES: dict[str, dict[str, MigProfile]] = {
    "A100-SXM4-40GB": {"1g.5gb": (1, 1, 5, 7), "1g.10gb": (1, 2, 10, 4), "2g.10gb": (2, 2, 10, 3),
                       "3g.20gb": (3, 4, 20, 2), "4g.20gb": (4, 4, 20, 1), "7g.40gb": (7, 8, 40, 1)},
    "A100-SXM4-80GB": dict(_MIG_80GB),
    "H100-SXM5-80GB": dict(_MIG_80GB),
    "H200-SXM5-141GB": {"1g.18gb": (1, 1, 18, 7), "1g.35gb": (1, 2, 35, 4), "2g.35gb": (2, 2, 35, 3),
                        "3g.71gb": (3, 4, 71, 2), "4g.71gb": (4, 4, 71, 1), "7g.141gb": (7, 8, 141, 1)},
}
MIG_COMPUTE_SLICES, MIG_MEMORY_SLICES = 7, 8
# How a MIG profile is spelled, and the extended resource the device plugin advertises it as under
# the operator's `mig.strategy: mixed` (`nvidia.com/mig-1g.10gb`); whole and time-sliced GPUs are
# `nvidia.com/gpu`.
MIG_PROFILE_PATTERN = r"^[1-7]g\.[0-9]{1,3}gb$"
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"
GPU_RESOURCE = "nvidia.com/gpu"


def gpu_resource(mig_profile: str | None) -> str:
    """The extended resource a GPU ask counts against: its MIG slice's, or `nvidia.com/gpu`."""
    return MIG_RESOURCE_PREFIX + mig_profile if mig_profile else GPU_RESOURCE


def mig_profiles(family: str) -> dict[str, MigProfile] | None:
    """The MIG profiles of the GPU of `family`; None when it has no MIG (or the family is unknown)."""
    return MIG_PROFILES.get(GPU_MODELS.get(family, ""))


def mig_layout_problems(family: str, layout: dict[str, int]) -> list[str]:
    """Why `layout` (profile -> instances per GPU) can't be applied to every GPU of `family`: a GPU
    without MIG, a profile the model lacks, more instances of a profile than the model allows, or
    more compute (7) or memory (8) slices than one GPU has. NVIDIA also constrains where instances
    sit on the GPU; the slice sums are the necessary condition every documented layout meets."""
    model = GPU_MODELS.get(family)
    profiles = mig_profiles(family)
    if profiles is None:
        return [f"{family} ({model or 'unknown GPU'}) has no MIG (MIG GPUs: "
                f"{', '.join(sorted(f for f in GPU_MODELS if mig_profiles(f)))})"]
    out = [f"{family} ({model}) has no MIG profile {p} (it has {', '.join(profiles)})"
           for p in sorted(layout) if p not in profiles]
    known = {p: n for p, n in layout.items() if p in profiles}
    out += [f"{family} ({model}) fits at most {profiles[p][3]} x {p} per GPU (asked {n})"
            for p, n in sorted(known.items()) if n > profiles[p][3]]
    compute = sum(profiles[p][0] * n for p, n in known.items())
    memory = sum(profiles[p][1] * n for p, n in known.items())
    if compute > MIG_COMPUTE_SLICES or memory > MIG_MEMORY_SLICES:
        out.append(f"{family} ({model}): the layout takes {compute}/{MIG_COMPUTE_SLICES} compute and "
                   f"{memory}/{MIG_MEMORY_SLICES} memory slices of one GPU")
    return out
