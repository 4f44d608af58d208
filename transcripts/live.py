"""The live judge's vocabulary shared by protocols and the analysis: its speaker label and its
reward (Michael et al. 2023: the log score of the final belief minus a penalty per turn the
judge chose to continue). The protocol side is :mod:`protocols.live`.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict

from transcripts.scoring import LOG_FLOOR

__all__ = ["JUDGE_SPEAKER", "LOG_FLOOR", "Scoring", "live_reward", "scoring_of"]

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
