"""Shares, means and their differences over items clustered by question source, with
percentile intervals of the cluster bootstrap (:mod:`oversight.analysis._bootstrap`).

Each item contributes sums to named columns; a statistic is the ratio of two columns' totals
(a share: successes over items measured; a mean: sum over count); a difference of two
statistics is computed within each resample, so its interval reflects their pairing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from oversight.analysis._bootstrap import (
    percentile_interval,
    resample_sums,
    rng_for,
    sums_by_cluster,
)
from oversight.analysis._data import Data, full_transcripts
from transcripts import RunStore, Transcript

__all__ = ["ClusterEstimate", "cluster_estimates", "transcripts_of"]


class ClusterEstimate(BaseModel):
    """A share, a mean or a difference, with its interval."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    value: float | None
    """The estimate; null when no item measures it."""
    ci95: tuple[float, float] | None = None
    """95% percentile interval of the cluster bootstrap; null with fewer than two sources."""
    n: int = 0
    """Items measured (for a difference: items measuring both sides, at most)."""


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
        return RunStore.open(run).transcripts.latest()
    return run


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
) -> dict[str, ClusterEstimate]:
    """Every ``ratios`` statistic (numerator column, denominator column) and every
    ``differences`` entry (statistic minus statistic), keyed by name."""
    names = sorted(set(clusters))
    index = np.array([names.index(c) for c in clusters], dtype=np.int64)
    values = np.array([[r[c] for c in columns] for r in rows], dtype=np.float64)
    sums = sums_by_cluster(index, values.reshape(len(rows), len(columns)), len(names))
    boot = resample_sums(sums, n_boot, rng_for(seed, *key))
    col = {c: i for i, c in enumerate(columns)}
    total = sums.sum(axis=0)

    def ratio(data: NDArray[np.float64], name: str) -> NDArray[np.float64]:
        num, den = ratios[name]
        with np.errstate(invalid="ignore", divide="ignore"):
            out: NDArray[np.float64] = data[..., col[num]] / data[..., col[den]]
        return out

    out: dict[str, ClusterEstimate] = {}
    for name, (_, den) in ratios.items():
        n = int(total[col[den]])
        interval = percentile_interval(ratio(boot, name), len(names)) if n else None
        out[name] = ClusterEstimate(
            value=float(ratio(total, name)) if n else None, ci95=interval, n=n
        )
    for name, (a, b) in differences.items():
        ea, eb = out[a], out[b]
        both = min(ea.n, eb.n)
        if ea.value is None or eb.value is None:
            out[name] = ClusterEstimate(value=None, n=both)
            continue
        samples = ratio(boot, a) - ratio(boot, b)
        out[name] = ClusterEstimate(
            value=ea.value - eb.value, ci95=percentile_interval(samples, len(names)), n=both
        )
    return out
