"""The result of an analysis. These models ARE the JSON schema of ``oversight report --json``.

Every field is documented where it is declared; ``Analysis.model_json_schema()`` carries
those descriptions. Numbers that cannot be computed (an empty slice, a single cluster) are
``null``, never a made-up zero. Intervals are ``[low, high]`` pairs. The schema is versioned
by ``schema_version``: fields may be added in a minor change; renaming or removing one bumps
the version.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

__all__ = [
    "ANALYSIS_SCHEMA_VERSION",
    "Agreement",
    "Analysis",
    "CalibrationBin",
    "Comparison",
    "DebaterStats",
    "EscalationStats",
    "GroupStats",
    "JudgePairAgreement",
    "McNemar",
    "PlayerRating",
    "RatingTable",
    "SelectivePoint",
    "Settings",
    "Slice",
    "Totals",
]

ANALYSIS_SCHEMA_VERSION = 1
"""Version of the JSON layout below."""

Interval = tuple[float, float] | None


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class _Flat(BaseModel):
    """A model whose ``by`` values are also written at the top level of its JSON object."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    by: dict[str, Any]
    """The grouping fields of this entry and their values (null = field missing)."""

    @model_serializer(mode="wrap")
    def _flatten(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        flat = {k: v for k, v in self.by.items() if k not in data}
        return {**flat, **data}


class Settings(_Model):
    """How the analysis was run."""

    by: list[str]
    """Fields the judgments were grouped by."""
    where: list[str]
    """Filters applied, as ``FIELD=VALUE`` / ``FIELD!=VALUE``."""
    n_bootstrap: int
    """Cluster-bootstrap resamples per interval."""
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
    """Lower edge of the bin (inclusive)."""
    upper: float
    """Upper edge (exclusive, except 1.0)."""
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
    accuracy: float | None
    """Their accuracy (ties half)."""
    ci95: Interval
    """Cluster-bootstrap 95% interval of that accuracy."""


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
    """95% percentile interval of accuracy, bootstrapping sources (clusters)."""
    mean_p_gold: float | None
    """Mean probability on the gold answer."""
    brier: float | None
    """Mean multi-class Brier score, sum_i (p_i - [i = gold])^2, in [0, 2]; lower is better."""
    log_score: float | None
    """Mean natural log of p(gold), floored at 1e-6; higher (closer to 0) is better."""
    ece: float | None
    """Expected calibration error over 10 equal-width bins of max(p)."""
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
    """An assisted condition against the unassisted baseline, on the questions both have."""

    assisted: str
    """The assisted condition."""
    baseline: str
    """The unassisted condition."""
    expert: str | None
    """The expert condition used for gap closed, if any."""
    n_questions: int
    """Questions judged under both conditions (the pairs)."""
    n_clusters: int
    """Sources among the paired questions."""
    accuracy_assisted: float | None
    """Accuracy of the assisted condition on the paired questions (per-question means)."""
    accuracy_baseline: float | None
    """Accuracy of the baseline on the same questions."""
    difference: float | None
    """accuracy_assisted - accuracy_baseline: mean over questions of the paired differences."""
    ci95: Interval
    """Paired cluster-bootstrap 95% interval of the difference."""
    mcnemar: McNemar | None
    """Exact McNemar test on the same pairs."""
    n_questions_gap: int
    """Questions judged under assisted, baseline and expert conditions."""
    accuracy_expert: float | None
    """Accuracy of the expert ceiling on those questions."""
    gap_closed: float | None
    """(A - U) / (E - U) on the questions all three share; null without an expert condition
    or when the expert is not more accurate than the baseline."""
    gap_closed_ci95: Interval
    """Paired cluster-bootstrap 95% interval of gap_closed."""


class PlayerRating(_Model):
    """One debater's Bradley-Terry rating."""

    debater: str
    """Endpoint spec or participant name, from the transcripts' ``roles``."""
    elo: float
    """Rating on the Elo scale: 1500 + 400 * theta / ln(10); 1500 is the average debater."""
    ci95: Interval
    """Cluster-bootstrap 95% interval of the Elo rating."""
    matches: int
    """Pairwise matches against other debaters (self-play left out)."""
    win_rate: float
    """Wins over matches, draws half."""


class DebaterStats(_Model):
    """How often a debater wins, by the side it was assigned."""

    debater: str
    """Endpoint spec or participant name."""
    matches_correct: int
    """Matches in which it argued the gold answer (self-play included)."""
    win_rate_correct: float | None
    """Share of those it won (draws half)."""
    matches_incorrect: int
    """Matches in which it argued a wrong answer."""
    win_rate_incorrect: float | None
    """Share of those it won (draws half)."""


class RatingTable(_Model):
    """Debater ratings from one judge's verdicts."""

    judge: str
    """Judge name."""
    n_matches: int
    """Pairwise matches between different debaters."""
    players: list[PlayerRating]
    """Ratings, best first; empty when fewer than two debaters met."""
    debaters: list[DebaterStats]
    """Win rates by assigned side, for every debater."""


class JudgePairAgreement(_Model):
    """Agreement of two judges on the transcripts both judged."""

    judge_a: str
    """First judge name."""
    judge_b: str
    """Second judge name."""
    n: int
    """Transcripts both judged with a definite verdict."""
    observed: float
    """Share of those with the same verdict."""
    kappa: float | None
    """Cohen's kappa; null when undefined (both always gave the same single answer)."""


class Agreement(_Model):
    """Agreement between judges on the same transcripts (verdicts; ties left out)."""

    condition: str | None = None
    """The condition these transcripts come from; null: over the whole run."""
    judges: list[str]
    """Judges compared."""
    n_transcripts: int
    """Transcripts with at least two verdicts."""
    alpha: float | None
    """Krippendorff's alpha (nominal) over all judges; null when undefined."""
    pairs: list[JudgePairAgreement]
    """Every pair of judges that shares transcripts."""


class EscalationStats(_Model):
    """How a fallback judge escalated to people, and how the human and the LLM agreed."""

    judge: str
    """Fallback judge name."""
    n: int
    """Its judgments (any status)."""
    escalated: int
    """How many it escalated to a human."""
    rate: float | None
    """escalated / n."""
    reasons: dict[str, int]
    """Escalations per kind of reason (the reason text before its first colon, e.g.
    ``low confidence``, ``disagreement``, ``the automatic judge failed``)."""
    pending: int
    """Escalated items no human has judged yet."""
    n_pairs: int
    """Escalated items with both an LLM and a human verdict."""
    agreement: float | None
    """Share of those pairs where the human's verdict equals the LLM's."""
    kappa: float | None
    """Cohen's kappa between the LLM and the human on those pairs."""
    llm_accuracy: float | None
    """Accuracy of the LLM on the pairs (gold known)."""
    human_accuracy: float | None
    """Accuracy of the human on the same pairs."""


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
    ratings: list[RatingTable]
    """Debater ratings per judge, for runs with debates."""
    agreement: Agreement | None
    """Agreement between judges, when at least two judged the same transcripts."""
    agreement_by_condition: list[Agreement] = []
    """The same, within each condition where at least two judges judged the same
    transcripts (assistance may make judges agree more, or less)."""
    escalations: list[EscalationStats]
    """Per fallback judge."""
    injection: list[InjectionCount] = []
    """Per condition with at least one flagged turn (see ``oversight show`` for which)."""
    warnings: list[str]
    """Things a reader should know before trusting the numbers."""
