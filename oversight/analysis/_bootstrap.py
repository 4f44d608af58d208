"""The cluster bootstrap, vectorised.

Judgments of questions from the same source (e.g. the same story) are not independent, so
confidence intervals resample *sources* with replacement, each carrying all its rows: a
resample draws ``C`` sources out of ``C`` and every statistic is recomputed from the drawn
sources' sums. Every statistic here is a ratio or a difference of sums, so a resample
needs only per-source sums: ``resampled = W @ S`` with ``W[b, c]`` the number of times
source ``c`` was drawn in resample ``b`` and ``S[c, j]`` the sum of column ``j`` over
source ``c``'s rows. Resamples are drawn in chunks to bound memory.

The draws depend only on the seed and on *which* sources are resampled, so every interval is
reproducible on its own, and statistics over the same sources (e.g. two judges on the same
questions) share their draws, which keeps differences between them from being blurred by
independent resampling noise.

Intervals are percentile intervals (the 2.5th and 97.5th percentiles of the resampled
statistic). A resample in which a ratio's denominator is zero (a slice none of whose
sources was drawn) is left out of that statistic's interval. Fewer than two sources give
no interval (None): one cluster says nothing about the variation between clusters; nor do
resamples that all give the same value (e.g. every item right), which give None too.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict

import numpy as np

from oversight.analysis._types import Floats, Ints

__all__ = ["Resampler", "percentile_interval", "resample_sums", "rng_for", "sums_by_cluster"]


_CHUNK_CELLS = 4_000_000
"""Upper bound on resamples x clusters held in memory at once."""
_CACHE_ENTRIES = 4
"""Weight matrices (of at most ``_CHUNK_CELLS`` cells) a :class:`Resampler` keeps."""


def rng_for(seed: int, *key: str) -> np.random.Generator:
    """A generator seeded by ``seed`` and a text key, so each result is reproducible alone."""
    return np.random.default_rng([seed, *(zlib.crc32(k.encode()) for k in key)])


def sums_by_cluster(cluster: Ints, values: Floats, n_clusters: int) -> Floats:
    """Per-cluster column sums: ``values`` is rows x columns, the result clusters x columns."""
    if values.ndim == 1:
        values = values[:, None]
    out = np.zeros((n_clusters, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(cluster, weights=values[:, j], minlength=n_clusters)
    return out


def resample_sums(sums: Floats, n_boot: int, rng: np.random.Generator) -> Floats:
    """Column sums of ``n_boot`` cluster resamples: an ``n_boot x columns`` matrix."""
    n_clusters = sums.shape[0]
    out = np.empty((n_boot, sums.shape[1]))
    if n_clusters == 0:
        out.fill(np.nan)
        return out
    chunk = max(1, min(n_boot, _CHUNK_CELLS // n_clusters))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        draws = rng.integers(0, n_clusters, size=(b, n_clusters))
        out[start : start + b] = _weights(draws, n_clusters) @ sums
    return out


def _weights(draws: Ints, n_clusters: int) -> Floats:
    """Times each cluster was drawn, per resample (row)."""
    b = draws.shape[0]
    flat = (draws + (np.arange(b) * n_clusters)[:, None]).ravel()
    counts = np.bincount(flat, minlength=b * n_clusters).reshape(b, n_clusters)
    return counts.astype(np.float64)


class Resampler:
    """Cluster resamples keyed by the set of clusters, cached and reused.

    Example::

        resampler = Resampler(n_boot=2000, seed=0)
        boot = resampler.sums(clusters, sums_by_cluster(local, values, clusters.size))
    """

    __slots__ = ("_cache", "n_boot", "seed")

    def __init__(self, n_boot: int, seed: int) -> None:
        self.n_boot = n_boot
        self.seed = seed
        self._cache: OrderedDict[bytes, Floats] = OrderedDict()

    def sums(self, clusters: Ints, sums: Floats) -> Floats:
        """Column sums of the resamples: ``clusters`` are the (global) ids of ``sums``' rows."""
        clusters = np.ascontiguousarray(clusters, dtype=np.int64)
        n = clusters.size
        key = clusters.tobytes()
        rng = np.random.default_rng([self.seed, n, zlib.crc32(key)])
        if n == 0 or self.n_boot * n > _CHUNK_CELLS:
            return resample_sums(sums, self.n_boot, rng)
        weights = self._cache.get(key)
        if weights is None:
            weights = _weights(rng.integers(0, n, size=(self.n_boot, n)), n)
            self._cache[key] = weights
            if len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return weights @ sums


def percentile_interval(
    samples: Floats, n_clusters: int, level: float = 0.95
) -> tuple[float, float] | None:
    """The percentile interval of the finite samples; None without two clusters or samples,
    or when every resample gave the same value (no variation between sources to measure:
    a zero-width interval would claim certainty)."""
    if n_clusters < 2:
        return None
    finite = samples[np.isfinite(samples)]
    if finite.size < 2 or np.ptp(finite) == 0:
        return None
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(finite, [tail, 100.0 - tail])
    return float(lo), float(hi)
