"""Kubernetes resource quantities: validation and comparison (no jsii, no floats)."""
from __future__ import annotations

import re
from decimal import Decimal

_SUFFIX = {
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
    "P": Decimal("1e15"), "E": Decimal("1e18"),
}
QUANTITY_RE = re.compile(r"^(?P<num>[+]?(\d+(\.\d*)?|\.\d+))(?P<suf>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")


def parse(q: str | int | float) -> Decimal:
    """'500m' -> 0.5, '2Gi' -> 2147483648. Raises ValueError on anything Kubernetes rejects."""
    if isinstance(q, bool):
        raise ValueError(f"not a quantity: {q!r}")
    if isinstance(q, (int, float)):
        if q < 0:
            raise ValueError(f"negative quantity: {q!r}")
        return Decimal(str(q))
    m = QUANTITY_RE.match(str(q).strip())
    if not m:
        raise ValueError(f"not a Kubernetes quantity: {q!r} (examples: 500m, 2, 4Gi)")
    num, suf = Decimal(m.group("num")), m.group("suf") or ""
    if suf[:1] in ("e", "E"):
        return num * (Decimal(10) ** int(suf[1:]))
    return num * _SUFFIX[suf]
