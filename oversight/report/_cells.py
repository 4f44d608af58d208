"""The cells of the report's tables: how a value, a proportion, a difference, an interval
and a p-value print, and the :class:`Table` they go in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DASH = "—"


@dataclass
class Table:
    """A titled table of strings; ``numeric`` columns are right-aligned."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    numeric: set[int] = field(default_factory=set)
    note: str = ""


def value(v: Any) -> str:
    """A grouping value for display."""
    return DASH if v is None else str(v)


def pct(x: float | None, digits: int = 1) -> str:
    """``0.723`` -> ``72.3%``."""
    return DASH if x is None else f"{100 * x:z.{digits}f}%"


def signed_num(x: float, digits: int = 1) -> str:
    """A difference, signed: ``+0.12``, ``-3.4``; one that rounds to zero is ``+0.0``, never
    ``-0.0`` (its sign would be the last bits of a numpy build)."""
    return f"{x:+z.{digits}f}"


def pp(x: float | None) -> str:
    """A difference of proportions in percentage points, signed."""
    return DASH if x is None else f"{signed_num(100 * x)} pp"


def num(x: float | None, digits: int = 3) -> str:
    """A plain number."""
    return DASH if x is None else f"{x:z.{digits}f}"


def ci(
    interval: tuple[float, float] | None,
    *,
    scale: float = 100,
    signed: bool = False,
    digits: int = 1,
) -> str:
    """``[68.1, 76.0]`` (percent by default; a bound that rounds to zero prints as 0.0)."""
    if interval is None:
        return DASH
    lo, hi = scale * interval[0], scale * interval[1]
    if signed:
        return f"[{signed_num(lo, digits)}, {signed_num(hi, digits)}]"
    return f"[{lo:z.{digits}f}, {hi:z.{digits}f}]"  # z: a bound that rounds to 0 is 0.0


def _ci_or_why(
    interval: tuple[float, float] | None, n_clusters: int, *, signed: bool = False
) -> str:
    """The interval, or why there is none: one source says nothing about the variation
    between sources, so no interval is drawn from it."""
    if interval is None and n_clusters < 2:
        return f"{DASH} ({n_clusters} source{'' if n_clusters == 1 else 's'})"
    return ci(interval, signed=signed)


def _p(p: float | None) -> str:
    if p is None:
        return DASH
    if p < 1e-16:
        return "<1e-16"
    return f"{p:.3g}" if p >= 1e-4 else f"{p:.1e}"
