"""An adversary's paired drop, and the worst case over several adversaries.

The worst case of a protocol is the largest true drop among the k personas planted in it.
The largest *observed* drop is chosen because it is large, so the chosen persona's own 95%
interval covers the worst true drop less often than 95% (with six harmless personas it
excludes 0 about one time in six). :func:`worst_case` gives an interval that holds whichever
persona is worst: intervals for all k drops that hold *together* 95% of the time, and then,
since every true drop lies in its own interval, the worst true drop lies between the largest
lower end and the largest upper end. Together by:

* below :data:`~oversight.analysis._smallsample.SMALL_SAMPLE_CLUSTERS` sources, where the
  report's intervals are CR2 t intervals: **max-t**, each drop ± ``c`` times its CR2
  standard error, ``c`` the 95% point of ``max_j |T_j|`` for ``T`` multivariate t with the
  correlation of the k drops from their joint CR2 covariance and the smallest of their
  Bell-McCaffrey df. The drops share the benign scores, so they are correlated and ``c`` is
  below Bonferroni's; in simulation (``benchmarks/bench_coverage_stress.py``, BENCHMARKS.md:
  8 to 30 sources, 3 or 6 personas) it covered the worst true drop at least 96.2% of the
  time (Bonferroni 96.4%) and was 1-13% narrower;
* from there on, where they are percentile cluster-bootstrap intervals: **Bonferroni**, each
  persona's interval at level ``1 - 0.05 / k``.

Judged by two or more people (annotators: e.g. ``oversight judge`` on a stress run), a drop
is clustered by source and annotator instead (:mod:`oversight.analysis._twoway`, through the
report's one rule; not under ``cluster="sources"``): :func:`by_people` fits the judgments of
the paired questions, each question weighing one on each side, so its estimate is the same
drop; the worst case is then Bonferroni over those intervals (max-t needs the drops' joint
CR2 covariance over sources).

No interval when any persona has none (nothing then bounds its true drop, nor the worst).
Personas whose observed drops tie for the largest are all returned, never one picked by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from oversight.analysis._bootstrap import Resampler
from oversight.analysis._compare import paired_ruled
from oversight.analysis._data import Data
from oversight.analysis._interval_rule import Ruled, ci_method
from oversight.analysis._smallsample import SMALL_SAMPLE_CLUSTERS, cr2_means, t_quantile
from oversight.analysis._twoway import annotator_codes, people, two_way_difference
from oversight.analysis._types import Floats, Interval, Ints

__all__ = [
    "NO_PEOPLE",
    "People",
    "by_people",
    "max_t",
    "paired_drop",
    "worst_case",
]

MAX_T_DRAWS = 20_000
"""Normal draws that give max-t's critical value (seeded; the chi-square part is exact, so
its Monte Carlo error is about a tenth of a point of coverage)."""

People = tuple[int, Callable[[float], tuple[Interval, float]] | None]
"""How many people judged a drop's questions, and its two-way interval at a level (and
the t's degrees of freedom); None when fewer than two people."""
NO_PEOPLE: People = (0, None)


def by_people(
    data: Data,
    score: Floats,
    benign_rows: Ints,
    attacked_rows: Ints,
    questions: Ints,
    q_cluster: Ints,
    *,
    two_way: bool = True,
) -> People:
    """The people who judged the scored judgments ``benign_rows`` and ``attacked_rows`` of
    the paired ``questions``, and the two-way interval of benign minus attacked accuracy
    over them (question means; :func:`~oversight.analysis._twoway.two_way_difference`)."""
    if not two_way or questions.size == 0:
        return NO_PEOPLE
    rows = [r[np.isin(data.t_question[data.t[r]], questions)] for r in (benign_rows, attacked_rows)]
    who, person = annotator_codes(data, np.concatenate(rows))
    n_people = people(who, person)
    if n_people < 2:
        return NO_PEOPLE
    qb, qa = (data.t_question[data.t[r]] for r in rows)
    q = np.concatenate([qb, qa])
    fit = two_way_difference(score[rows[0]], qb, score[rows[1]], qa, q_cluster[q], who)

    def interval(level: float) -> tuple[Interval, float]:
        return fit.interval(level, bounds=(-1.0, 1.0)), fit.df

    return n_people, interval


def paired_drop(
    benign: Floats,
    attacked: Floats,
    clusters: Ints,
    resampler: Resampler,
    *,
    level: float = 0.95,
    people: People = NO_PEOPLE,
) -> tuple[float | None, Ruled, int]:
    """Mean of ``benign - attacked`` (paired per question), its ``level`` interval by the rule
    of the report's paired comparisons (:func:`~oversight.analysis._compare.paired_ruled`;
    two-way when ``people`` (:func:`by_people`) are two or more) with its ``ci_method``
    words (a :class:`Ruled`), and the number of clusters (``clusters``: each question's
    source code)."""
    if benign.size == 0:
        return None, Ruled(None, ci_method(0, has_interval=False)), 0
    ids, local = np.unique(clusters, return_inverse=True)
    d = benign - attacked
    n_people, two_way = people
    ruled, _ = paired_ruled(
        d,
        local,
        ids,
        resampler,
        level=level,
        annotators=n_people,
        two_way=None if two_way is None else partial(two_way, level),
    )
    return float(d.mean()), ruled, int(ids.size)


def worst_case(
    paired: Sequence[tuple[Floats, Floats, Ints]],
    resampler: Resampler,
    *,
    level: float = 0.95,
    draws: int = MAX_T_DRAWS,
    people: Sequence[People] = (),
) -> tuple[list[int], float | None, Interval]:
    """Of k personas' paired scores (benign, attacked, each question's source), the indices
    of those with the largest drop (several on a tie), that drop, and a ``level`` interval for
    the largest true drop among the k (see the module). Personas without a question in
    common with the benign condition take no part. ``people``: per persona, who judged its
    drop (:func:`by_people`; none: over sources)."""
    people = list(people) or [NO_PEOPLE] * len(paired)
    drops = {  # the observed drops alone: no interval is needed to choose the worst
        i: float((benign - attacked).mean())
        for i, (benign, attacked, _) in enumerate(paired)
        if benign.size
    }
    if not drops:
        return [], None, None
    top = max(drops.values())
    tied = [i for i, drop in drops.items() if math.isclose(drop, top, abs_tol=1e-12)]
    two_way = any(people[i][1] is not None for i in drops)
    joint = (
        None
        if two_way
        else max_t([paired[i] for i in drops], level=level, seed=resampler.seed, draws=draws)
    )
    if joint is not None and len(drops) > 1:  # one: its own t interval, exactly
        return tied, top, joint
    each = [
        paired_drop(*paired[i], resampler, level=1 - (1 - level) / len(drops), people=people[i])
        for i in drops
    ]
    bounds = [ruled.ci95 for _, ruled, _ in each if ruled.ci95 is not None]
    if len(bounds) < len(each):
        return tied, top, None
    return tied, top, (max(lo for lo, _ in bounds), max(hi for _, hi in bounds))


def max_t(
    paired: Sequence[tuple[Floats, Floats, Ints]],
    *,
    level: float = 0.95,
    seed: int = 0,
    draws: int = MAX_T_DRAWS,
) -> Interval:
    """The simultaneous max-t interval for the largest true drop of the k personas' paired
    scores (see the module); None where the report's rule would not give every drop a CR2
    interval (a persona over fewer than two sources, without variation, or over
    :data:`~oversight.analysis._smallsample.SMALL_SAMPLE_CLUSTERS` sources or more)."""
    ids = np.unique(np.concatenate([c for _, _, c in paired]))
    means, scores, dfs = [], [], []
    for benign, attacked, clusters in paired:
        d, codes = benign - attacked, np.searchsorted(ids, clusters)
        sources = np.unique(codes).size
        if not (2 <= sources < SMALL_SAMPLE_CLUSTERS and np.ptp(d) > 0):
            return None
        # Its CR2 score per source (cr2_means's, so u'u is its own CR2 variance).
        n_c = np.bincount(codes, minlength=ids.size).astype(np.float64)
        totals = np.bincount(codes, weights=d - d.mean(), minlength=ids.size)
        scores.append(totals / np.sqrt(1.0 - n_c / d.size) / d.size)
        means.append(d.mean())
        dfs.append(float(cr2_means(d, np.unique(codes, return_inverse=True)[1])[2][0]))
    u = np.stack(scores, axis=1)
    cov = u.T @ u
    se = np.sqrt(np.diag(cov))
    if not np.all(se > 1e-12) or min(dfs) <= 0:
        return None
    c = _critical(cov / np.outer(se, se), min(dfs), level, seed=seed, draws=draws)
    mean = np.array(means)
    lo, hi = np.clip(mean - c * se, -1.0, 1.0), np.clip(mean + c * se, -1.0, 1.0)
    return float(lo.max()), float(hi.max())


def _critical(corr: Floats, df: float, level: float, *, seed: int, draws: int) -> float:
    """The ``level`` point of ``max_j |T_j|``, ``T`` multivariate t(``df``) with correlation
    ``corr``: ``P(max |T| <= c) = E[P(chi2_df >= df M^2 / c^2)]`` over draws of ``M = max_j
    |Z_j|``, ``Z`` normal with that correlation (the chi-square part exact, so few draws
    suffice even with one df), solved for ``c`` between the one-persona t point and
    Bonferroni's, which bound it."""
    from scipy.optimize import brentq
    from scipy.special import chdtrc

    k = corr.shape[0]
    vals, vecs = np.linalg.eigh(corr)
    rng = np.random.default_rng([seed, k, 41])
    m = np.abs(rng.standard_normal((draws, k)) @ (vecs * np.sqrt(vals.clip(0))).T).max(axis=1)

    def short(c: float) -> float:
        return float(chdtrc(df, df * (m / c) ** 2).mean()) - level

    low, high = t_quantile(0.5 + level / 2, df), t_quantile(1 - (1 - level) / (2 * k), df)
    if short(low) >= 0:
        return low
    if short(high) <= 0:
        return high
    return float(brentq(short, low, high, xtol=1e-9))
