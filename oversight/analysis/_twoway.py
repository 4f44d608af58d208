"""Two-way clustering by question source and annotator, for judgments people gave.

When a few people each judge many items, judgments of one person are alike (people differ
in skill, and in how much assistance helps them), so an interval over sources alone
describes *these* people, not the population of annotators: in simulation
(``benchmarks/bench_coverage_annotators.py``, 4 to 12 annotators) a condition's 95%
interval over sources held the population accuracy 65-96% of the time, and the assisted
minus unassisted difference of a between-subject study 66-91% (clustered as below:
90-100% and 92-98%). When the judgments of a
statistic come from two or more annotators, the report's one interval rule
(:func:`oversight.analysis._interval_rule.ruled`) therefore clusters them both ways
(Cameron, Gelbach & Miller 2011), for the ordinary least-squares fit ``b`` of ``y`` on
``X``::

    V = V_source + V_annotator - V_source∩annotator

each term the CR2 sandwich over its clusters (Bell & McCaffrey 2002, as the one-way
intervals: :func:`oversight.analysis._smallsample.cr2_cov`), ``M (sum_g X_g' A_g e_g e_g'
A_g X_g) M`` with ``M = (X'X)^-1`` and ``A_g = (I - H_gg)^(-1/2)``, and a t reference with
``min(G_source, G_annotator) - 1`` degrees of freedom, except for a kind of cluster none
of which holds two sides of a contrast (each person judged one condition: the means are
then estimated between people, as in a two-sample t; Donald & Lang 2007): its df is then
Welch-Satterthwaite's over the sides' cluster counts (``G - 2`` for two sides of ``G / 2``
each; 1.74 for 2 people against 6, where ``G - 2`` said 6 and the simulated interval held
the difference 91% of the time, 99% now, cautious: ``benchmarks/bench_twoway_unbalanced_df.py``;
the person term's Bell-McCaffrey df, narrower there, fell to 92.7% as people differ more:
not adopted, ``benchmarks/bench_twoway_bm_df.py``;
0 when a side has one person; with equal
clusters, the Bell-McCaffrey df of that term; for gap closed, ``A - U`` rests on two
of the three groups of people: ``2 (G / 3 - 1)``, not ``G - 3``). Where
the subtraction leaves a contrast's variance at or below zero (it can, in small samples),
``V_source + V_annotator`` is used instead: never less than either one-way variance.
CR2 in place of CR1 (``G / (G - 1) * (n - 1) / (n - k)`` per term, as Stata and
statsmodels): CR1 scales by all ``G`` annotators even where a mean is estimated from the
few of one condition, and held a between-subject difference 90-95% of the time with 4-12
annotators (below 93% in 8 of 13 designs), CR2 92-98% (in 1;
``benchmarks/bench_coverage_annotators_cr2.py``). A judgment without an annotator (an
LLM's) is its judge's own cluster; LLM-only statistics never come here. The same fit
gives a balanced accuracy (one column per side) and gap closed's
``A - U`` and ``E - U`` (one per condition; their covariance feeds Fieller's interval), and
the judges-compared table's LLM-against-people difference (:mod:`._judge_compare`); their
coverage is simulated in ``benchmarks/bench_coverage_annotators_more.py``. A tournament
player's accuracies (:mod:`._player_accuracy`) and the stress table's paired drops
(:mod:`._worst`) are the same mean, balanced and paired fits. ECE and
agreement stay over sources (not clustered means; see metrics.md). ``cluster="sources"``
(:data:`CLUSTERINGS`) turns it off: every interval is then over sources alone, about the
people who judged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from oversight.analysis._codes import unique_codes, unique_rows
from oversight.analysis._data import Data
from oversight.analysis._fields import field_codes
from oversight.analysis._interval_rule import ci_method
from oversight.analysis._smallsample import Cr2, cr2_cov, fieller
from oversight.analysis._types import Bools, Floats, Interval, Ints
from transcripts.errors import ConfigError

if TYPE_CHECKING:  # the schema holds the tournament table, whose intervals come from here
    from oversight.analysis._schema import Comparison

__all__ = [
    "CLUSTERINGS",
    "TEST",
    "annotator_codes",
    "by_annotators",
    "clustering",
    "people",
    "two_way_balanced",
    "two_way_cov",
    "two_way_difference",
    "two_way_fit",
    "two_way_gap",
    "two_way_mean_interval",
]


CLUSTERINGS = {"sources,annotators": ["sources", "annotators"], "sources": ["sources"]}
"""The report's ``cluster`` settings: by default judgments of two or more annotators are
clustered by source and annotator (about the population of annotators); ``sources``
clusters every interval by source alone (about the people who judged)."""


def clustering(cluster: str | Sequence[str]) -> list[str]:
    """The ``cluster`` setting as recorded in the report's settings, or a clear error."""
    names = cluster.split(",") if isinstance(cluster, str) else list(cluster)
    key = ",".join(sorted(n.strip() for n in names if n.strip()) or ["?"])
    if key == "annotators,sources":
        key = "sources,annotators"
    if key not in CLUSTERINGS:
        raise ConfigError(
            f"cluster must be 'sources' (intervals about the people who judged) or "
            f"'sources,annotators' (the default: about the population of annotators), "
            f"got {cluster!r}"
        )
    return CLUSTERINGS[key]


def annotator_codes(data: Data, rows: Ints, *, two_way: bool = True) -> tuple[Ints, Bools]:
    """Per judgment of ``rows``, a code of who judged (its annotator, or for a judgment
    without one its judge's name), and whether that is a person: an annotator, or a
    ``human`` judge's judgment without an annotator name, whose judge name then stands for
    one person (fewer, larger clusters: the cautious guess), counted among the people as
    it is clustered; from the field codes the report computes once per run. Without
    ``two_way`` (the report's ``cluster="sources"``) no judgment counts as a person's, so
    no interval is two-way."""
    annotator, values = field_codes(data, "annotator")
    judge, _ = field_codes(data, "judge")
    kind, kinds = field_codes(data, "judge_kind")
    own = annotator[rows]
    named = np.array([v is not None for v in values], dtype=bool)[own]
    human = np.array([k == "human" for k in kinds], dtype=bool)[kind[rows]]
    person = (named | human) & two_way
    who: Ints = np.where(named, own, len(values) + judge[rows])
    return who, person


def people(who: Ints, person: Bools) -> int:
    """How many distinct annotators (people) the judgments coded ``who`` come from."""
    return int(unique_codes(who[person])[0].size) if person.any() else 0


def two_way_cov(
    x: Floats,
    y: Floats,
    source: Ints,
    annotator: Ints,
    contrasts: Floats,
    *,
    levels: tuple[int, int] = (1, 1),
) -> tuple[Floats, Floats, float]:
    """``contrasts @ b`` (one contrast a row) for the OLS fit of ``y`` on the columns of
    ``x``, their two-way (source and annotator) CR2 covariance and degrees of freedom, the
    least of the two kinds' (:func:`_df`): ``levels`` counts the sides each kind of cluster
    splits into (1 unless e.g. each person judged one condition only, when the columns of
    ``x`` are the conditions; see the module docstring). Where the subtraction
    leaves a covariance that is not positive definite, ``V_source + V_annotator``. Weighted
    fits pass ``sqrt(w)`` times their rows."""
    m = np.linalg.pinv(x.T @ x).astype(np.float64)
    b = m @ x.T @ y
    e = y - x @ b
    mc = m @ contrasts.T
    v_source, g_source = cr2_cov(x, e, m, source, mc)
    v_annotator, g_annotator = cr2_cov(x, e, m, annotator, mc)
    _, both = unique_rows(np.stack([source, annotator], axis=1))
    v_both, _ = cr2_cov(x, e, m, both, mc)
    cov = v_source + v_annotator - v_both
    if np.linalg.eigvalsh(cov).min() <= 0:
        cov = v_source + v_annotator
    df = min(
        _df(x, source, g_source, contrasts, levels[0]),
        _df(x, annotator, g_annotator, contrasts, levels[1]),
    )
    return contrasts @ b, cov, df


def _df(x: Floats, codes: Ints, g: int, contrasts: Floats, level: int) -> float:
    """Degrees of freedom of one kind of cluster: ``G - 1``; where each cluster holds one
    side (``level`` > 1; the columns of ``x`` are then the sides), per contrast Welch-
    Satterthwaite's over the sides' cluster counts ``G_s`` (weights ``c_s^2 / G_s``): ``G -
    2`` for two sides of ``G / 2`` each, less when they differ (2 people against 6: 1.74,
    not 6), 0 where a side in the contrast has one cluster; with equal clusters, the
    Bell-McCaffrey df of the one-way CR2. The least over the contrasts. A design whose rows
    are not one side each (a model's intercept and covariates: ``--model gee``) keeps
    ``G - level``."""
    if level <= 1:
        return float(g - 1)
    if ((x != 0).sum(axis=1) != 1).any():
        return float(g - level)
    _, local = unique_codes(codes)
    side = np.argmax(x != 0, axis=1)
    per_side = np.array(
        [np.unique(local[side == s]).size for s in range(x.shape[1])], dtype=np.float64
    )
    least = math.inf
    for c in contrasts:
        on = c != 0
        if (per_side[on] < 2).any():
            return 0.0
        w = c[on] ** 2 / per_side[on]
        least = min(least, float(w.sum() ** 2 / (w**2 / (per_side[on] - 1)).sum()))
    return least if math.isfinite(least) else float(g - level)


def two_way_fit(
    x: Floats,
    y: Floats,
    source: Ints,
    annotator: Ints,
    contrast: Floats,
    *,
    levels: tuple[int, int] = (1, 1),
) -> Cr2:
    """``contrast' b``, its two-way standard error and degrees of freedom
    (:func:`two_way_cov` of the one contrast)."""
    estimate, cov, df = two_way_cov(x, y, source, annotator, contrast[None, :], levels=levels)
    se = math.sqrt(max(float(cov[0, 0]), 0.0))
    return Cr2(estimate=float(estimate[0]), se=se, df=df)


def two_way_mean_interval(
    values: Floats,
    source: Ints,
    annotator: Ints,
    kind: str = "share",
    *,
    bounds: tuple[float, float] = (-math.inf, math.inf),
    level: float = 0.95,
) -> tuple[Interval, float]:
    """The two-way t interval of the mean of ``values``, and its degrees of freedom; clipped as
    :func:`~oversight.analysis._smallsample.mean_interval` clips by ``kind``; a share's
    standard error is never below the independent-judgments one, ``sqrt(p (1 - p) / n)``
    (as there). None without two sources and two annotators, or without variation."""
    if values.size == 0:
        return None, 0.0
    fit = two_way_fit(np.ones((values.size, 1)), values, source, annotator, np.ones(1))
    if kind == "brier":
        return fit.interval(level, (0.0, 2.0)), fit.df
    if kind == "log":
        return fit.interval(level, (-math.inf, 0.0)), fit.df
    if kind == "mean":
        return fit.interval(level, bounds), fit.df
    p = fit.estimate
    floor = math.sqrt(p * (1.0 - p) / values.size) if 0.0 < p < 1.0 else 0.0
    return Cr2(p, max(fit.se, floor), fit.df).interval(level, (0.0, 1.0)), fit.df


def two_way_balanced(
    score: Floats, honest: Bools, source: Ints, annotator: Ints, level: float = 0.95
) -> tuple[Interval, float]:
    """The two-way t interval, and its degrees of freedom, of Khan et al.'s balanced
    accuracy, the mean of the
    ``honest`` rows' accuracy and the others' (the fit of
    :func:`~oversight.analysis._smallsample.balanced_interval`, clustered both ways)."""
    x = np.stack([honest, ~honest], axis=1).astype(np.float64)
    fit = two_way_fit(
        x, score, source, annotator, np.array([0.5, 0.5]), levels=_levels(honest, source, annotator)
    )
    return fit.interval(level, (0.0, 1.0)), fit.df


def _levels(side: Ints | Bools, *codes: Ints) -> tuple[int, int]:
    """Per kind of cluster, the parameters constant within its clusters: 1, or the number
    of ``side`` values (conditions) when none of them holds two sides (each person judged
    one condition: every mean is then estimated between clusters; Donald & Lang 2007)."""
    side = side.astype(np.int64)
    sides = int(unique_codes(side)[0].size)
    one, two = (
        sides
        if unique_rows(np.stack([c, side], axis=1))[0].shape[0] == unique_codes(c)[0].size
        else 1
        for c in codes
    )
    return one, two


def two_way_difference(
    a: Floats,
    a_question: Ints,
    b: Floats,
    b_question: Ints,
    source: Ints,
    annotator: Ints,
) -> Cr2:
    """``mean_q(a) - mean_q(b)`` in per-question accuracy (each question's judgments on a
    side weigh one question in all, as the comparison's per-question means do), fitted on
    the judgments so each keeps its annotator: ``a``'s rows first, then ``b``'s, with
    ``source`` and ``annotator`` per row of both."""
    y = np.concatenate([a, b])
    weight = np.concatenate(
        [
            1.0 / np.bincount(q)[q]
            for q in (unique_codes(a_question)[1], unique_codes(b_question)[1])
        ]
    )
    x = np.zeros((y.size, 2))
    x[: a.size, 0] = 1.0
    x[a.size :, 1] = 1.0
    root = np.sqrt(weight)
    # A kind of cluster none of which holds both sides (people judging one condition
    # each) estimates both means between its clusters: a t on G - 2.
    levels = _levels(np.arange(y.size) < a.size, source, annotator)
    return two_way_fit(
        x * root[:, None], y * root, source, annotator, np.array([1.0, -1.0]), levels=levels
    )


TEST = "two-way (sources, annotators) CR2 t-test"
"""The ``test`` of a comparison whose judgments come from two or more annotators."""


def by_annotators(
    comparison: Comparison,
    data: Data,
    score: Floats,
    rows: tuple[Ints, ...],
    q_cluster: Ints,
    *,
    two_way: bool = True,
) -> Comparison:
    """``comparison`` of the scored judgments ``rows`` (A's, B's) with its interval, df and
    p-value clustered by source and annotator, when those judgments come from two or more
    annotators and vary (else, or without ``two_way``, unchanged). A paired comparison
    keeps to the shared questions, as its difference does; the estimate is the same
    difference. With a third ``rows`` (the expert condition's), gap closed's ``A - U`` and
    ``E - U`` and its Fieller interval too (:func:`two_way_gap`)."""
    if two_way and len(rows) == 3:
        comparison = two_way_gap(comparison, data, score, (rows[0], rows[1], rows[2]), q_cluster)
    rows = rows[:2]
    if not two_way or comparison.difference is None or comparison.n_clusters < 2:
        return comparison
    if (comparison.ci_method or "").startswith("no interval: a condition"):
        return comparison
    qa, qb = (data.t_question[data.t[r]] for r in rows)
    if comparison.design == "paired":
        shared = np.intersect1d(qa, qb)
        keep = np.isin(qa, shared), np.isin(qb, shared)
        rows = rows[0][keep[0]], rows[1][keep[1]]
        qa, qb = qa[keep[0]], qb[keep[1]]
    both = np.concatenate(rows)
    who, person = annotator_codes(data, both)
    n_people = people(who, person)
    if n_people < 2 or not np.ptp(score[both]) > 0:
        return comparison
    q = np.concatenate([qa, qb])
    fit = two_way_difference(score[rows[0]], qa, score[rows[1]], qb, q_cluster[q], who)
    interval = fit.interval(bounds=(-1.0, 1.0))
    return comparison.model_copy(
        update={
            "ci95": interval,
            "ci_method": ci_method(
                comparison.n_clusters,
                has_interval=interval is not None,
                annotators=n_people,
                df=fit.df,
            ),
            "df": fit.df,
            "test": TEST,
            "p_value": fit.p_value(),
        }
    )


def two_way_gap(
    comparison: Comparison,
    data: Data,
    score: Floats,
    rows: tuple[Ints, Ints, Ints],
    q_cluster: Ints,
) -> Comparison:
    """``comparison``'s gap closed with ``A - U``, ``E - U`` and Fieller's interval from
    their two-way covariance, when the judgments ``rows`` (A's, U's, E's) of the questions
    all three share come from two or more annotators (else unchanged): the fit of the
    scores on one column per condition, each question's judgments under a condition
    weighing one question, as the per-question means the estimates are."""
    if comparison.gap_closed_bounded is None:  # no interval over sources either
        return comparison
    questions = [data.t_question[data.t[r]] for r in rows]
    shared = np.intersect1d(np.intersect1d(questions[0], questions[1]), questions[2])
    keep = [np.isin(q, shared) for q in questions]
    both = np.concatenate([r[k] for r, k in zip(rows, keep, strict=True)])
    who, person = annotator_codes(data, both)
    if people(who, person) < 2:
        return comparison
    side = np.concatenate([np.full(int(k.sum()), j) for j, k in enumerate(keep)])
    q = np.concatenate([qs[k] for qs, k in zip(questions, keep, strict=True)])
    weight = np.concatenate(
        [1.0 / np.bincount(c)[c] for c in (unique_codes(q[side == j])[1] for j in range(3))]
    )
    root = np.sqrt(weight)
    x = (side[:, None] == np.arange(3)).astype(np.float64) * root[:, None]
    contrasts = np.array([[1.0, -1.0, 0.0], [0.0, -1.0, 1.0]])
    source = q_cluster[q]
    (au, eu), cov, df = two_way_cov(
        x, score[both] * root, source, who, contrasts, levels=_levels(side, source, who)
    )
    ends = [
        Cr2(float(e), math.sqrt(cov[j, j]), df).interval(bounds=(-1.0, 1.0))
        for j, e in enumerate((au, eu))
    ]
    interval = fieller(float(au), float(eu), cov, df)
    return comparison.model_copy(
        update={
            "assisted_minus_baseline_ci95": ends[0],
            "expert_minus_baseline_ci95": ends[1],
            "gap_closed_ci95": interval,
            # No df left (each person judged one condition): no interval, not an unbounded one.
            "gap_closed_bounded": interval is not None if df > 0 else None,
        }
    )
