"""An adversary's paired drop, and the worst case over several adversaries.

The worst case of a protocol is the largest true drop among the k personas planted in it.
The largest *observed* drop is chosen because it is large, so the chosen persona's own 95%
interval covers the worst true drop less often than 95% (with six harmless personas it
excludes 0 about one time in six). :func:`worst_case` gives an interval that holds whichever
persona is worst: each persona's interval at level ``1 - 0.05 / k`` (Bonferroni: all k hold
together at least 95% of the time), and then, since every true drop lies in its own interval,
the worst true drop lies between the largest lower end and the largest upper end. No interval
when any persona has none (nothing then bounds its true drop, nor the worst). Personas whose
observed drops tie for the largest are all returned, never one picked by name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from oversight.analysis._bootstrap import Resampler
from oversight.analysis._compare import paired_interval

__all__ = ["paired_drop", "worst_case"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Interval = tuple[float, float] | None


def paired_drop(
    benign: Floats, attacked: Floats, clusters: Ints, resampler: Resampler, *, level: float = 0.95
) -> tuple[float | None, Interval, int]:
    """Mean of ``benign - attacked`` (paired per question), its ``level`` interval by the rule
    of the report's paired comparisons (:func:`~oversight.analysis._compare.paired_interval`),
    and the number of clusters (``clusters``: each question's source code)."""
    if benign.size == 0:
        return None, None, 0
    ids, local = np.unique(clusters, return_inverse=True)
    d = benign - attacked
    ci, _ = paired_interval(d, local, ids, resampler, level=level)
    return float(d.mean()), ci, int(ids.size)


def worst_case(
    paired: Sequence[tuple[Floats, Floats, Ints]], resampler: Resampler, *, level: float = 0.95
) -> tuple[list[int], float | None, Interval]:
    """Of k personas' paired scores (benign, attacked, each question's source), the indices
    of those with the largest drop (several on a tie), that drop, and a ``level`` interval for
    the largest true drop among the k (see the module). Personas without a question in
    common with the benign condition take no part."""
    drops = {  # the observed drops alone: no interval is needed to choose the worst
        i: float((benign - attacked).mean())
        for i, (benign, attacked, _) in enumerate(paired)
        if benign.size
    }
    if not drops:
        return [], None, None
    top = max(drops.values())
    tied = [i for i, drop in drops.items() if math.isclose(drop, top, abs_tol=1e-12)]
    each = [
        paired_drop(*paired[i], resampler, level=1 - (1 - level) / len(drops))[1] for i in drops
    ]
    bounds = [ci for ci in each if ci is not None]
    if len(bounds) < len(each):
        return tied, top, None
    return tied, top, (max(lo for lo, _ in bounds), max(hi for _, hi in bounds))
