"""Per-group statistics.

Every mean (accuracy, Brier, log score, accuracy in a slice) gets an interval from the
clusters (sources) of *its own* judgments: a slice with one source gets none, whatever the
group has. Below :data:`~oversight.analysis._smallsample.SMALL_SAMPLE_CLUSTERS` sources
the interval is CR2 with a Bell-McCaffrey t (see :mod:`oversight.analysis._smallsample`),
from there on the percentile cluster bootstrap; judgments from two or more annotators
(people) are clustered by source and annotator (:mod:`oversight.analysis._twoway`);
``ci_method`` says which. ECE is not a mean,
so its interval is always the percentile cluster bootstrap (ECE is biased upwards in small
samples; no debiasing is applied, so read a small ECE with its interval).

Consultancy is also reported as Khan et al. (2024) define it: **balanced accuracy**, the
mean of the accuracy when the consultant argued the correct answer and when it argued an
incorrect one, so the share of honest consultants does not drive the number.
"""

from __future__ import annotations

from collections import Counter
from functools import partial

import numpy as np

from oversight.analysis._bootstrap import Resampler, percentile_interval, sums_by_cluster
from oversight.analysis._codes import unique_codes
from oversight.analysis._data import Data
from oversight.analysis._interval_rule import Ruled, ruled
from oversight.analysis._schema import CalibrationBin, GroupStats, SelectivePoint, Slice
from oversight.analysis._smallsample import (
    SMALL_SAMPLE_CLUSTERS,
    balanced_interval,
    mean_interval,
    sides_vary,
)
from oversight.analysis._stats import (
    RowMetrics,
    bin_index,
    calibration_bins,
    expected_calibration_error,
    selective_accuracy,
)
from oversight.analysis._twoway import (
    annotator_codes,
    people,
    two_way_balanced,
    two_way_mean_interval,
)
from oversight.analysis._types import Bools, Floats, Ints

__all__ = ["group_stats", "protocols_of"]


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
    n_answers: Ints,
    two_way: bool = True,
) -> GroupStats:
    """Statistics of the judgments ``rows`` (any status) forming one group; ``n_answers``
    holds each transcript's number of answers; ``two_way=False``: intervals over sources
    alone, even of judgments by people."""
    status = data.status[rows]
    scored = rows[data.scored[rows]]
    t = data.t[scored]
    score = metrics.score[scored]
    conf = metrics.confidence[scored]
    rounds = data.rounds[scored]
    clusters, cluster = unique_codes(data.t_cluster[t])
    n_clusters = clusters.size
    small = n_clusters < SMALL_SAMPLE_CLUSTERS
    who, person = annotator_codes(data, scored, two_way=two_way)

    # Every mean in the group: (name, slice value, row mask, per-row values).
    ones = np.ones(score.size, dtype=bool)
    columns: list[tuple[str, object, Bools, Floats]] = [
        ("all", None, ones, score),
        ("brier", None, ones, metrics.brier[scored]),
        ("log", None, ones, metrics.log_score[scored]),
    ]
    finite_rounds = rounds[np.isfinite(rounds)]
    round_values = np.unique(finite_rounds)
    if round_values.size <= _MAX_ROUND_SLICES:
        for v in round_values:
            columns.append(("rounds", v, rounds == v, score))
    positions = data.t_gold_position[t]
    for v in np.unique(positions[positions >= 0]):
        columns.append(("position", v, positions == v, score))
    sides = data.t_side[t]
    for v in (1, 0):
        if (sides == v).any():
            columns.append(("side", v, sides == v, score))
    ratios = np.zeros((0, len(columns)))
    boot = np.zeros((0, 0))
    if not small and score.size:
        den = np.stack([c[2] for c in columns], axis=1).astype(np.float64)
        num = den * np.stack([c[3] for c in columns], axis=1)
        sums = sums_by_cluster(cluster, np.concatenate([num, den], axis=1), n_clusters)
        boot = resampler.sums(clusters, sums)
        m = len(columns)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios = boot[:, :m] / boot[:, m:]

    slices: dict[str, list[Slice]] = {"rounds": [], "position": [], "side": []}
    intervals: dict[str, Ruled] = {}
    for j, (kind, value, mask, values) in enumerate(columns):
        n = int(mask.sum())
        own = int(unique_codes(cluster[mask])[0].size)
        alike = None
        if kind == "all" and n and np.ptp(values) == 0 and values[0] in (0.0, 1.0):
            alike = f"judgment {'right' if values[0] else 'wrong'}"
        ruling = ruled(
            own,
            varies=bool(n and np.ptp(values[mask]) > 0),
            cr2=partial(mean_interval, values[mask], cluster[mask], kind),
            bootstrap=ratios[:, j],
            alike=alike,
            annotators=people(who[mask], person[mask]),
            two_way=partial(two_way_mean_interval, values[mask], cluster[mask], who[mask], kind),
        )
        interval = ruling.ci95
        if kind in ("all", "brier", "log"):
            intervals[kind] = ruling
            continue
        acc = float(values[mask].mean()) if n else None
        shown: str | int | float | None
        if kind == "side":
            shown = "correct" if value == 1 else "incorrect"
        elif kind == "position":
            shown = int(value)  # type: ignore[call-overload]
        else:
            as_float = float(value)  # type: ignore[arg-type]
            shown = int(as_float) if as_float.is_integer() else as_float
        slices[kind].append(Slice(value=shown, n=n, n_clusters=own, accuracy=acc, ci95=interval))

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
    binary = bool(score.size) and bool((n_answers[t] == 2).all())
    balanced, balanced_ci = _balanced(score, sides, (cluster, clusters, who, person), resampler)
    return GroupStats(
        by=by,
        label=label,
        n=int(scored.size),
        n_failed=int((status == 1).sum()),
        n_skipped=int((status == 2).sum()),
        n_unscored=int(((status == 0) & ~data.scored[rows]).sum()),
        n_transcripts=int(unique_codes(t)[0].size),
        n_questions=int(unique_codes(data.t_question[t])[0].size),
        n_clusters=int(n_clusters),
        accuracy=_mean(score),
        ci95=intervals["all"].ci95,
        ci_method=intervals["all"].ci_method,
        balanced_accuracy=balanced,
        balanced_accuracy_ci95=balanced_ci,
        mean_p_gold=_mean(metrics.p_gold[scored]),
        brier=_mean(metrics.brier[scored]),
        brier_ci95=intervals["brier"].ci95,
        brier_binary=_mean(metrics.brier[scored] / 2.0) if binary else None,
        log_score=_mean(metrics.log_score[scored]),
        log_score_ci95=intervals["log"].ci95,
        ece=_num(ece),
        ece_ci95=_ece_interval(conf, score, cluster, clusters, resampler, n_bins),
        mean_rounds=_mean(finite_rounds),
        picks_first=_mean(metrics.first[scored]),
        calibration=calibration,
        selective=selective,
        by_rounds=slices["rounds"],
        by_gold_position=slices["position"],
        by_assigned_side=slices["side"],
    )


def _balanced(
    score: Floats,
    sides: Ints,
    codes: tuple[Ints, Ints, Ints, Bools],
    resampler: Resampler,
) -> tuple[float | None, tuple[float, float] | None]:
    """Khan et al.'s balanced consultancy accuracy and its interval; ``codes``: each
    judgment's source (and the sources) and who judged, and whether a person."""
    cluster, clusters, who, person = codes
    honest, dishonest = sides == 1, sides == 0
    if not (honest.any() and dishonest.any()):
        return None, None
    estimate = float((score[honest].mean() + score[dishonest].mean()) / 2.0)
    keep = honest | dishonest
    c = int(unique_codes(cluster[keep])[0].size)

    def boot() -> Floats:
        cols = np.stack([score * honest, honest, score * dishonest, dishonest], axis=1)
        sums = resampler.sums(
            clusters, sums_by_cluster(cluster, cols.astype(np.float64), clusters.size)
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            both: Floats = (sums[:, 0] / sums[:, 1] + sums[:, 2] / sums[:, 3]) / 2.0
        return both

    # A side without spread: the bootstrap, like CR2, would see no variation there.
    return estimate, ruled(
        c,
        varies=sides_vary(score[keep], honest[keep]),
        cr2=partial(balanced_interval, score[keep], honest[keep], cluster[keep]),
        bootstrap=boot,
        annotators=people(who[keep], person[keep]),
        two_way=partial(two_way_balanced, score[keep], honest[keep], cluster[keep], who[keep]),
    ).ci95


def _ece_interval(
    conf: Floats,
    score: Floats,
    cluster: Ints,
    clusters: Ints,
    resampler: Resampler,
    n_bins: int,
) -> tuple[float, float] | None:
    """Percentile cluster-bootstrap interval of ECE."""
    if clusters.size < 2:
        return None
    index = bin_index(conf, n_bins)
    cols = np.zeros((conf.size, n_bins + 1))
    cols[np.arange(conf.size), index] = score - conf
    cols[:, n_bins] = 1.0
    boot = resampler.sums(clusters, sums_by_cluster(cluster, cols, clusters.size))
    with np.errstate(invalid="ignore", divide="ignore"):
        eces = np.abs(boot[:, :n_bins]).sum(axis=1) / boot[:, n_bins]
    return percentile_interval(eces, int(clusters.size))


def protocols_of(data: Data, rows: Ints) -> dict[str, str]:
    """Each condition's protocol (the most common one among its transcripts)."""
    transcripts = data.transcripts
    pairs = Counter(
        (transcripts[t].condition, transcripts[t].protocol)
        for t in unique_codes(data.t[rows])[0].tolist()
    )
    seen: dict[str, Counter[str]] = {}
    for (condition, protocol), n in pairs.items():  # in the order of first appearance
        seen.setdefault(condition, Counter())[protocol] = n
    return {c: counter.most_common(1)[0][0] for c, counter in seen.items()}
