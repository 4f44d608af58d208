"""The statistics, on plain numpy arrays.

What each per-judgment number means (score and verdict, confidence, Brier, binary Brier,
log score, ECE, selective accuracy) is defined once, in ``oversight/report/metrics.md``
(the report's "What the numbers mean", also on the documentation site); this module
computes exactly that, the scoring rule itself from :mod:`transcripts.scoring` (ties within
:data:`~transcripts.scoring.TIE_TOLERANCE`, the log score's floor
:data:`~transcripts.scoring.LOG_FLOOR`), on whole arrays.

Tests:

* **McNemar's exact test** on paired binary outcomes: with ``b`` pairs right only under the
  first condition and ``c`` right only under the second, the two-sided binomial test of
  ``b`` successes in ``b + c`` trials at ``p = 0.5`` (1.0 when ``b + c = 0``), i.e.
  ``min(1, 2 * P(X <= min(b, c)))`` for ``X ~ Binomial(b + c, 1/2)``, computed exactly in
  integers up to 500 discordant pairs, beyond with ``scipy.special.bdtr`` (the same number
  as ``scipy.stats.binomtest``, without importing scipy.stats, which costs most of a
  second).
* **Cohen's kappa** for two raters: ``(p_o - p_e) / (1 - p_e)`` from their contingency table.
* **Krippendorff's alpha** (nominal) for any number of raters with missing ratings, from the
  coincidence matrix: ``1 - (n - 1) * D_o / D_e`` with ``D_o`` the pairable within-unit
  disagreements and ``D_e = n**2 - sum_c n_c**2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from oversight.analysis._types import Floats, Ints
from transcripts.scoring import LOG_FLOOR, TIE_TOLERANCE

__all__ = [
    "LOG_FLOOR",
    "TIE_TOLERANCE",
    "RowMetrics",
    "alpha_columns",
    "alpha_from_sums",
    "bin_index",
    "calibration_bins",
    "cohens_kappa",
    "expected_calibration_error",
    "krippendorff_alpha",
    "mcnemar_exact",
    "row_metrics",
    "selective_accuracy",
]


@dataclass(frozen=True)
class RowMetrics:
    """Per-judgment metrics, one entry per row of the probability matrix."""

    score: Floats
    """1 / 0 / share of a tie (:func:`transcripts.scoring.score`)."""
    p_gold: Floats
    """Probability on the gold answer."""
    confidence: Floats
    """Largest probability."""
    brier: Floats
    """Multi-class Brier score."""
    log_score: Floats
    """Natural log of the (floored) probability on gold."""
    first: Floats
    """Like ``score``, but for the answer in column ``first`` instead of gold."""
    verdict: Ints
    """Column of the single most probable answer; -1 on a tie."""


def row_metrics(probs: Floats, gold: Ints, first: Ints | None = None) -> RowMetrics:
    """Metrics of each row of ``probs`` (rows padded with zeros to a common width)."""
    n = probs.shape[0]
    rows = np.arange(n)
    best = probs.max(axis=1) if n else np.zeros(0)
    top = probs >= (best - TIE_TOLERANCE)[:, None]
    n_top = top.sum(axis=1).astype(np.float64)
    p_gold = probs[rows, gold]
    score = top[rows, gold] / np.maximum(n_top, 1.0)
    onehot = np.zeros_like(probs)
    onehot[rows, gold] = 1.0
    brier = ((probs - onehot) ** 2).sum(axis=1)
    first_col = gold if first is None else first
    first_score = top[rows, first_col] / np.maximum(n_top, 1.0)
    verdict = np.where(n_top == 1, probs.argmax(axis=1) if n else rows, -1).astype(np.int64)
    return RowMetrics(
        score=score.astype(np.float64),
        p_gold=p_gold.astype(np.float64),
        confidence=best.astype(np.float64),
        brier=brier,
        log_score=np.log(np.clip(p_gold, LOG_FLOOR, 1.0)),
        first=first_score.astype(np.float64),
        verdict=verdict,
    )


def bin_index(confidence: Floats, n_bins: int) -> Ints:
    """The equal-width bin of each confidence, bins right-closed: ``(a, b]``, first ``[0, b]``."""
    # The small nudge keeps a confidence of exactly 0.3 in (0.2, 0.3] despite 0.3 * 10 > 3.
    index = np.ceil(confidence * n_bins - 1e-9).astype(np.int64) - 1
    return np.clip(index, 0, n_bins - 1)


def calibration_bins(
    confidence: Floats, score: Floats, n_bins: int = 10
) -> tuple[Ints, Floats, Floats]:
    """Per equal-width confidence bin: count, mean confidence and accuracy (NaN when empty)."""
    index = bin_index(confidence, n_bins)
    counts = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, weights=confidence, minlength=n_bins) / counts
        accuracy = np.bincount(index, weights=score, minlength=n_bins) / counts
    return counts.astype(np.int64), mean_conf, accuracy


def expected_calibration_error(confidence: Floats, score: Floats, n_bins: int = 10) -> float:
    """ECE over ``n_bins`` equal-width bins of the confidence; NaN without judgments."""
    if confidence.size == 0:
        return float("nan")
    index = bin_index(confidence, n_bins)
    gap = np.bincount(index, weights=score - confidence, minlength=n_bins)
    return float(np.abs(gap).sum() / confidence.size)


def selective_accuracy(
    confidence: Floats, score: Floats, thresholds: tuple[float, ...]
) -> list[tuple[float, int, float, float]]:
    """``(threshold, n, coverage, accuracy)`` for judgments with confidence >= each threshold."""
    out = []
    total = confidence.size
    for t in thresholds:
        keep = confidence >= t - TIE_TOLERANCE
        n = int(keep.sum())
        coverage = n / total if total else float("nan")
        accuracy = float(score[keep].mean()) if n else float("nan")
        out.append((t, n, coverage, accuracy))
    return out


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``."""
    n, low = b + c, min(b, c)
    if n == 0 or b == c:
        return 1.0
    if n > 500:  # exact integers get slow: the same sum in logs, relative to its largest
        # term C(n, low) (the terms fall towards k = 0 by the ratio k / (n - k + 1))
        k = np.arange(low, 0, -1, dtype=np.float64)
        below = np.concatenate([[0.0], np.cumsum(np.log(k / (n - k + 1.0)))])
        log_top = math.lgamma(n + 1) - math.lgamma(low + 1) - math.lgamma(n - low + 1)
        log_tail = log_top + math.log(float(np.exp(below).sum()))
        return min(1.0, 2.0 * math.exp(log_tail - n * math.log(2.0)))
    tail = sum(math.comb(n, k) for k in range(low + 1))
    return min(1.0, (2 * tail) / (1 << n))


def cohens_kappa(a: Ints, b: Ints) -> float:
    """Cohen's kappa between two raters' labels (same length); NaN when undefined."""
    if a.size == 0:
        return float("nan")
    labels, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
    k = labels.size
    table = np.zeros((k, k))
    np.add.at(table, (codes[: a.size], codes[a.size :]), 1.0)
    n = table.sum()
    p_o = np.trace(table) / n
    p_e = float((table.sum(axis=1) * table.sum(axis=0)).sum() / n**2)
    if p_e >= 1.0 - 1e-12:
        return float("nan")
    return float((p_o - p_e) / (1.0 - p_e))


def krippendorff_alpha(ratings: Ints) -> float:
    """Krippendorff's alpha (nominal) of a units x raters matrix; -1 marks a missing rating.

    Returns NaN when there is no disagreement to expect (fewer than two values in play).
    """
    if ratings.size == 0:
        return float("nan")
    valid = ratings >= 0
    labels, codes = np.unique(ratings[valid], return_inverse=True)
    if labels.size == 0:
        return float("nan")
    units = np.nonzero(valid)[0]
    counts = np.zeros((ratings.shape[0], labels.size))
    np.add.at(counts, (units, codes), 1.0)
    pairable = counts.sum(axis=1) >= 2
    sums = alpha_columns(counts[pairable]).sum(axis=0, keepdims=True)
    return float(alpha_from_sums(sums, labels.size)[0])


def alpha_columns(counts: Floats) -> Floats:
    """Per unit (a row of ``counts``: its values per label, two or more in all), the
    columns whose sums over units give Krippendorff's alpha (:func:`alpha_from_sums`):
    ``D_o,u = (m_u^2 - sum_c n_uc^2) / (m_u - 1)``, ``m_u`` and the ``n_uc``. Summed per
    source they are what the agreement intervals resample."""
    m = counts.sum(axis=1)
    d_o = (m**2 - (counts**2).sum(axis=1)) / (m - 1.0)
    columns: Floats = np.column_stack([d_o, m, counts])
    return columns


def alpha_from_sums(sums: Floats, n_labels: int) -> Floats:
    """Alpha from (D_o, n, n_c...) sums of :func:`alpha_columns`; rows are resamples (or
    the one total); NaN where no disagreement is expected (fewer than two values in play)."""
    d_o, n, n_c = sums[:, 0], sums[:, 1], sums[:, 2 : 2 + n_labels]
    expected = n**2 - (n_c**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: Floats = np.where(expected > 0, 1.0 - (n - 1.0) * d_o / expected, np.nan)
    return out
