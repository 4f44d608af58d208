"""Output models of debater ratings, judge agreement, escalations and the optional model fit
(part of the JSON schema of ``oversight report --json``; see :mod:`._schema`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from oversight.analysis._schema_base import Interval, _Flat, _Model

__all__ = [
    "Agreement",
    "DebaterStats",
    "EloRelation",
    "EscalationStats",
    "JudgeComparison",
    "JudgePairAgreement",
    "ModelFit",
    "ModelTerm",
    "PlayerRating",
    "PlayerRatings",
    "RatingTable",
]


class PlayerRating(_Model):
    """One debater's Bradley-Terry rating."""

    debater: str
    """Endpoint spec or participant name, from the transcripts' ``roles``."""
    elo: float
    """Rating on the Elo scale: 1500 + 400 * theta / ln(10); 1500 is the prior mean."""
    ci95: Interval
    """95% interval of the Elo rating (Laplace approximation of the posterior)."""
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


class PlayerRatings(_Model):
    """Side-adjusted Bradley-Terry ratings (see :func:`oversight.analysis.rate_players`)."""

    n_matches: int
    """Pairwise matches between different players."""
    players: list[PlayerRating]
    """Ratings, best first."""
    side_advantage: float | None = None
    """Log-odds advantage of arguing the gold answer (beta); null when sides were not given."""
    side_advantage_ci95: Interval = None
    """95% interval of the side advantage (Laplace approximation of the posterior)."""
    prior_sd: float
    """Prior standard deviation of a rating, in logits."""


class RatingTable(_Model):
    """Debater ratings from one judge's verdicts (within one condition / ``by`` group)."""

    judge: str
    """Judge name."""
    group: dict[str, Any] = Field(default_factory=dict)
    """The ``by`` fields (other than judge) of the judgments rated, e.g. the condition."""
    side_advantage: float | None = None
    """Log-odds advantage of arguing the gold answer, fitted with the ratings."""
    side_advantage_ci95: Interval = None
    """95% interval of the side advantage."""
    prior_sd: float | None = None
    """Prior standard deviation of a rating, in logits."""
    n_matches: int
    """Pairwise matches between different debaters."""
    players: list[PlayerRating]
    """Side-adjusted ratings, best first; empty when fewer than two debaters met."""
    debaters: list[DebaterStats]
    """Win rates by assigned side, for every debater."""


class JudgePairAgreement(_Model):
    """Agreement of two judges on the transcripts both judged."""

    judge_a: str
    """First judge name."""
    judge_b: str
    """Second judge name."""
    n: int
    """Pairs of verdicts (one of each judge on the same transcript; every judgment kept, so a
    judge that judged a transcript twice pairs twice)."""
    n_transcripts: int = 0
    """Transcripts both judged with a definite verdict."""
    observed: float
    """Share of those pairs with the same verdict."""
    kappa: float | None
    """Cohen's kappa; null when undefined (both always gave the same single answer)."""
    kappa_ci95: Interval = None
    """95% interval of kappa over sources: the jackknife t below 50, else the percentile
    cluster bootstrap."""


class Agreement(_Model):
    """Agreement between judges on the same transcripts (verdicts; ties left out)."""

    condition: str | None = None
    """The condition these transcripts come from; null: over the whole run."""
    judges: list[str]
    """Judges compared."""
    n_transcripts: int
    """Transcripts with at least two verdicts."""
    n_judgments: int = 0
    """Verdicts on those transcripts (every judgment kept)."""
    alpha: float | None
    """Krippendorff's alpha (nominal) over all verdicts per transcript; null when undefined."""
    alpha_ci95: Interval = None
    """95% interval of alpha over sources: the jackknife t below 50, else the percentile
    cluster bootstrap."""
    pairs: list[JudgePairAgreement]
    """Every pair of judges that shares transcripts."""


class JudgeComparison(_Flat):
    """Judge ``judge_a`` (A) against judge ``judge_b`` (B) on the same transcripts, within
    one condition (and combination of the other ``by`` fields): paired accuracy A - B."""

    judge_a: str
    """The first judge name (the pair's names in alphabetical order)."""
    judge_b: str
    """The second judge name."""
    n_pairs: int
    """Transcripts both judged, each at one rounds seen (a transcript both judged at two
    ``--rounds`` values counts twice): the pairs compared."""
    n_transcripts: int
    """Distinct transcripts among the pairs."""
    n_only_a: int
    """Transcripts (at a rounds seen) that only A judged with a scored judgment: left out."""
    n_only_b: int
    """Transcripts (at a rounds seen) that only B judged: left out."""
    n_clusters: int
    """Sources among the pairs."""
    accuracy_a: float | None
    """A's accuracy on the pairs (ties as everywhere: 1/m; a judge's several judgments of
    one pair, e.g. two annotators, count as their mean)."""
    accuracy_b: float | None
    """B's accuracy on the same pairs."""
    difference: float | None
    """accuracy_a - accuracy_b: the mean over pairs of A's score minus B's."""
    ci95: Interval
    """95% interval of the difference (method in ``ci_method``); null with fewer than 2
    sources or no variation between them."""
    ci_method: str = ""
    """How ``ci95`` was computed (CR2 t below ``Settings.small_sample_clusters`` sources,
    else the percentile cluster bootstrap), or why there is none."""
    df: float | None = None
    """Degrees of freedom of the t reference distribution, when one was used."""
    test: str = ""
    """The clustered test behind ``p_value``."""
    p_value: float | None = None
    """Two-sided p-value of no difference: sign-flip permutation over sources."""
    p_adjusted: float | None = None
    """``p_value`` adjusted over the report's judge comparisons (``Settings.multiplicity``;
    a family of its own, apart from the condition comparisons); equal to ``p_value`` when
    no adjustment is made."""


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
    """Queued items no person has resolved yet: what ``oversight judge`` serves (a skip or a
    failed judgment resolves nothing; see :func:`transcripts.final.resolved_escalation_ids`)."""
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


class EloRelation(_Model):
    """Judge accuracy against debater Elo: a weighted least-squares line (Khan et al. 2024)."""

    n_players: int
    """Players (points) in the fit."""
    slope_per_100_elo: float
    """Change in judge accuracy per 100 Elo points of the debaters."""
    slope_ci95: Interval
    """HC2 robust t 95% interval of the slope; null when it cannot be computed."""
    p_value: float | None
    """Two-sided p-value of a zero slope."""
    accuracy_at_1500: float
    """Fitted accuracy for a debater rated 1500."""
    df: float
    """Bell-McCaffrey degrees of freedom of the t distribution."""


class ModelTerm(_Model):
    """One fixed effect of the model-based analysis (log-odds scale)."""

    name: str
    """The term, as statsmodels names it, e.g. ``C(condition)[T.debate]``."""
    estimate: float | None
    """Log-odds coefficient (GEE) or its posterior mean (GLMM); null when the fit gave none
    (not finite)."""
    se: float | None
    """Bias-reduced robust standard error (GEE) or posterior standard deviation (GLMM); null
    when not finite."""
    ci95: Interval
    """estimate +- the t quantile (sources - 1 df) times se (GEE); null for the GLMM, whose
    posterior sds are too narrow to make intervals of (see
    :data:`oversight.analysis._model.GLMM_NO_INFERENCE`)."""
    p_value: float | None
    """Two-sided p-value of zero (t with sources - 1 df; GEE only)."""


class ModelFit(_Model):
    """A logistic model of each judgment's correctness, beside the design-based numbers."""

    kind: str
    """``gee`` or ``glmm``."""
    method: str
    """What was fitted, in words."""
    formula: str
    """The fixed-effects formula (patsy syntax)."""
    reference: str
    """The reference condition of the condition coefficients."""
    n: int
    """Judgments in the fit."""
    terms: list[ModelTerm]
    """Fixed effects."""
    random_effect_sd: dict[str, float] = Field(default_factory=dict)
    """GLMM: posterior mean standard deviation of each crossed random intercept (``source``,
    ``judge``, ``debater``) and of each condition's random slope by judge (``judge x
    CONDITION``: how much that condition's effect differs between judges)."""
    notes: list[str] = Field(default_factory=list)
    """Warnings from the fit (e.g. convergence) and simplifications made."""
