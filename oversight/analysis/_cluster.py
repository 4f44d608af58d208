"""Shares, means and their differences over items clustered by question source, with
intervals by the report's one rule for every mean (:mod:`oversight.analysis._groups`):
over the sources of the statistic's own items (none from one), below
:data:`~oversight.analysis._smallsample.SMALL_SAMPLE_CLUSTERS` of them (or without spread)
CR2 with a Bell-McCaffrey t (:mod:`oversight.analysis._smallsample`; a share every item
scored alike, 0 or 1, gets Clopper-Pearson with each source counted once), from there on
percentile intervals of the cluster bootstrap (:mod:`oversight.analysis._bootstrap`).

Each item contributes sums to named columns; a statistic is the ratio of two columns' totals
(a share: successes over items measured; a mean: sum over count, e.g. over ratings, which
CR2 fits as the weighted mean of the items' own means); a difference of two statistics is
computed within each resample, or fitted with both means in one CR2 model, so its interval
reflects their pairing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from functools import partial

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from oversight.analysis._bootstrap import resample_sums, rng_for, sums_by_cluster
from oversight.analysis._data import Data, full_transcripts
from oversight.analysis._interval_rule import ruled
from oversight.analysis._smallsample import difference_interval, mean_interval
from transcripts import RunStore, Transcript

__all__ = ["ClusterEstimate", "cluster_estimates", "transcripts_of"]


class ClusterEstimate(BaseModel):
    """A share, a mean or a difference, with its interval."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    value: float | None
    """The estimate; null when no item measures it."""
    ci95: tuple[float, float] | None = None
    """95% interval (``ci_method`` says which); null with fewer than two sources or, but for
    a share (Clopper-Pearson), without variation to estimate from."""
    n: int = 0
    """Items measured (for a difference: items measuring both sides, at most)."""
    ci_method: str | None = None
    """How ``ci95`` was computed, or why there is none; null when nothing is measured."""


def transcripts_of(
    run: RunStore | str | os.PathLike[str] | Data | Iterable[Transcript],
) -> Iterable[Transcript]:
    """The latest record of every transcript of ``run`` (a store, a folder, or transcripts);
    of already loaded :class:`Data`, only those with a critique outcome or a tree."""
    if isinstance(run, Data):
        return full_transcripts(run, (i for i, t in enumerate(run.transcripts) if t.extra))
    if isinstance(run, RunStore):
        return run.transcripts.latest()
    if isinstance(run, str | os.PathLike):
        return _latest(run)
    return run


def _latest(path: str | os.PathLike[str]) -> Iterator[Transcript]:
    """The latest transcripts of the run at ``path``; its store closed once they are read."""
    with RunStore.open(path) as store:
        yield from store.transcripts.latest()


def cluster_estimates(
    rows: Sequence[Mapping[str, float]],
    clusters: Sequence[str],
    columns: Sequence[str],
    ratios: Mapping[str, tuple[str, str]],
    differences: Mapping[str, tuple[str, str]],
    *,
    n_boot: int,
    seed: int,
    key: tuple[str, ...],
    shares: Collection[str] = (),
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, ClusterEstimate]:
    """Every ``ratios`` statistic (numerator column, denominator column) and every
    ``differences`` entry (statistic minus statistic), keyed by name. ``shares`` name the
    ratios that are shares in [0, 1]; ``bounds`` the range of the others (unbounded if not
    given); a difference's range follows from its sides'."""
    names = sorted(set(clusters))
    index = np.array([names.index(c) for c in clusters], dtype=np.int64)
    values = np.array([[r[c] for c in columns] for r in rows], dtype=np.float64)
    values = values.reshape(len(rows), len(columns))
    col = {c: i for i, c in enumerate(columns)}
    total = values.sum(axis=0)
    boot: NDArray[np.float64] | None = None

    def resampled(name: str) -> NDArray[np.float64]:
        nonlocal boot
        if boot is None:  # drawn only when some statistic has the sources for it
            sums = sums_by_cluster(index, values, len(names))
            boot = resample_sums(sums, n_boot, rng_for(seed, *key))
        num, den = ratios[name]
        with np.errstate(invalid="ignore", divide="ignore"):
            out: NDArray[np.float64] = boot[:, col[num]] / boot[:, col[den]]
        return out

    def items(name: str) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
        """Each measuring item's own value, source and weight (its denominator)."""
        num, den = ratios[name]
        mask = values[:, col[den]] > 0
        weight = values[mask, col[den]]
        return values[mask, col[num]] / weight, index[mask], weight

    def contrast(a: str, b: str) -> NDArray[np.float64]:
        return resampled(a) - resampled(b)

    def span(name: str) -> tuple[float, float]:
        return (0.0, 1.0) if name in shares else (bounds or {}).get(name, (-math.inf, math.inf))

    out: dict[str, ClusterEstimate] = {}
    for name, (num, den) in ratios.items():
        n = int(total[col[den]])
        if not n:
            out[name] = ClusterEstimate(value=None, n=n)
            continue
        y, cl, w = items(name)
        value = float(total[col[num]] / total[col[den]])
        kind = "share" if name in shares else "mean"
        weights = None if (w == 1.0).all() else w
        ci95, how = ruled(
            int(np.unique(cl).size),
            varies=bool(np.ptp(y) > 0),
            cr2=partial(mean_interval, y, cl, kind, weights=weights, bounds=span(name)),
            bootstrap=partial(resampled, name),
            alike=f"item scored {value:g}" if np.ptp(y) == 0 and value in (0.0, 1.0) else None,
        )
        out[name] = ClusterEstimate(value=value, ci95=ci95, n=n, ci_method=how)
    for name, (a, b) in differences.items():
        ea, eb = out[a], out[b]
        both = min(ea.n, eb.n)
        if ea.value is None or eb.value is None:
            out[name] = ClusterEstimate(value=None, n=both)
            continue
        (ya, ca, wa), (yb, cb, wb) = items(a), items(b)
        (la, ha), (lb, hb) = span(a), span(b)
        ci95, how = ruled(
            int(np.unique(np.concatenate([ca, cb])).size),
            varies=bool(np.ptp(np.concatenate([ya, yb])) > 0),
            cr2=partial(
                difference_interval,
                ya,
                ca,
                yb,
                cb,
                a_weights=wa,
                b_weights=wb,
                bounds=(la - hb, ha - lb),
            ),
            bootstrap=partial(contrast, a, b),
        )
        out[name] = ClusterEstimate(value=ea.value - eb.value, ci95=ci95, n=both, ci_method=how)
    return out
