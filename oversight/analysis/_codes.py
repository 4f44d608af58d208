"""``np.unique`` of small non-negative integer codes, without sorting.

The analysis works on integer codes (transcript index, source cluster, a field's value
code, a verdict), and ``np.unique`` sorts them every time it is asked: at 100,000 judgments
a few hundred such calls cost a fifth of the report. Codes that are non-negative and not
much larger than the array they come in are counted instead (``np.bincount``), which gives
the same sorted values and the same inverse in linear time. Anything else (negative
values, a sparse range) goes to ``np.unique`` itself, so the result never differs.
"""

from __future__ import annotations

import numpy as np

from oversight.analysis._types import Ints

__all__ = ["unique_codes", "unique_rows"]


_SLACK = 1024
"""Counting is used while the largest code is below ``4 * size + _SLACK``."""


def _countable(values: Ints) -> bool:
    return (
        values.size > 0
        and values.dtype.kind in "iu"
        and int(values.min()) >= 0
        and int(values.max()) < 4 * values.size + _SLACK
    )


def unique_codes(values: Ints) -> tuple[Ints, Ints]:
    """``np.unique(values, return_inverse=True)`` for a 1-D integer array."""
    if not _countable(values):
        found, inverse = np.unique(values, return_inverse=True)
        return found, inverse.reshape(-1)
    present = np.bincount(values) > 0
    lookup = np.cumsum(present) - 1
    return np.flatnonzero(present).astype(values.dtype), lookup[values]


def unique_rows(stacked: Ints) -> tuple[Ints, Ints]:
    """``np.unique(stacked, axis=0, return_inverse=True)`` for a 2-D integer array: each
    row is read as one number in mixed radix (which orders rows as ``np.unique`` does,
    lexicographically), so the rows are counted like single codes."""
    if stacked.size == 0 or stacked.dtype.kind not in "iu" or int(stacked.min()) < 0:
        found, inverse = np.unique(stacked, axis=0, return_inverse=True)
        return found, inverse.reshape(-1)
    radix = [int(v) + 1 for v in stacked.max(axis=0)]
    place = [1] * len(radix)
    for j in range(len(radix) - 2, -1, -1):
        place[j] = place[j + 1] * radix[j + 1]
    if place[0] * radix[0] >= 2**62:
        found, inverse = np.unique(stacked, axis=0, return_inverse=True)
        return found, inverse.reshape(-1)
    weights = np.array(place, dtype=np.int64)
    keys, inverse = unique_codes(stacked.astype(np.int64) @ weights)
    rows = (keys[:, None] // weights) % np.array(radix, dtype=np.int64)
    return rows.astype(stacked.dtype), inverse
