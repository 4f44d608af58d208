"""Statistics of a run: does assistance beat unassisted judging?

Example::

    from oversight.analysis import analyze
    result = analyze("runs/pilot", by=["condition", "judge"], where={"included_in_paper": True})
    for group in result.groups:
        print(group.label, group.accuracy, group.ci95)
    print(result.model_dump_json(indent=2))   # the JSON schema of `oversight report --json`

How each number is defined is documented where it is computed: per-judgment scores, Brier,
log score, ECE and the tests in :mod:`oversight.analysis._stats`; the cluster bootstrap in
:mod:`oversight.analysis._bootstrap`; CR2 t intervals for few sources, Fieller, the sign-flip
test and Holm in :mod:`oversight.analysis._smallsample`; per-group statistics in
:mod:`oversight.analysis._groups`; comparisons between any conditions and gap closed in
:mod:`oversight.analysis._compare`; side-adjusted ratings (:func:`rate_players`) in
:mod:`oversight.analysis._players`; per-side ratings (:func:`rate_players_by_side`) in
:mod:`oversight.analysis._side_ratings`; agreement in :mod:`oversight.analysis._agreement`;
matches and escalations in :mod:`oversight.analysis._judges`; the optional GEE/GLMM in
:mod:`oversight.analysis._model`; power planning (:func:`plan_sample_size`) in
:mod:`oversight.analysis._power`; ``--by`` / ``--where`` fields in
:mod:`oversight.analysis._fields`; the generator–discriminator–critique gaps of critique
runs in :mod:`oversight.analysis._gdc` (:func:`gdc`); live judges' belief curves, turns used
and reward in :mod:`oversight.analysis._beliefs`. The output models in
:mod:`oversight.analysis._schema` document every field of the JSON.
"""

from oversight.analysis._analyze import DEFAULT_BY, DEFAULT_THRESHOLDS, analyze
from oversight.analysis._annotators import AnnotatorPair, AnnotatorStats, AnnotatorTable, annotators
from oversight.analysis._belief_models import BeliefCurve, BeliefPoint
from oversight.analysis._cluster import ClusterEstimate
from oversight.analysis._fields import BUILTIN_FIELDS
from oversight.analysis._gdc import GDCEstimate, GDCStats, gdc
from oversight.analysis._players import (
    DEFAULT_PRIOR_SD,
    SIDE_PRIOR_SD,
    accuracy_vs_elo,
    rate_players,
)
from oversight.analysis._power import (
    PilotInputs,
    PowerPlan,
    icc_from_scores,
    pilot_inputs,
    plan_sample_size,
)
from oversight.analysis._ratings import fit_bradley_terry
from oversight.analysis._schema import (
    ANALYSIS_SCHEMA_VERSION,
    Agreement,
    Analysis,
    CalibrationBin,
    Comparison,
    DebaterStats,
    EloRelation,
    EscalationStats,
    GroupStats,
    InjectionCount,
    JudgeComparison,
    JudgePairAgreement,
    McNemar,
    ModelFit,
    ModelTerm,
    PlayerRating,
    PlayerRatings,
    RatingTable,
    SelectivePoint,
    Settings,
    Slice,
    Totals,
)
from oversight.analysis._side_ratings import SideRating, SideRatings, rate_players_by_side
from oversight.analysis._stats import (
    cohens_kappa,
    expected_calibration_error,
    krippendorff_alpha,
    mcnemar_exact,
)
from oversight.analysis._tournament import (
    PlayerResult,
    Slope,
    TournamentTable,
)
from oversight.analysis._trees import TreeStats, tree_stats

__all__ = [
    "ANALYSIS_SCHEMA_VERSION",
    "BUILTIN_FIELDS",
    "DEFAULT_BY",
    "DEFAULT_PRIOR_SD",
    "DEFAULT_THRESHOLDS",
    "SIDE_PRIOR_SD",
    "Agreement",
    "Analysis",
    "AnnotatorPair",
    "AnnotatorStats",
    "AnnotatorTable",
    "BeliefCurve",
    "BeliefPoint",
    "CalibrationBin",
    "ClusterEstimate",
    "Comparison",
    "DebaterStats",
    "EloRelation",
    "EscalationStats",
    "GDCEstimate",
    "GDCStats",
    "GroupStats",
    "InjectionCount",
    "JudgeComparison",
    "JudgePairAgreement",
    "McNemar",
    "ModelFit",
    "ModelTerm",
    "PilotInputs",
    "PlayerRating",
    "PlayerRatings",
    "PlayerResult",
    "PowerPlan",
    "RatingTable",
    "SelectivePoint",
    "Settings",
    "SideRating",
    "SideRatings",
    "Slice",
    "Slope",
    "Totals",
    "TournamentTable",
    "TreeStats",
    "accuracy_vs_elo",
    "analyze",
    "annotators",
    "cohens_kappa",
    "expected_calibration_error",
    "fit_bradley_terry",
    "gdc",
    "icc_from_scores",
    "krippendorff_alpha",
    "mcnemar_exact",
    "pilot_inputs",
    "plan_sample_size",
    "rate_players",
    "rate_players_by_side",
    "tree_stats",
]
