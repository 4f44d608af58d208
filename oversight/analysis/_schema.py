"""The result of an analysis. These models ARE the JSON schema of ``oversight report --json``.

Every field is documented where it is declared; ``Analysis.model_json_schema()`` carries
those descriptions. Numbers that cannot be computed (an empty slice, a single cluster) are
``null``, never a made-up zero. Intervals are ``[low, high]`` pairs. The schema is versioned
by ``schema_version``: fields may be added in a minor change; renaming or removing one bumps
the version.
"""

from __future__ import annotations

from pydantic import Field

from oversight.analysis._belief_models import BeliefCurve
from oversight.analysis._schema_base import Interval, _Flat, _Model
from oversight.analysis._schema_extra import (
    Agreement,
    DebaterStats,
    EloRelation,
    EscalationStats,
    JudgeComparison,
    JudgePairAgreement,
    ModelFit,
    ModelTerm,
    PlayerRating,
    PlayerRatings,
    RatingTable,
)
from oversight.analysis._tournament import TournamentTable

__all__ = [
    "ANALYSIS_SCHEMA_VERSION",
    "Agreement",
    "Analysis",
    "CalibrationBin",
    "Comparison",
    "DebaterStats",
    "EloRelation",
    "EscalationStats",
    "GroupStats",
    "JudgeComparison",
    "JudgePairAgreement",
    "McNemar",
    "ModelFit",
    "ModelTerm",
    "PlayerRating",
    "PlayerRatings",
    "RatingTable",
    "SelectivePoint",
    "Settings",
    "Slice",
    "Totals",
]

ANALYSIS_SCHEMA_VERSION = 1
"""Version of the JSON layout below."""


class Settings(_Model):
    """How the analysis was run."""

    by: list[str]
    """Fields the judgments were grouped by."""
    where: list[str]
    """Filters applied, as ``FIELD=VALUE`` / ``FIELD!=VALUE``."""
    n_bootstrap: int
    """Cluster-bootstrap resamples per interval."""
    small_sample_clusters: int = 50
    """Below this many sources, means and differences get CR2 t intervals, not the
    bootstrap."""
    multiplicity: str = "holm"
    """Adjustment of the comparisons' p-values: ``holm`` or ``none``."""
    cluster: list[str] = Field(default_factory=lambda: ["sources", "annotators"])
    """What intervals are clustered by: ``["sources", "annotators"]`` (judgments of two or
    more people also by annotator: about the population of annotators) or ``["sources"]``
    (about the people who judged)."""
    compare: list[list[str]] = Field(default_factory=list)
    """Pairs ``[A, B]`` asked for with ``--compare`` (empty: the default pairs)."""
    baseline: str | None = None
    """The condition every other is compared with (``--baseline``), if any."""
    left_out_of_comparisons: list[str] = Field(default_factory=list)
    """Conditions the default comparisons, and those with ``baseline``, leave out: a
    tournament's cross-play (debates between two different players), which rates the
    players (empty under ``compare``, which names the pairs)."""
    seed: int
    """Random seed: the same data, settings and seed give the same numbers."""
    ci_level: float
    """Coverage of every interval (0.95)."""
    n_bins: int
    """Equal-width confidence bins for ECE and calibration curves."""
    thresholds: list[float]
    """Confidence thresholds of selective accuracy."""


class Totals(_Model):
    """Counts over the whole run store."""

    transcripts: int
    """Transcripts in the store (latest version of each id)."""
    judgments: int
    """Judgments that count (after the final-judgment rule) whose transcript is in the store."""
    orphaned: int
    """Judgments whose transcript is not in the store (left out)."""
    replaced: int
    """Judgments left out because a final judgment supersedes them or a later one of the same
    judge, transcript and rounds replaces them (an ok one replaces a failed one)."""
    filtered_out: int
    """Judgments left out by ``where``."""
    analysed: int
    """Judgments kept after filtering (any status)."""
    scored: int
    """Kept judgments that are scored: ok, valid probabilities, complete transcript, gold known."""
    failed: int
    """Kept judgments with status ``failed``."""
    skipped: int
    """Kept judgments with status ``skipped``."""
    unscored: int
    """Kept ok judgments that cannot be scored (no gold, transcript error, wrong length)."""


class CalibrationBin(_Model):
    """One equal-width confidence bin of a calibration curve."""

    lower: float
    """Lower edge of the bin (exclusive, except 0.0): bins are ``(lower, upper]``."""
    upper: float
    """Upper edge (inclusive)."""
    n: int
    """Judgments whose confidence max(p) falls in the bin."""
    mean_confidence: float | None
    """Mean confidence in the bin; null when empty."""
    accuracy: float | None
    """Accuracy (ties half) in the bin; null when empty."""


class SelectivePoint(_Model):
    """Accuracy when only judgments at least this confident count."""

    threshold: float
    """Minimum confidence max(p)."""
    n: int
    """Judgments at or above the threshold."""
    coverage: float | None
    """Their share of all judgments of the group."""
    accuracy: float | None
    """Their accuracy; null when none."""


class Slice(_Model):
    """Accuracy of the judgments of a group that share one value of something."""

    value: str | int | float | None
    """The value: a round count, a gold position (0 = shown first), ``correct``/``incorrect``."""
    n: int
    """Judgments with that value."""
    n_clusters: int = 0
    """Sources among them: the interval uses these, not the group's."""
    accuracy: float | None
    """Their accuracy (ties half)."""
    ci95: Interval
    """95% interval of that accuracy from the slice's own sources (CR2 t below
    ``Settings.small_sample_clusters`` sources, else the cluster bootstrap); null with fewer
    than 2 sources."""


class GroupStats(_Flat):
    """Statistics of one group (by default: one condition and one judge)."""

    label: str
    """The group's values joined for display, e.g. ``debate · weak``."""
    n: int
    """Judgments scored (status ok with a gold answer)."""
    n_failed: int
    """Judgments of the group with status ``failed`` (not counted in ``n``)."""
    n_skipped: int
    """Judgments with status ``skipped`` (not counted in ``n``)."""
    n_unscored: int
    """Ok judgments that cannot be scored (no gold, transcript error, wrong length)."""
    n_transcripts: int
    """Distinct transcripts among the scored judgments."""
    n_questions: int
    """Distinct questions among them."""
    n_clusters: int
    """Distinct sources (bootstrap clusters) among them."""
    accuracy: float | None
    """Mean score: 1 if the gold answer is the judge's single most probable one, 1/m for a
    tie of m answers including gold (with two answers: p(gold) > 0.5 is 1, = 0.5 is half)."""
    ci95: Interval
    """95% interval of accuracy over the group's sources (clusters): method in
    ``ci_method``."""
    ci_method: str = ""
    """How the group's intervals of means were computed (CR2 t with few sources, else the
    percentile cluster bootstrap), or why there are none."""
    balanced_accuracy: float | None = None
    """Consultancy (one assigned speaker): mean of the accuracy when the consultant argued
    the correct and an incorrect answer (Khan et al. 2024); null unless both occur."""
    balanced_accuracy_ci95: Interval = None
    """95% interval of balanced_accuracy."""
    mean_p_gold: float | None
    """Mean probability on the gold answer."""
    brier: float | None
    """Mean multi-class Brier score, sum_i (p_i - [i = gold])^2, in [0, 2]; lower is better."""
    brier_ci95: Interval = None
    """95% interval of the multi-class Brier score."""
    brier_binary: float | None = None
    """Binary Brier (1 - p(gold))^2 in [0, 1], the convention of debate papers (half the
    multi-class score); only when every question of the group has two answers."""
    log_score: float | None
    """Mean natural log of p(gold), floored at 1e-6; higher (closer to 0) is better."""
    log_score_ci95: Interval = None
    """95% interval of the log score."""
    ece: float | None
    """Expected calibration error over 10 equal-width right-closed bins (a, b] of max(p)."""
    ece_ci95: Interval = None
    """Percentile cluster-bootstrap 95% interval of ECE (not debiased)."""
    mean_rounds: float | None
    """Mean rounds seen by the judge (``rounds_seen``, else the transcript's rounds)."""
    picks_first: float | None
    """Share of verdicts for the answer presented first (ties split); 1/k means no position bias."""
    calibration: list[CalibrationBin]
    """Calibration curve: all 10 bins, empty ones included."""
    selective: list[SelectivePoint]
    """Selective accuracy at each confidence threshold."""
    by_rounds: list[Slice]
    """Accuracy per number of rounds seen."""
    by_gold_position: list[Slice]
    """Accuracy per presented position of the gold answer (0 = shown first)."""
    by_assigned_side: list[Slice]
    """For single-consultant transcripts: accuracy when the consultant argued the correct
    vs the incorrect answer."""


class McNemar(_Model):
    """Exact McNemar test on per-question majority outcomes."""

    assisted_only: int
    """Questions right under the assisted condition and wrong under the baseline (b)."""
    baseline_only: int
    """Questions wrong under the assisted condition and right under the baseline (c)."""
    both: int
    """Questions right under both."""
    neither: int
    """Questions wrong under both."""
    excluded: int
    """Questions left out because a per-question score is exactly 0.5 (a tie)."""
    p_value: float
    """Two-sided exact p-value: binomial test of b in b + c at 0.5 (ignores clustering)."""


class Comparison(_Flat):
    """Condition ``assisted`` (A) against condition ``baseline`` (B): accuracy A - B."""

    assisted: str
    """The first condition, A (by default the assisted one, or debate against consultancy)."""
    baseline: str
    """The second condition, B (by default the unassisted one, or consultancy)."""
    expert: str | None
    """The expert condition used for gap closed, if any."""
    design: str = "paired"
    """``paired`` (the shared questions, A_q - B_q) or ``unpaired`` (all questions of each)."""
    n_questions: int
    """Questions of A in the comparison (paired: the pairs)."""
    n_questions_baseline: int = 0
    """Questions of B in the comparison (paired: the same pairs)."""
    n_clusters: int
    """Sources among the compared questions."""
    accuracy_assisted: float | None
    """Per-question accuracy of A on the compared questions (each question counts once)."""
    accuracy_baseline: float | None
    """Per-question accuracy of B on its compared questions."""
    difference: float | None
    """accuracy_assisted - accuracy_baseline."""
    ci95: Interval
    """95% interval of the difference (method in ``ci_method``); null with fewer than 2
    sources."""
    ci_method: str = ""
    """How ``ci95`` was computed, or why there is none."""
    df: float | None = None
    """Degrees of freedom of the t reference distribution, when one was used."""
    test: str = ""
    """The clustered test behind ``p_value``."""
    p_value: float | None = None
    """Two-sided p-value of no difference, respecting clustering by source."""
    p_adjusted: float | None = None
    """``p_value`` adjusted for the number of comparisons in the report (``Settings.
    multiplicity``); equal to ``p_value`` when no adjustment is made."""
    mcnemar: McNemar | None
    """Exact McNemar test on the same pairs (paired designs only; ignores clustering)."""
    n_questions_gap: int
    """Questions judged under A, B and the expert condition."""
    accuracy_expert: float | None = None
    """Accuracy of the expert ceiling on those questions."""
    assisted_minus_baseline: float | None = None
    """A - U on the gap-closed questions."""
    assisted_minus_baseline_ci95: Interval = None
    """CR2 t 95% interval of A - U."""
    expert_minus_baseline: float | None = None
    """E - U on the gap-closed questions."""
    expert_minus_baseline_ci95: Interval = None
    """CR2 t 95% interval of E - U."""
    gap_closed: float | None = None
    """(A - U) / (E - U); null without an expert condition or when E - U <= 0."""
    gap_closed_ci95: Interval = None
    """Fieller 95% interval of gap closed; null when unbounded (E - U not clearly positive)
    or with fewer than 2 sources."""
    gap_closed_bounded: bool | None = None
    """Whether Fieller's set is a finite interval; null when not computed."""


class InjectionCount(_Model):
    """Injection attempts the heuristic detector (``transcripts.injection``) flags, per
    condition: a count for a reader to check by hand, not a measured rate."""

    condition: str
    """Condition label."""
    transcripts: int
    """Transcripts of the condition in the store."""
    flagged: int
    """Transcripts with at least one flagged speaker turn."""
    turns: int
    """Flagged speaker turns."""


class Analysis(_Model):
    """Everything ``oversight report`` says about a run."""

    schema_version: int = ANALYSIS_SCHEMA_VERSION
    """Version of this layout."""
    run: str
    """Path of the run folder."""
    run_id: str
    """Id of the run."""
    settings: Settings
    """How the numbers were computed."""
    totals: Totals
    """Counts over the run."""
    groups: list[GroupStats]
    """Per group statistics; each object also carries its ``by`` fields at the top level
    (except a field named like a statistic, e.g. ``n``, which is only inside ``by``)."""
    comparisons: list[Comparison]
    """Each assisted condition against each unassisted baseline, within each combination of
    the ``by`` fields other than condition and protocol (also at the top level)."""
    judge_comparisons: list[JudgeComparison] = Field(default_factory=list)
    """Each pair of judges on the transcripts both judged, within each condition (and
    combination of the other ``by`` fields except judge ones): paired accuracy A - B (also
    at the top level)."""
    ratings: list[RatingTable]
    """Debater ratings per judge, for runs with debates."""
    agreement: Agreement | None
    """Agreement between judges, when at least two judged the same transcripts."""
    agreement_by_condition: list[Agreement] = Field(default_factory=list)
    """The same, within each condition where at least two judges judged the same
    transcripts (assistance may make judges agree more, or less)."""
    escalations: list[EscalationStats]
    """Per fallback judge."""
    model: ModelFit | None = None
    """The optional model-based analysis (``--model gee|glmm``)."""
    injection: list[InjectionCount] = Field(default_factory=list)
    """Per condition with at least one flagged turn (see ``oversight show`` for which)."""
    tournaments: list[TournamentTable] = Field(default_factory=list)
    """Per judge, for runs whose transcripts record players: ratings, each player's judge
    accuracy in debate and consultancy, and accuracy against Elo (Khan et al. 2024)."""
    beliefs: list[BeliefCurve] = Field(default_factory=list)
    """Live judges' belief turn by turn within transcripts, turns used and reward, per group
    of transcripts with belief turns (see :mod:`oversight.analysis._beliefs`)."""
    warnings: list[str]
    """Things a reader should know before trusting the numbers."""
