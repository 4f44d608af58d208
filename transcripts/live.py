"""The live judge's vocabulary shared by protocols and the analysis: its speaker label and its
reward (Michael et al. 2023: the log score of the final belief minus a penalty per turn the
judge chose to continue). The protocol side is :mod:`protocols.live`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from transcripts.scoring import LOG_FLOOR

__all__ = [
    "JUDGE_SPEAKER",
    "LOG_FLOOR",
    "Scoring",
    "break_even",
    "expected_reward",
    "live_reward",
    "scoring_of",
]

JUDGE_SPEAKER = "Judge"
"""Speaker label of the judge's turns (and its entry in ``Transcript.roles``)."""


class Scoring(BaseModel):
    """The live judge's reward: ``constant + coefficient * log_base(p_gold) - penalty * k``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    turn_penalty: float
    """Reward lost per round the judge chose to hear (``k`` counts its ``continue`` turns)."""
    log_base: float = 2.0
    """Base of the logarithm (2 in the paper)."""
    coefficient: float = 1.0
    """Weight of the log score."""
    constant: float = 0.0
    """Added to every reward."""


def scoring_of(protocol_config: dict[str, Any]) -> Scoring | None:
    """How a transcript's live judge was rewarded, from its protocol configuration.

    Our protocols store ``turn_penalty`` (with ``live_judge``); rooms imported from the NYU
    dataset store the debate app's ``LogScoreWithLinearPenalty`` rule. None when neither.
    """
    if protocol_config.get("live_judge"):
        return Scoring(turn_penalty=float(protocol_config.get("turn_penalty", 0.0)))
    rules = protocol_config.get("rules")
    rule = rules.get("scoringFunction") if isinstance(rules, dict) else None
    linear = rule.get("LogScoreWithLinearPenalty") if isinstance(rule, dict) else None
    if isinstance(linear, dict):
        return Scoring(
            turn_penalty=float(linear.get("perTurnPenalty", 0.0)),
            log_base=float(linear.get("logBase", 2.0)),
            coefficient=float(linear.get("baseCoefficient", 1.0)),
            constant=float(linear.get("constant", 0.0)),
        )
    return None


def live_reward(p_gold: float, continues: int, scoring: Scoring) -> float:
    """The judge's reward: log score of its final belief minus the penalty per continue."""
    log = math.log(max(p_gold, LOG_FLOOR), scoring.log_base)
    return scoring.constant + scoring.coefficient * log - scoring.turn_penalty * continues


def expected_reward(probabilities: Sequence[float], continues: int, scoring: Scoring) -> float:
    """The reward a judge holding ``probabilities`` expects by its own belief, ending after
    ``continues`` continues: each answer's :func:`live_reward` weighted by its probability."""
    return sum(p * live_reward(p, continues, scoring) for p in probabilities if p > 0)


def _moved(probabilities: Sequence[float], index: int, p: float) -> list[float]:
    """``probabilities`` with ``p`` on ``index`` and the others scaled to fill the rest (all
    alike when they held nothing)."""
    rest = 1.0 - probabilities[index]
    n = len(probabilities)
    return [
        p if k == index else (q * (1.0 - p) / rest if rest > 0 else (1.0 - p) / (n - 1))
        for k, q in enumerate(probabilities)
    ]


def break_even(probabilities: Sequence[float], scoring: Scoring) -> list[float] | None:
    """How far another round must move a judge's belief to pay for its penalty, as the
    debate app of Michael et al. (2023) told its judges: per answer, the least probability
    on it (the others scaled to fill the rest) at which the reward expected after one more
    round (:func:`expected_reward`) is no less than that of ending now. None when no belief
    can pay (the current one is so sure that even certainty gains less than the penalty).

    Under a log score the expected reward of a belief falls with its entropy; moving one
    answer's probability toward 1 traces a convex curve, so the crossing is found by
    bisection."""
    now = expected_reward(probabilities, 0, scoring)

    def gain(index: int, p: float) -> float:
        return expected_reward(_moved(probabilities, index, p), 1, scoring) - now

    if len(probabilities) < 2 or any(gain(k, 1.0) < 0 for k in range(len(probabilities))):
        return None
    out = []
    for k, start in enumerate(probabilities):
        low, high = start, 1.0
        if gain(k, low) >= 0:
            out.append(low)
            continue
        for _ in range(60):
            mid = (low + high) / 2
            low, high = (low, mid) if gain(k, mid) >= 0 else (mid, high)
        out.append(high)
    return out
