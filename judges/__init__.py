"""Judges: LLM judge, human terminal judge, fallback and panel judges.

Every judge reads a :class:`~transcripts.JudgeView` (never a transcript) and returns a
:class:`~transcripts.Judgment` with probabilities in the question's original order.
"""

from judges._common import HumanQuit
from judges.base import Judge, JudgeQuestion, LiveBelief
from judges.config import (
    FallbackJudgeConfig,
    HumanJudgeConfig,
    JudgeConfig,
    LLMJudgeConfig,
    PanelJudgeConfig,
    build_judge,
    from_spec,
    parse_judge_config,
)
from judges.fallback import EscalationPolicy, FallbackJudge
from judges.human import HumanJudge
from judges.live import LiveHumanJudge
from judges.llm import LLMJudge
from judges.panel import PanelJudge
from judges.queue import final_judgments, pending_escalations

__all__ = [
    "EscalationPolicy",
    "FallbackJudge",
    "FallbackJudgeConfig",
    "HumanJudge",
    "HumanJudgeConfig",
    "HumanQuit",
    "Judge",
    "JudgeConfig",
    "JudgeQuestion",
    "LLMJudge",
    "LLMJudgeConfig",
    "LiveBelief",
    "LiveHumanJudge",
    "PanelJudge",
    "PanelJudgeConfig",
    "build_judge",
    "final_judgments",
    "from_spec",
    "parse_judge_config",
    "pending_escalations",
]
