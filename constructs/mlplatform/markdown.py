"""Markdown for the review pages (`INVENTORY.md`, `app.py envdiff`): escaped tables, natural sort
order and plain numbers, so two runs over the same env give the same bytes."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

NONE = "—"


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
