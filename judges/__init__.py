"""Judges: LLM judge, human terminal judge, fallback and panel judges.

Every judge reads a :class:`~transcripts.JudgeView` (never a transcript) and returns a
:class:`~transcripts.Judgment` with probabilities in the question's original order.
"""

from judges._common import HumanQuit
from judges.base import Judge, JudgeOptions, JudgeQuestion, LiveBelief
from judges.config import (
    FallbackJudgeConfig,
    HumanJudgeConfig,
    JudgeConfig,
    LLMJudgeConfig,
    PanelJudgeConfig,
    build_judge,
    parse_judge_config,
)
from judges.fallback import EscalationPolicy, FallbackJudge, FallbackOptions
from judges.human import HumanJudge, HumanJudgeOptions
from judges.live import LiveHumanJudge
from judges.llm import LLMJudge, LLMJudgeOptions
from judges.panel import PanelJudge, PanelOptions
from judges.queue import final_judgments, pending_escalations

__all__ = [
    "EscalationPolicy",
    "FallbackJudge",
    "FallbackJudgeConfig",
    "FallbackOptions",
    "HumanJudge",
    "HumanJudgeConfig",
    "HumanJudgeOptions",
    "HumanQuit",
    "Judge",
    "JudgeConfig",
    "JudgeOptions",
    "JudgeQuestion",
    "LLMJudge",
    "LLMJudgeConfig",
    "LLMJudgeOptions",
    "LiveBelief",
    "LiveHumanJudge",
    "PanelJudge",
    "PanelJudgeConfig",
    "PanelOptions",
    "build_judge",
    "final_judgments",
    "parse_judge_config",
    "pending_escalations",
]
