"""Power planning: how many questions and sources a comparison needs.

For a difference ``delta = p_A - p_B`` in accuracy, a two-sided test at level ``alpha`` and
the wanted ``power``, with ``z = z_{1-alpha/2} + z_{power}``:

* **unpaired** (each condition on its own questions): questions per condition
  ``n = z^2 (p_A q_A + p_B q_B) / delta^2`` (normal approximation, no continuity correction;
  the same number as ``statsmodels.stats.power.NormalIndPower`` with the effect size
  ``delta / sqrt((p_A q_A + p_B q_B) / 2)``);
* **paired** (both conditions on the same questions): ``n = z^2 var(d) / delta^2`` with
  ``var(d) = discordance - delta^2``, where ``discordance`` is the share of questions the
  two conditions score differently (default ``p_A q_B + p_B q_A``, as if independent; a
  pilot usually shows less, which is what pairing buys).

Clustering: with ``m`` questions per source and intraclass correlation ``icc`` (between the
scores of two questions of the same source), the variance grows by the design effect
``1 + (m - 1) icc``, and so does ``n``; sources needed are ``ceil(n / m)``.

Annotators: when people judge, each judging ``m_a`` questions, and ``icc_a`` is the share of
each condition's score variance that lies between people (``s2_a = icc_a p q``), the
annotator term adds ``(m_a - 1) icc_a (p_A q_A + p_B q_B)`` to the clustered per-question
variance (crossed sources and annotators of equal sizes: ``var(mean) = s2_source / G_source
+ s2_annotator / G_annotator + s2_rest / n``), so the design effect is ``1 + (m - 1) icc +
(m_a - 1) icc_a (p_A q_A + p_B q_B) / var``, ``var`` the per-question variance above
(unpaired: ``1 + (m - 1) icc + (m_a - 1) icc_a``). The plan says how many people that takes,
``ceil(n / m_a)`` per condition. It assumes each person judges ``m_a`` questions whatever
``n`` (recruit people in proportion): with a fixed panel the annotator term does not
shrink with more questions. Designs:

* **different people per condition** (the default; between-subject): the annotator term is
  each condition's, as the report's two-way interval sees it. Pairing by question does not
  remove it: a question's two judgments come from two people, so ``d = y_A - y_B`` carries
  ``u_A - u_B`` and the person sums over ``m_a`` questions add ``(m_a - 1) (s2_aA + s2_aB)``
  to ``n var(mean d)`` whatever ``var(d)`` pairing left (derivation: docs/guide/analysis.md);
* **the same person judges a question in both conditions** (``same_people``, paired only):
  a person's skill cancels in each difference; what remains is how much the condition
  helps each person differently, which a pilot of one condition cannot show, so the plan
  allows ``(m_a - 1) icc_a var(d)`` for it (an assumption: the design effect ``1 + (m - 1)
  icc + (m_a - 1) icc_a``). Unpaired with the same people the default is conservative.

From a pilot run, :func:`icc_from_scores` estimates the ICC by one-way ANOVA over sources
(the ICC(1) estimator with the unequal-size ``n0``), and ``m`` as the mean questions per
source; with two or more annotators in the baseline condition, the same estimator over
annotators on their judgments' scores gives ``icc_a``, and ``m_a`` is their mean judgments
each.
"""

from __future__ import annotations

import math
import os
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from transcripts import RunStore
from transcripts.errors import ConfigError

__all__ = ["PilotInputs", "PowerPlan", "icc_from_scores", "pilot_inputs", "plan_sample_size"]


class PowerPlan(BaseModel):
    """Questions and sources a comparison needs."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    difference: float
    """The difference in accuracy to detect (p_A - p_B)."""
    baseline_accuracy: float
    """Accuracy of condition B (p_B)."""
    power: float
    """Probability of detecting the difference."""
    alpha: float
    """Two-sided level of the test."""
    design: str
    """``paired`` or ``unpaired``."""
    discordance: float | None
    """Paired: share of questions the two conditions score differently."""
    icc: float
    """Intraclass correlation of question scores within a source."""
    questions_per_source: float
    """Questions per source (m)."""
    annotator_icc: float = 0.0
    """Share of the score variance between annotators (people); 0 for LLM judges."""
    questions_per_annotator: float = 1.0
    """Questions each annotator judges (m_a)."""
    variance: float = 0.0
    """Per-question variance of the difference, independent questions: ``p_A q_A + p_B
    q_B`` unpaired, ``discordance - difference^2`` paired."""
    same_people: bool = False
    """Paired: the same person judges a question in both conditions (their skill cancels)."""
    design_effect: float
    """What clustering multiplies ``variance`` by: 1 + (m - 1) icc + the annotator term
    (unpaired or ``same_people``: (m_a - 1) annotator_icc; paired by different people:
    (m_a - 1) annotator_icc (p_A q_A + p_B q_B) / variance)."""
    questions_unclustered: int
    """Questions per condition if questions were independent."""
    questions: int
    """Questions per condition with clustering (paired: questions judged under both)."""
    sources: int
    """Sources per condition, ceil(questions / m)."""
    annotators: int | None = None
    """With an annotator ICC above 0: annotators per condition, ceil(questions / m_a)."""


def plan_sample_size(
    difference: float,
    *,
    baseline_accuracy: float = 0.7,
    power: float = 0.8,
    alpha: float = 0.05,
    icc: float = 0.0,
    questions_per_source: float = 1.0,
    paired: bool = False,
    discordance: float | None = None,
    annotator_icc: float | None = None,
    questions_per_annotator: float = 1.0,
    same_people: bool = False,
) -> PowerPlan:
    """Questions and sources (and annotators) per condition to detect ``difference`` (see
    the module); ``same_people``: paired, each question judged by one person in both.
    ``annotator_icc`` None: not given (no annotator term; ``same_people`` is refused)."""
    p_b = baseline_accuracy
    p_a = p_b + difference
    if difference == 0 or not 0 < p_b < 1 or not 0 < p_a < 1:
        raise ConfigError(
            f"plan: the difference ({difference:+g}) must be non-zero and keep both "
            f"accuracies inside (0, 1) (baseline {p_b:g} -> {p_a:g})"
        )
    if not 0 < power < 1 or not 0 < alpha < 1:
        raise ConfigError(f"plan: power ({power:g}) and alpha ({alpha:g}) must be in (0, 1)")
    if not 0 <= icc < 1 or questions_per_source < 1:
        raise ConfigError(
            f"plan: icc must be in [0, 1) (got {icc:g}) and questions per source at least 1 "
            f"(got {questions_per_source:g})"
        )
    given_icc = annotator_icc is not None
    annotator_icc = annotator_icc or 0.0
    if not 0 <= annotator_icc < 1 or questions_per_annotator < 1:
        raise ConfigError(
            f"plan: the annotator ICC must be in [0, 1) (got {annotator_icc:g}) and questions "
            f"per annotator at least 1 (got {questions_per_annotator:g})"
        )
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    if paired:
        disc = p_a * (1 - p_b) + p_b * (1 - p_a) if discordance is None else discordance
        variance = disc - difference**2
        if variance <= 0 or disc > 1:
            raise ConfigError(
                f"plan: a discordance of {disc:g} cannot produce a difference of "
                f"{difference:+g} (it must exceed |difference|, at most 1)"
            )
    else:
        disc = None
        variance = p_a * (1 - p_a) + p_b * (1 - p_b)
    if same_people and not paired:
        raise ConfigError("plan: same people applies to a paired design (give --paired)")
    if same_people and not given_icc:
        # An ICC given as 0 (or a pilot's, clipped at 0) is accepted: the flag is then true
        # and changes nothing. Only a plan with no word on people is refused.
        raise ConfigError(
            "plan: same people changes only a plan whose people differ, and no annotator "
            "ICC was given: give --annotator-icc and --questions-per-annotator, or a --pilot "
            "with two or more people judging several questions each; or leave "
            "--same-people out"
        )
    n = z * z * variance / difference**2
    # The people's share of the scores' variance; pairing by question removes it only when
    # the same person judged both (then allowed for as the interaction; see the module).
    people = (p_a * (1 - p_a) + p_b * (1 - p_b)) / variance if paired and not same_people else 1
    effect = (
        1
        + (questions_per_source - 1) * icc
        + (questions_per_annotator - 1) * annotator_icc * people
    )
    clustered = math.ceil(n * effect)
    return PowerPlan(
        difference=difference,
        baseline_accuracy=p_b,
        power=power,
        alpha=alpha,
        design="paired" if paired else "unpaired",
        discordance=disc,
        variance=variance,
        same_people=same_people,
        icc=icc,
        questions_per_source=questions_per_source,
        annotator_icc=annotator_icc,
        questions_per_annotator=questions_per_annotator,
        design_effect=effect,
        questions_unclustered=math.ceil(n),
        questions=clustered,
        sources=math.ceil(clustered / questions_per_source),
        annotators=math.ceil(clustered / questions_per_annotator) if annotator_icc > 0 else None,
    )


def icc_from_scores(scores: NDArray[np.float64], source: NDArray[np.int64]) -> float:
    """One-way ANOVA ICC(1) of per-question scores grouped by source (clipped at 0)."""
    _, group = np.unique(source, return_inverse=True)
    k = int(group.max()) + 1 if group.size else 0
    n = scores.size
    if k < 2 or n <= k:
        raise ConfigError(
            f"plan: estimating the ICC needs at least 2 sources and more questions than "
            f"sources (got {k} sources, {n} questions)"
        )
    sizes = np.bincount(group).astype(np.float64)
    means = np.bincount(group, weights=scores) / sizes
    grand = scores.mean()
    msb = float((sizes * (means - grand) ** 2).sum() / (k - 1))
    msw = float(((scores - means[group]) ** 2).sum() / (n - k))
    n0 = (n - (sizes**2).sum() / n) / (k - 1)
    denominator = msb + (n0 - 1) * msw
    return max(0.0, (msb - msw) / denominator) if denominator > 0 else 0.0


class PilotInputs(BaseModel):
    """What a pilot run says about the inputs of :func:`plan_sample_size`."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    condition: str
    """The baseline condition the estimates come from."""
    baseline_accuracy: float
    """Its per-question accuracy."""
    icc: float
    """ICC of its per-question scores within sources (one-way ANOVA)."""
    questions_per_source: float
    """Its mean questions per source."""
    discordance: float | None
    """With ``other``: mean squared per-question difference on the shared questions."""
    n_questions: int
    """Questions of the baseline condition in the pilot."""
    n_annotators: int = 0
    """Annotators (people) who judged the baseline condition."""
    annotator_icc: float = 0.0
    """With two or more annotators: ICC of their judgments' scores within annotators."""
    questions_per_annotator: float = 1.0
    """With two or more annotators: their mean judgments each."""


def pilot_inputs(
    store: RunStore | str | os.PathLike[str], *, condition: str, other: str | None = None
) -> PilotInputs:
    """Estimate baseline accuracy, ICC, questions per source (and the paired discordance
    against ``other``) from the scored judgments of a pilot run (a folder or a RunStore)."""
    from oversight.analysis._data import load
    from oversight.analysis._stats import row_metrics
    from oversight.analysis._twoway import annotator_codes, people

    data = load(store)
    gold = np.clip(data.t_correct[data.t], 0, None)
    score = row_metrics(data.probs, gold).score
    conditions = np.array([data.transcripts[i].condition for i in data.t])
    known = sorted(set(conditions[data.scored].tolist()))

    def per_question(name: str) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        if name not in known:
            raise ConfigError(
                f"plan: the pilot has no scored judgment under condition {name!r}; "
                f"conditions: {', '.join(known) or 'none'}"
            )
        rows = np.nonzero(data.scored & (conditions == name))[0]
        q = data.t_question[data.t[rows]]
        total = np.bincount(q, weights=score[rows], minlength=data.n_questions)
        count = np.bincount(q, minlength=data.n_questions)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / count, count > 0

    base, has = per_question(condition)
    mine = np.nonzero(data.scored & (conditions == condition))[0]
    who, person = annotator_codes(data, mine)
    n_people = people(who, person)
    by_people: dict[str, float] = {}
    if n_people >= 2 and person.sum() > n_people:  # one judgment each: no annotator term
        by_people = {
            "annotator_icc": icc_from_scores(score[mine][person], who[person]),
            "questions_per_annotator": float(person.sum() / n_people),
        }
    source = np.zeros(data.n_questions, dtype=np.int64)
    source[data.t_question] = data.t_cluster
    qs = np.nonzero(has)[0]
    discordance = None
    if other is not None:
        theirs, has_other = per_question(other)
        shared = np.nonzero(has & has_other)[0]
        if shared.size == 0:
            raise ConfigError(f"plan: {condition} and {other} share no question in the pilot")
        discordance = float(((theirs[shared] - base[shared]) ** 2).mean())
    return PilotInputs(
        condition=condition,
        baseline_accuracy=float(base[qs].mean()),
        icc=icc_from_scores(base[qs], source[qs]),
        questions_per_source=float(qs.size / np.unique(source[qs]).size),
        discordance=discordance,
        n_questions=int(qs.size),
        n_annotators=n_people,
        **by_people,
    )
