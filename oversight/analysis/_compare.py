"""Comparisons between any two conditions, and gap closed.

Which pairs are compared, within each stratum (a combination of the ``by`` fields other than
condition, protocol and any field that has one value per condition, e.g. one judge):

* ``--compare A,B`` (repeatable): exactly those pairs, ``A - B``;
* else ``--baseline C``: every other condition against ``C``, except a tournament's
  cross-play conditions, as below;
* else, by default, every assisted condition against every ``unassisted`` one, and every
  ``debate`` condition against every ``consultancy`` one whose name matches once the
  protocol names are removed (``human-debate`` vs ``human-consultancy``; a lone debate and
  a lone consultancy condition are paired whatever their names); never a tournament's
  cross-play condition (``rating_only``: it rates players), which ``--compare`` may name.

Each question's score under a condition is the mean score of its judgments there, so
comparisons are in **per-question** accuracy (each question counts once, however many
judgments it has). The design is **paired** when the shared questions are at least half of
each condition's questions:
then ``difference = mean_q (A_q - B_q)`` over the shared questions. Otherwise it is
**unpaired**: the difference of the two per-question accuracies over all their questions,
the regression ``score_q ~ 1 + [q under A]`` with sources as clusters (a source may hold
questions of both). Its variance is CR3, the cluster jackknife, rather than CR2: the
condition varies within sources, and in simulation CR2 let the unpaired test reject a true
null a little over 5% of the time with 8 sources, CR3 about 4% (MacKinnon, Nielsen & Webb
2023 recommend CR3 for few or unequal clusters).

Intervals: below :data:`~oversight.analysis._smallsample.SMALL_SAMPLE_CLUSTERS` sources,
CR2 (paired) or CR3 (unpaired) with Bell-McCaffrey t (see
:mod:`oversight.analysis._smallsample`); from there on the percentile cluster bootstrap.
Fewer than two sources: no interval, and the reason says so.

Tests: the headline p-value is clustered: for a paired design the sign-flip permutation
test over sources, for an unpaired one the CR3 (cluster-jackknife) t-test. McNemar's exact
test on the per-question majority outcomes is kept for paired designs, labelled as ignoring
clustering. Across all comparisons of a report, p-values are adjusted by Holm's method
(``multiplicity="holm"``, the default) or not (``"none"``). Judgments from two or more
annotators: interval and t-test over sources and annotators (:mod:`._twoway`).

Gap closed, for an assisted condition ``A`` against an unassisted ``U`` with an expert
condition ``E``, over the questions all three share: ``(A - U) / (E - U)`` with Fieller's
interval from the CR2 covariance of ``A - U`` and ``E - U``; it is *unbounded* (null
interval, ``gap_closed_bounded = false``) unless ``E - U`` is clearly positive. Both
``A - U`` and ``E - U`` are reported with their own intervals. Without a question all three
share (conditions on different ``[split]`` parts) it is not computed, and a warning says so;
the difference ``A - U`` itself is then unpaired. Judgments from two or more annotators:
``A - U``, ``E - U`` and Fieller's interval from their two-way covariance (:mod:`._twoway`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from oversight.analysis._bootstrap import Resampler, rng_for, sums_by_cluster
from oversight.analysis._codes import unique_codes
from oversight.analysis._data import Data
from oversight.analysis._interval_rule import Ruled, ci_method, ruled
from oversight.analysis._schema import Comparison, McNemar
from oversight.analysis._smallsample import (
    Cr2,
    cr2_contrast,
    cr2_means,
    fieller,
    sign_flip_test,
)
from oversight.analysis._stats import RowMetrics, mcnemar_exact
from oversight.analysis._twoway import by_annotators
from oversight.analysis._types import Bools, Floats, Interval, Ints

__all__ = [
    "compare",
    "paired_ruled",
]


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
    pairs: list[tuple[str, str]],
    by: dict[str, object],
    resampler: Resampler,
    warnings: list[str],
    left_out: list[str],
    two_way: bool = True,
) -> list[Comparison]:
    """The comparisons ``pairs`` within one stratum (Holm is applied by the caller);
    ``two_way=False``: over sources alone, even judgments by people.
    ``left_out`` gets, per paired comparison that leaves questions out (those judged under
    one of its conditions only), ``"A vs B (stratum) a/b"`` with the counts of each."""
    experts = sorted(c for c in rows_by_condition if protocol_of[c] == "expert")
    n_q = data.n_questions
    q_cluster = np.zeros(n_q, dtype=np.int64)
    q_cluster[data.t_question] = data.t_cluster
    means = {
        c: _question_means(data, metrics.score, rows, n_q) for c, rows in rows_by_condition.items()
    }
    where = " · ".join(f"{k}={v}" for k, v in by.items())
    out = []
    apart: list[str] = []  # comparisons whose gap closed has no question of all three
    for cond, base in pairs:
        has_a, has_b = means[cond][1], means[base][1]
        shared = np.nonzero(has_a & has_b)[0]
        only_a, only_b = int((has_a & ~has_b).sum()), int((has_b & ~has_a).sum())
        if _paired(shared, has_a, has_b) and (only_a or only_b):
            left_out.append(
                f"{cond} vs {base}{' (' + where + ')' if where else ''} {only_a}/{only_b}"
            )
        gap_experts: list[str | None] = [None]
        if protocol_of[base] == "unassisted" and experts:
            gap_experts = list(experts)
        for expert in gap_experts:
            one = _one(
                *(means[cond], means[base], q_cluster, means[expert] if expert else None),
                by=by,
                names=(cond, base, expert),
                resampler=resampler,
                warnings=warnings,
                apart=apart,
                where=where,
                seed=resampler.seed,
            )
            rows = tuple(rows_by_condition[c] for c in (cond, base, expert) if c)
            one = by_annotators(one, data, metrics.score, rows, q_cluster, two_way=two_way)
            if one.gap_closed is not None and one.gap_closed_bounded is False:
                warnings.append(
                    f"gap closed for {one.assisted} vs {one.baseline}"
                    f"{' (' + where + ')' if where else ''} has an unbounded interval: E - U = "
                    f"{one.expert_minus_baseline:+z.3f} is not clearly positive, so any "
                    "ratio is compatible with the data"
                )
            out.append(one)
    if apart:
        shown = ", ".join(apart[:3]) + (f" and {len(apart) - 3} more" if len(apart) > 3 else "")
        warnings.append(
            f"gap closed is not computed for {shown}: no question was judged under both "
            "conditions and the expert one (they ran on different questions, e.g. other "
            "[split] parts), and it compares the three on the same questions"
        )
    return out


def _paired(shared: Ints, has_a: Bools, has_b: Bools) -> bool:
    return bool(shared.size and shared.size * 2 >= max(has_a.sum(), has_b.sum()))


def _one(
    a_means: tuple[Floats, Bools],
    b_means: tuple[Floats, Bools],
    q_cluster: Ints,
    expert: tuple[Floats, Bools] | None,
    *,
    by: dict[str, object],
    names: tuple[str, str, str | None],
    resampler: Resampler,
    warnings: list[str],
    apart: list[str],
    where: str,
    seed: int,
) -> Comparison:
    cond, base, expert_name = names
    a, has_a = a_means
    b, has_b = b_means
    label = f"{cond} vs {base}{' (' + where + ')' if where else ''}"
    shared = np.nonzero(has_a & has_b)[0]
    paired = _paired(shared, has_a, has_b)
    ci: Interval = None
    p_value: float | None = None
    df: float | None = None
    mcnemar = None
    reason = ""
    if paired:
        qs = shared
        clusters, cluster = unique_codes(q_cluster[qs])
        d = a[qs] - b[qs]
        acc_a, acc_b = float(a[qs].mean()), float(b[qs].mean())
        difference: float | None = float(d.mean())
        c = int(clusters.size)
        paired_rule, df = paired_ruled(d, cluster, clusters, resampler)
        ci = paired_rule.ci95
        totals = np.bincount(cluster, weights=d, minlength=c).astype(np.float64)
        p_value = sign_flip_test(totals, rng_for(seed, "sign-flip", label))
        mcnemar = _mcnemar(a[qs], b[qs])
        n_a = n_b = int(qs.size)
        test = "sign-flip permutation over sources"
    else:
        qa, qb = np.nonzero(has_a)[0], np.nonzero(has_b)[0]
        n_a, n_b = int(qa.size), int(qb.size)
        acc_a = float(a[qa].mean()) if n_a else None  # type: ignore[assignment]
        acc_b = float(b[qb].mean()) if n_b else None  # type: ignore[assignment]
        difference = None if acc_a is None or acc_b is None else acc_a - acc_b
        qs = np.concatenate([qa, qb])
        clusters, cluster = unique_codes(q_cluster[qs])
        c = int(clusters.size)
        test = "CR3 cluster-jackknife t-test"
        # Each side's own spread must be estimable: a condition whose questions all come
        # from one source says nothing about how its accuracy varies between sources.
        thin = min(unique_codes(q_cluster[qa])[0].size, unique_codes(q_cluster[qb])[0].size)
        if thin < 2:
            reason = (
                f"no interval: a condition has questions from {thin} source"
                f"{'s' if thin != 1 else ''} (need 2 each)"
            )
        if n_a and n_b and c >= 2 and thin >= 2:
            y = np.concatenate([a[qa], b[qb]])
            is_a = np.concatenate([np.ones(n_a), np.zeros(n_b)])
            x = np.stack([np.ones(y.size), is_a], axis=1)
            fit = cr2_contrast(x, y, cluster, np.array([0.0, 1.0]), jackknife=True)
            p_value, df = fit.p_value(), fit.df

            def diffs() -> Floats:
                cols = np.stack([y * is_a, is_a, y * (1 - is_a), 1 - is_a], axis=1)
                boot = resampler.sums(clusters, sums_by_cluster(cluster, cols, c))
                with np.errstate(invalid="ignore", divide="ignore"):
                    out: Floats = boot[:, 0] / boot[:, 1] - boot[:, 2] / boot[:, 3]
                return out

            # No spread: CR3 says none.
            ci = ruled(
                c,
                varies=bool(np.ptp(y) > 0),
                cr2=partial(fit.interval, bounds=(-1.0, 1.0)),
                bootstrap=diffs,
            ).ci95
    if n_a == 0 or n_b == 0:
        warnings.append(f"{label}: a condition has no scored question, so they cannot be compared")
    if c >= 2 and reason:
        method = reason
    else:
        method = ci_method(c, has_interval=ci is not None, variance="CR2" if paired else "CR3")
    gap = _gap(
        a,
        b,
        q_cluster,
        expert,
        paired_with=has_a & has_b,
        label=label,
        expert_name=expert_name,
        warnings=warnings,
        apart=apart,
    )
    return Comparison(
        by=by,
        assisted=cond,
        baseline=base,
        expert=expert_name,
        design="paired" if paired else "unpaired",
        n_questions=n_a,
        n_questions_baseline=n_b,
        n_clusters=c,
        accuracy_assisted=acc_a,
        accuracy_baseline=acc_b,
        difference=difference,
        ci95=ci,
        ci_method=method,
        df=df,
        test=test,
        p_value=p_value,
        mcnemar=mcnemar,
        **gap,
    )


def _gap(
    a: Floats,
    u: Floats,
    q_cluster: Ints,
    expert: tuple[Floats, Bools] | None,
    *,
    paired_with: Bools,
    label: str,
    expert_name: str | None,
    warnings: list[str],
    apart: list[str],
) -> dict[str, object]:
    """Gap closed and its pieces (see the module docstring); ``apart`` gets ``label`` when
    no question has all three conditions."""
    out: dict[str, object] = {"n_questions_gap": 0}
    if expert is None:
        return out
    e, has_e = expert
    triples = np.nonzero(paired_with & has_e)[0]
    out["n_questions_gap"] = int(triples.size)
    if triples.size == 0:
        if has_e.any() and np.isfinite(a).any() and np.isfinite(u).any():
            apart.append(label)
        return out
    _, cluster = unique_codes(q_cluster[triples])
    pieces = np.stack([a[triples] - u[triples], e[triples] - u[triples]], axis=1)
    mean, cov, dfs = cr2_means(pieces, cluster)
    au, eu = float(mean[0]), float(mean[1])
    out["accuracy_expert"] = float(e[triples].mean())
    out["assisted_minus_baseline"] = au
    out["expert_minus_baseline"] = eu
    # Without any spread between sources (e.g. every question scored alike) there is
    # nothing to build an interval from: leave them null rather than of zero width.
    if int(cluster.max()) + 1 >= 2 and max(cov[0, 0], cov[1, 1]) > 1e-24:
        out["assisted_minus_baseline_ci95"] = Cr2(
            au, float(np.sqrt(cov[0, 0])), float(dfs[0])
        ).interval(bounds=(-1.0, 1.0))
        out["expert_minus_baseline_ci95"] = Cr2(
            eu, float(np.sqrt(cov[1, 1])), float(dfs[1])
        ).interval(bounds=(-1.0, 1.0))
        interval = fieller(au, eu, cov, float(dfs[0]))
        out["gap_closed_ci95"] = interval
        out["gap_closed_bounded"] = interval is not None
    if eu > 0:
        out["gap_closed"] = au / eu
    else:
        warnings.append(
            f"gap closed for {label} is undefined: the expert condition {expert_name} is not "
            f"more accurate than the baseline (E - U = {eu:+z.3f})"
        )
    return out


def paired_ruled(
    d: Floats,
    cluster: Ints,
    clusters: Ints,
    resampler: Resampler,
    *,
    level: float = 0.95,
    annotators: int = 0,
    two_way: Callable[[], tuple[Interval, float]] | None = None,
) -> tuple[Ruled, float | None]:
    """``level`` (95%) interval of the mean of per-question differences ``d`` (``cluster``:
    each question's index into ``clusters``), by the report's rule
    (:func:`~oversight.analysis._interval_rule.ruled`), with its ``ci_method`` words (a
    :class:`~oversight.analysis._interval_rule.Ruled`), and its t degrees of freedom when
    CR2 gave it; no interval with fewer than two sources or no variation between them. With
    ``annotators`` (two or more people judged the questions) ``two_way()`` gives it, as
    there."""
    c = int(clusters.size)
    fits: list[Cr2] = []

    def cr2() -> Interval:
        mean, cov, dfs = cr2_means(d, cluster)
        fits.append(Cr2(float(mean[0]), float(np.sqrt(cov[0, 0])), float(dfs[0])))
        return fits[0].interval(level, bounds=(-1.0, 1.0))

    def draws() -> Floats:
        sums = sums_by_cluster(cluster, np.stack([d, np.ones(d.size)], axis=1), c)
        boot = resampler.sums(clusters, sums)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: Floats = boot[:, 0] / boot[:, 1]
        return out

    # Without spread the bootstrap's interval would have zero width; CR2 gives none.
    varies = bool(d.size and np.ptp(d) > 0)
    out = ruled(
        c,
        varies=varies,
        cr2=cr2,
        bootstrap=draws,
        level=level,
        annotators=annotators,
        two_way=two_way,
    )
    return out, fits[0].df if fits else None
