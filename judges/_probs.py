"""Probability vectors: validation, normalisation and combination (mean or majority)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from transcripts.errors import JudgeError
from transcripts.scoring import vote

__all__ = ["Combine", "combine", "exact", "normalise"]

Combine = Literal["mean", "majority"]
"""How several probability vectors become one: their mean, or the share of votes."""

SUM_TOLERANCE = 0.05
"""Error in a sum that is renormalised without complaint (0.97 and 1.02 pass; 0.8 does not)."""


def normalise(values: Sequence[float], *, tolerance: float = SUM_TOLERANCE) -> list[float]:
    """``values`` scaled to sum to exactly 1; refuses NaN, infinities, negatives and all-zero.

    A sum off by more than ``tolerance`` (relative) is refused too: such a reply did not
    give probabilities, and rescaling it would be a guess.
    """
    floats = [float(v) for v in values]
    if not floats:
        raise JudgeError("no probabilities given")
    if any(math.isnan(v) or math.isinf(v) for v in floats):
        raise JudgeError(f"probabilities must be finite numbers, got {floats}")
    if any(v < 0 for v in floats):
        raise JudgeError(f"probabilities must not be negative, got {floats}")
    if any(v > 1.0 + tolerance for v in floats):
        raise JudgeError(f"probabilities must be at most 1, got {floats}")
    total = math.fsum(floats)
    if total <= 0:
        raise JudgeError(f"probabilities are all zero: {floats}")
    if abs(total - 1.0) > tolerance:
        raise JudgeError(f"probabilities must sum to 1, got {floats} (sum {total:.3f})")
    return exact(floats)


def exact(values: Sequence[float]) -> list[float]:
    """Divide by the sum, clamp to [0, 1]: a vector that passes the Judgment validator."""
    total = math.fsum(values)
    scaled = [min(1.0, max(0.0, v / total)) for v in values]
    return scaled


def combine(vectors: Sequence[Sequence[float]], how: Combine) -> list[float]:
    """Mean of the vectors, or (``majority``) the share of votes each answer received."""
    if not vectors:
        raise JudgeError("nothing to combine")
    if len({len(v) for v in vectors}) != 1:
        raise JudgeError(f"cannot combine vectors of different lengths: {list(vectors)}")
    rows = [vote(v) for v in vectors] if how == "majority" else [list(v) for v in vectors]
    n = len(rows)
    return exact([math.fsum(column) / n for column in zip(*rows, strict=True)])
