"""Agreement between judges on the same transcripts, keeping every judgment.

Verdicts are the single most probable answer (ties left out), over judgments with valid
probabilities, gold or not. Every judgment counts: a judge (or, for people, each annotator)
that judged a transcript twice contributes both verdicts.

* **Krippendorff's alpha** (nominal) over all verdicts per transcript (the unit): from the
  coincidence matrix, ``alpha = 1 - (n - 1) D_o / (n^2 - sum_c n_c^2)`` with
  ``D_o = sum_u (m_u^2 - sum_c n_uc^2) / (m_u - 1)`` over units with ``m_u >= 2`` values.
* **Cohen's kappa** per pair of judge names, over every pair of one verdict of each on the
  same transcript.

Both are functions of sums over transcripts, so their intervals come from per-source sums
(:func:`agreement_interval`): below 50 sources the delete-one-source jackknife t, from
there on the percentile cluster bootstrap (sources resampled with all their transcripts).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from itertools import combinations

import numpy as np

from oversight.analysis._bootstrap import Resampler, percentile_interval, sums_by_cluster
from oversight.analysis._codes import unique_codes, unique_rows
from oversight.analysis._data import Data
from oversight.analysis._schema import Agreement, JudgePairAgreement
from oversight.analysis._smallsample import SMALL_SAMPLE_CLUSTERS, t_quantile
from oversight.analysis._stats import RowMetrics, alpha_columns, alpha_from_sums
from oversight.analysis._types import Floats, Ints

__all__ = ["agreement", "agreement_interval", "alpha_from_sums", "kappa_from_sums"]


def kappa_from_sums(cells: Floats, k: int) -> Floats:
    """Kappa from the flattened k x k tables; rows are resamples (or the one total)."""
    table = cells.reshape(-1, k, k)
    n = table.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p_o = np.trace(table, axis1=1, axis2=2) / n
        p_e = (table.sum(axis=2) * table.sum(axis=1)).sum(axis=1) / n**2
        out: Floats = np.where(p_e < 1.0 - 1e-12, (p_o - p_e) / (1.0 - p_e), np.nan)
    return out


def agreement_interval(
    statistic: Callable[[Floats], Floats],
    sums: Floats,
    boot: Callable[[], Floats],
    level: float = 0.95,
) -> tuple[float, float] | None:
    """The 95% interval of an agreement statistic (kappa, alpha) of per-source ``sums``
    (sources x columns; ``statistic`` maps rows of column sums to values): below
    :data:`SMALL_SAMPLE_CLUSTERS` sources the delete-one-source jackknife t, ``estimate +-
    t(C - 1) * se`` with ``se^2 = (C - 1) / C * sum_c (est_(-c) - mean)^2``, clipped to [-1,
    1] (the percentile bootstrap covered 88% at 8 sources: benchmarks/
    bench_coverage_agreement.py); from there on the percentile interval of the ``boot()``
    resamples. None with fewer than two sources or no spread between them."""
    n = sums.shape[0]
    if n < 2:
        return None
    if n >= SMALL_SAMPLE_CLUSTERS:
        return percentile_interval(statistic(boot()), n, level)
    total = sums.sum(axis=0, keepdims=True)
    estimate = float(statistic(total)[0])
    left = statistic(total - sums)
    if not np.isfinite(estimate) or not np.isfinite(left).all():
        return None  # a source whose removal leaves the statistic undefined
    se = float(np.sqrt((n - 1) / n * ((left - left.mean()) ** 2).sum()))
    if not se > 1e-12:
        return None
    half = t_quantile(0.5 + level / 2, n - 1) * se
    return max(-1.0, estimate - half), min(1.0, estimate + half)


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def agreement(
    data: Data,
    metrics: RowMetrics,
    rows: Ints,
    *,
    resampler: Resampler,
    condition: str | None = None,
) -> Agreement | None:
    """Agreement between the judges of ``rows`` on the transcripts they share."""
    rows = rows[data.valid[rows] & (metrics.verdict[rows] >= 0)]
    names = sorted({data.judge[r].name for r in rows})
    if len(names) < 2:
        return None
    t = data.t[rows]
    per_unit = np.bincount(t, minlength=len(data.transcripts))
    index = {name: i for i, name in enumerate(names)}
    name_code = np.array([index[data.judge[r].name] for r in rows], dtype=np.int64)
    # Transcripts judged by at least two different judge names.
    pairs_tj = unique_rows(np.stack([t, name_code], axis=1))[0]
    judges_on = np.bincount(pairs_tj[:, 0], minlength=len(data.transcripts))
    shared_units = np.nonzero((judges_on >= 2) & (per_unit >= 2))[0].astype(np.int64)
    if shared_units.size == 0:
        return None
    keep = np.isin(t, shared_units)
    rows, t, judge = rows[keep], t[keep], name_code[keep]
    verdict = metrics.verdict[rows]
    labels, code = unique_codes(verdict)
    n_labels = labels.size
    units, unit = unique_codes(t)
    counts = np.zeros((units.size, n_labels))
    np.add.at(counts, (unit, code), 1.0)
    clusters, cluster = unique_codes(data.t_cluster[units])
    alpha_sums = sums_by_cluster(cluster, alpha_columns(counts), clusters.size)
    alpha = alpha_from_sums(alpha_sums.sum(axis=0, keepdims=True), n_labels)[0]
    alpha_ci = agreement_interval(
        partial(alpha_from_sums, n_labels=n_labels),
        alpha_sums,
        partial(resampler.sums, clusters, alpha_sums),
    )

    # Per transcript, judge and label: how many verdicts. Every pair of one verdict of each
    # of two judges on a transcript is a rating pair, so a pair's table is sum_u outer().
    per = np.zeros((units.size, len(names), n_labels))
    np.add.at(per, (unit, judge, code), 1.0)
    pairs = []
    for a, b in combinations(range(len(names)), 2):
        cells = (per[:, a, :, None] * per[:, b, None, :]).reshape(units.size, -1)
        n_pairs = cells.sum(axis=1)
        shared = n_pairs > 0
        if not shared.any():
            continue
        cells = cells[shared]
        pc, pcluster = unique_codes(cluster[shared])
        sums = sums_by_cluster(pcluster, cells, pc.size)
        total = sums.sum(axis=0, keepdims=True)
        kappa = kappa_from_sums(total, n_labels)[0]
        kappa_ci = agreement_interval(
            partial(kappa_from_sums, k=n_labels),
            sums,
            partial(resampler.sums, clusters[pc], sums),
        )
        n = float(total.sum())
        pairs.append(
            JudgePairAgreement(
                judge_a=names[a],
                judge_b=names[b],
                n=round(n),
                n_transcripts=int(shared.sum()),
                observed=float(np.trace(total.reshape(n_labels, n_labels)) / n),
                kappa=_num(kappa),
                kappa_ci95=kappa_ci if np.isfinite(kappa) else None,
            )
        )
    return Agreement(
        condition=condition,
        judges=names,
        n_transcripts=int(units.size),
        n_judgments=int(rows.size),
        alpha=_num(alpha),
        alpha_ci95=alpha_ci if np.isfinite(alpha) else None,
        pairs=pairs,
    )
