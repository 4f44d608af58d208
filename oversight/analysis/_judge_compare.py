"""Judges compared on the same transcripts: the paired difference in accuracy.

A re-judge's judgments sit beside the run's, so two judges often judged the same
transcripts. Within each condition (and each combination of the other ``by`` fields, judge
fields aside), every pair of judge names that shares transcripts is compared, names in
alphabetical order, A - B:

* the unit is a transcript at one rounds seen (a judge re-judged with ``--rounds 1,2``
  pairs only with a judge that saw the same rounds); each judge's score there is the mean
  score of its scored judgments of it (ties 1/m, as everywhere; one judgment, except for
  a judge name several annotators share);
* ``difference = mean over the pairs of (A's score - B's score)``, over the units both
  judged; units one judge alone judged are counted (``n_only_a``, ``n_only_b``) and left
  out;
* the interval is the report's one rule (:func:`~oversight.analysis._compare.
  paired_ruled`: CR2 with Bell-McCaffrey t below 50 sources, the percentile cluster
  bootstrap from there; clusters are sources), the p-value the sign-flip permutation test
  over sources, as for a paired comparison of conditions;
* when every shared unit was judged by at most one person (an LLM judge against people,
  say) and two or more people judged them, interval and p-value are two-way over sources
  and that person (:mod:`oversight.analysis._twoway`; not under ``cluster="sources"``):
  a unit judged by two people has no one annotator to cluster by, so then, as for LLM
  judges, over sources. A ``human`` judgment without an annotator name is clustered as
  everywhere in the report (:func:`~oversight.analysis._twoway.annotator_codes`): with the
  other nameless judgments of its judge name, as one person (fewer, larger clusters: the
  cautious guess), counted among the people as it is clustered;
* p-values are Holm-adjusted over the report's judge comparisons (``multiplicity``), a
  family of their own: adding a judge does not change the conditions' adjusted p-values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from oversight.analysis._bootstrap import Resampler, rng_for
from oversight.analysis._codes import unique_codes, unique_rows
from oversight.analysis._compare import paired_ruled
from oversight.analysis._data import Data
from oversight.analysis._fields import field_codes
from oversight.analysis._interval_rule import ci_method
from oversight.analysis._schema_extra import JudgeComparison
from oversight.analysis._smallsample import holm, sign_flip_test
from oversight.analysis._stats import RowMetrics
from oversight.analysis._twoway import TEST, annotator_codes, people, two_way_fit
from oversight.analysis._types import Bools, Ints

__all__ = ["JUDGE_FIELDS", "judge_comparisons"]


JUDGE_FIELDS = frozenset({"judge", "judge_kind", "judge_model", "annotator"})
"""Grouping fields that keep different judges apart (never a stratum here)."""
_TEST = "sign-flip permutation over sources"


def judge_comparisons(
    data: Data,
    metrics: RowMetrics,
    rows: Ints,
    *,
    by: Sequence[str],
    order: Callable[[str, Any], Any],
    resampler: Resampler,
    multiplicity: str,
    two_way: bool = True,
) -> list[JudgeComparison]:
    """Every pair of judges on the scored ``rows`` they share, within each condition and
    combination of the other ``by`` fields (see the module). ``order(field, value)`` sorts
    the strata as the rest of the report does; ``two_way=False``: over sources alone."""
    rows = rows[data.scored[rows]]
    fields = ["condition"] + [
        f for f in by if f not in ("condition", "protocol") and f not in JUDGE_FIELDS
    ]
    if rows.size == 0:
        return []
    resolved = [field_codes(data, f) for f in fields]
    combos, stratum = unique_rows(np.stack([codes[rows] for codes, _ in resolved], axis=1))
    strata = []
    for s, combo in enumerate(combos):
        values = [resolved[i][1][int(code)] for i, code in enumerate(combo)]
        strata.append((dict(zip(fields, values, strict=True)), rows[stratum == s]))
    strata.sort(key=lambda item: [order(f, v) for f, v in item[0].items()])
    out: list[JudgeComparison] = []
    for group, members in strata:
        who = annotator_codes(data, members, two_way=two_way)
        out += _stratum(data, metrics, members, who, by=group, resampler=resampler)
    if multiplicity == "holm":
        adjusted = holm([c.p_value for c in out])
    else:
        adjusted = [c.p_value for c in out]
    return [c.model_copy(update={"p_adjusted": p}) for c, p in zip(out, adjusted, strict=True)]


def _stratum(
    data: Data,
    metrics: RowMetrics,
    rows: Ints,
    who: tuple[Ints, Bools],
    *,
    by: dict[str, Any],
    resampler: Resampler,
) -> list[JudgeComparison]:
    names = sorted({data.judge[r].name for r in rows.tolist()})
    if len(names) < 2:
        return []
    index = {name: i for i, name in enumerate(names)}
    judge = np.array([index[data.judge[r].name] for r in rows.tolist()], dtype=np.int64)
    rounds = np.nan_to_num(data.rounds[rows], nan=-1.0).astype(np.int64) + 1
    units, unit = unique_rows(np.stack([data.t[rows], rounds], axis=1))
    # Per unit and judge: the mean score of the judge's judgments of the unit (NaN: none).
    cell = unit * len(names) + judge
    size = units.shape[0] * len(names)
    total = np.bincount(cell, weights=metrics.score[rows], minlength=size)
    count = np.bincount(cell, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (total / count).reshape(units.shape[0], len(names))
    judged = count.reshape(score.shape) > 0
    where = " · ".join(f"{k}={v}" for k, v in by.items())
    out = []
    for a, b in combinations(range(len(names)), 2):
        has_a, has_b = judged[:, a], judged[:, b]
        both = np.nonzero(has_a & has_b)[0]
        if both.size == 0:
            continue
        d = score[both, a] - score[both, b]
        clusters, cluster = unique_codes(data.t_cluster[units[both, 0]])
        c = int(clusters.size)
        paired_rule, df = paired_ruled(d, cluster, clusters, resampler)
        ci = paired_rule.ci95
        totals = np.bincount(cluster, weights=d, minlength=c).astype(np.float64)
        label = f"judge {names[a]} vs {names[b]} ({where})"
        person = _one_person(unit, judge, who, both, (a, b)) if np.ptp(d) > 0 else None
        if person is not None:
            fit = two_way_fit(np.ones((d.size, 1)), d, cluster, person[0], np.ones(1))
            ci, df = fit.interval(bounds=(-1.0, 1.0)), fit.df
        out.append(
            JudgeComparison(
                by=by,
                judge_a=names[a],
                judge_b=names[b],
                n_pairs=int(both.size),
                n_transcripts=int(unique_codes(units[both, 0])[0].size),
                n_only_a=int((has_a & ~has_b).sum()),
                n_only_b=int((has_b & ~has_a).sum()),
                n_clusters=c,
                accuracy_a=float(score[both, a].mean()),
                accuracy_b=float(score[both, b].mean()),
                difference=float(d.mean()),
                ci95=ci,
                ci_method=ci_method(
                    c,
                    has_interval=ci is not None,
                    annotators=0 if person is None else person[1],
                    df=df or 0.0,
                ),
                df=df,
                test=_TEST if person is None else TEST,
                p_value=sign_flip_test(totals, rng_for(resampler.seed, "sign-flip", label))
                if person is None
                else fit.p_value(),
            )
        )
    return out


def _one_person(
    unit: Ints,
    judge: Ints,
    who: tuple[Ints, Bools],
    units: Ints,
    pair: tuple[int, int],
) -> tuple[Ints, int] | None:
    """Per unit of ``units``, the one person who judged it under either judge of ``pair``
    (a code: a nameless ``human`` judgment's is its judge name's; -1 where no person
    did), and how many people: when two or more did and no unit has two people (else
    None: no one annotator to cluster by)."""
    codes, person = who
    mine = np.isin(judge, pair) & np.isin(unit, units) & person
    pairs = unique_rows(np.stack([unit[mine], codes[mine]], axis=1))[0]
    if pairs.shape[0] == 0 or np.unique(pairs[:, 0]).size < pairs.shape[0]:
        return None
    n_people = people(codes[mine], person[mine])
    if n_people < 2:
        return None
    out = np.full(int(unit.max()) + 1, -1, dtype=np.int64)
    out[pairs[:, 0]] = pairs[:, 1]
    return out[units], n_people
