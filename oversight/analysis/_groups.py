"""Per-group statistics and the assisted-vs-unassisted comparisons.

Comparisons pair *questions*: within one stratum (a combination of the ``by`` fields other
than condition and protocol, e.g. one judge), each question's score under a condition is
the mean score of its judgments there (several orders, sides or repeats average out). For
an assisted condition ``A`` and the unassisted baseline ``U``, over the questions both have:

* ``difference = mean_q (A_q - U_q)``, with a paired cluster-bootstrap interval
  (sources are resampled with all their paired questions);
* McNemar's exact test on the per-question majority outcomes (``A_q > 0.5`` right,
  ``< 0.5`` wrong, ``= 0.5`` left out). It treats questions as independent; the bootstrap
  interval is the one that respects clustering;
* with an expert condition ``E`` too, over the questions all three share,
  ``gap closed = (A - U) / (E - U)``: 0 means no better than unassisted, 1 means as good as
  the expert. Undefined (null) when ``E <= U``. Resamples with ``E <= U`` are left out of its
  interval.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from numpy.typing import NDArray

from oversight.analysis._bootstrap import Resampler, percentile_interval, sums_by_cluster
from oversight.analysis._data import Data
from oversight.analysis._schema import (
    CalibrationBin,
    Comparison,
    GroupStats,
    McNemar,
    SelectivePoint,
    Slice,
)
from oversight.analysis._stats import (
    RowMetrics,
    calibration_bins,
    expected_calibration_error,
    mcnemar_exact,
    selective_accuracy,
)

__all__ = ["compare", "group_stats"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]

_MAX_ROUND_SLICES = 30


def _mean(x: Floats) -> float | None:
    return float(x.mean()) if x.size else None


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def group_stats(
    data: Data,
    metrics: RowMetrics,
    rows: Ints,
    *,
    by: dict[str, object],
    label: str,
    resampler: Resampler,
    thresholds: tuple[float, ...],
    n_bins: int,
) -> GroupStats:
    """Statistics of the judgments ``rows`` (any status) forming one group."""
    status = data.status[rows]
    scored = rows[data.scored[rows]]
    t = data.t[scored]
    score = metrics.score[scored]
    conf = metrics.confidence[scored]
    rounds = data.rounds[scored]
    clusters, cluster = np.unique(data.t_cluster[t], return_inverse=True)
    n_clusters = clusters.size

    # Every interval in the group is a ratio of sums: stack (numerator, denominator) columns.
    columns: list[tuple[str, object, Floats]] = [("all", None, np.ones(score.size))]
    finite_rounds = rounds[np.isfinite(rounds)]
    round_values = np.unique(finite_rounds)
    if round_values.size <= _MAX_ROUND_SLICES:
        for v in round_values:
            columns.append(("rounds", v, (rounds == v).astype(np.float64)))
    positions = data.t_gold_position[t]
    for v in np.unique(positions[positions >= 0]):
        columns.append(("position", v, (positions == v).astype(np.float64)))
    sides = data.t_side[t]
    for v in (1, 0):
        if (sides == v).any():
            columns.append(("side", v, (sides == v).astype(np.float64)))
    den = np.stack([c[2] for c in columns], axis=1)
    num = den * score[:, None]
    sums = sums_by_cluster(cluster, np.concatenate([num, den], axis=1), n_clusters)
    boot = resampler.sums(clusters, sums)
    m = len(columns)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = boot[:, :m] / boot[:, m:]

    slices: dict[str, list[Slice]] = {"rounds": [], "position": [], "side": []}
    overall: tuple[float, float] | None = None
    for j, (kind, value, mask) in enumerate(columns):
        n = int(mask.sum())
        acc = float(num[:, j].sum() / n) if n else None
        interval = percentile_interval(ratios[:, j], n_clusters)
        if kind == "all":
            overall = interval
            continue
        shown: str | int | float | None
        if kind == "side":
            shown = "correct" if value == 1 else "incorrect"
        elif kind == "position":
            shown = int(value)  # type: ignore[call-overload]
        else:
            as_float = float(value)  # type: ignore[arg-type]
            shown = int(as_float) if as_float.is_integer() else as_float
        slices[kind].append(Slice(value=shown, n=n, accuracy=acc, ci95=interval))

    counts, mean_conf, bin_acc = calibration_bins(conf, score, n_bins)
    calibration = [
        CalibrationBin(
            lower=b / n_bins,
            upper=(b + 1) / n_bins,
            n=int(counts[b]),
            mean_confidence=_num(mean_conf[b]),
            accuracy=_num(bin_acc[b]),
        )
        for b in range(n_bins)
    ]
    selective = [
        SelectivePoint(threshold=th, n=n, coverage=_num(cov), accuracy=_num(acc))
        for th, n, cov, acc in selective_accuracy(conf, score, thresholds)
    ]
    ece = expected_calibration_error(conf, score, n_bins)
    return GroupStats(
        by=by,
        label=label,
        n=int(scored.size),
        n_failed=int((status == 1).sum()),
        n_skipped=int((status == 2).sum()),
        n_unscored=int(((status == 0) & ~data.scored[rows]).sum()),
        n_transcripts=int(np.unique(t).size),
        n_questions=int(np.unique(data.t_question[t]).size),
        n_clusters=int(n_clusters),
        accuracy=_mean(score),
        ci95=overall,
        mean_p_gold=_mean(metrics.p_gold[scored]),
        brier=_mean(metrics.brier[scored]),
        log_score=_mean(metrics.log_score[scored]),
        ece=_num(ece),
        mean_rounds=_mean(finite_rounds),
        picks_first=_mean(metrics.first[scored]),
        calibration=calibration,
        selective=selective,
        by_rounds=slices["rounds"],
        by_gold_position=slices["position"],
        by_assigned_side=slices["side"],
    )


def _question_means(
    data: Data, score: Floats, rows: Ints, n_questions: int
) -> tuple[Floats, Bools]:
    """Mean score per question over ``rows``, and which questions have any."""
    q = data.t_question[data.t[rows]]
    total = np.bincount(q, weights=score[rows], minlength=n_questions)
    count = np.bincount(q, minlength=n_questions)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count, count > 0


def _mcnemar(a: Floats, u: Floats) -> McNemar:
    decided = (a != 0.5) & (u != 0.5)
    ra, ru = a[decided] > 0.5, u[decided] > 0.5
    b, c = int((ra & ~ru).sum()), int((~ra & ru).sum())
    return McNemar(
        assisted_only=b,
        baseline_only=c,
        both=int((ra & ru).sum()),
        neither=int((~ra & ~ru).sum()),
        excluded=int((~decided).sum()),
        p_value=mcnemar_exact(b, c),
    )


def compare(
    data: Data,
    metrics: RowMetrics,
    rows_by_condition: dict[str, Ints],
    protocol_of: dict[str, str],
    *,
    by: dict[str, object],
    resampler: Resampler,
    warnings: list[str],
) -> list[Comparison]:
    """Every assisted condition against every unassisted one, within one stratum."""
    baselines = sorted(c for c in rows_by_condition if protocol_of[c] == "unassisted")
    experts = sorted(c for c in rows_by_condition if protocol_of[c] == "expert")
    assisted = [c for c in rows_by_condition if protocol_of[c] not in ("unassisted", "expert")]
    n_q = data.n_questions
    q_cluster = np.zeros(n_q, dtype=np.int64)
    q_cluster[data.t_question] = data.t_cluster
    means = {
        c: _question_means(data, metrics.score, rows, n_q) for c, rows in rows_by_condition.items()
    }
    where = " · ".join(f"{k}={v}" for k, v in by.items())
    out = []
    for base in baselines:
        u, has_u = means[base]
        for cond in assisted:
            a, has_a = means[cond]
            pairs = np.nonzero(has_a & has_u)[0]
            expert_names: list[str | None] = [*experts] or [None]
            for expert in expert_names:
                out.append(
                    _one(
                        a, u, pairs, q_cluster,
                        means[expert] if expert else None,
                        by=by, names=(cond, base, expert),
                        resampler=resampler, warnings=warnings, where=where,
                    )
                )
    return out


def _one(
    a: Floats,
    u: Floats,
    pairs: Ints,
    q_cluster: Ints,
    expert: tuple[Floats, Bools] | None,
    *,
    by: dict[str, object],
    names: tuple[str, str, str | None],
    resampler: Resampler,
    warnings: list[str],
    where: str,
) -> Comparison:
    cond, base, expert_name = names
    clusters, cluster = np.unique(q_cluster[pairs], return_inverse=True)
    if pairs.size == 0:
        warnings.append(f"{cond} vs {base}{' (' + where + ')' if where else ''}: no question "
                        f"was judged under both, so they cannot be compared")
    values = np.stack([a[pairs], u[pairs], np.ones(pairs.size)], axis=1)
    boot = resampler.sums(clusters, sums_by_cluster(cluster, values, clusters.size))
    with np.errstate(invalid="ignore", divide="ignore"):
        diffs = (boot[:, 0] - boot[:, 1]) / boot[:, 2]
    acc_a = _mean(a[pairs])
    acc_u = _mean(u[pairs])
    difference = None if acc_a is None or acc_u is None else acc_a - acc_u

    gap = gap_ci = acc_e = None
    n_gap = 0
    if expert is not None:
        e, has_e = expert
        triples = pairs[has_e[pairs]]
        n_gap = int(triples.size)
        if n_gap:
            ea, eu, ee = a[triples].mean(), u[triples].mean(), e[triples].mean()
            acc_e = float(ee)
            if ee - eu > 0:
                gap = float((ea - eu) / (ee - eu))
                tc, tcluster = np.unique(q_cluster[triples], return_inverse=True)
                tsums = sums_by_cluster(
                    tcluster, np.stack([a[triples], u[triples], e[triples]], axis=1), tc.size
                )
                tboot = resampler.sums(tc, tsums)
                span = tboot[:, 2] - tboot[:, 1]
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = np.where(span > 0, (tboot[:, 0] - tboot[:, 1]) / span, np.nan)
                gap_ci = percentile_interval(ratio, int(tc.size))
            else:
                warnings.append(
                    f"gap closed for {cond} vs {base}{' (' + where + ')' if where else ''} is "
                    f"undefined: the expert condition {expert_name} is not more accurate than "
                    f"the baseline ({ee:.3f} <= {eu:.3f})"
                )
    return Comparison(
        by=by,
        assisted=cond,
        baseline=base,
        expert=expert_name,
        n_questions=int(pairs.size),
        n_clusters=int(clusters.size),
        accuracy_assisted=acc_a,
        accuracy_baseline=acc_u,
        difference=difference,
        ci95=percentile_interval(diffs, int(clusters.size)),
        mcnemar=_mcnemar(a[pairs], u[pairs]) if pairs.size else None,
        n_questions_gap=n_gap,
        accuracy_expert=acc_e,
        gap_closed=gap,
        gap_closed_ci95=gap_ci,
    )


def protocols_of(data: Data, rows: Ints) -> dict[str, str]:
    """Each condition's protocol (the most common one among its transcripts)."""
    seen: dict[str, Counter[str]] = {}
    for t in np.unique(data.t[rows]):
        tr = data.transcripts[t]
        seen.setdefault(tr.condition, Counter())[tr.protocol] += 1
    return {c: counter.most_common(1)[0][0] for c, counter in seen.items()}
