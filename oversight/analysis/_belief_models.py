"""The output models of the live judges' belief curves (computed in
:mod:`oversight.analysis._beliefs`), apart so the analysis schema can import them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["BeliefCurve", "BeliefPoint"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class BeliefPoint(_Model):
    """The group's belief after one judge turn."""

    turn: int
    """Judge turn, from 0 (the prior, before any speech)."""
    deciding: int
    """Transcripts whose judge was still judging at this turn (the others are carried)."""
    accuracy: float
    """Mean score of the beliefs (final beliefs carried forward)."""
    accuracy_ci95: tuple[float, float] | None
    """95% interval of ``accuracy`` (see ``BeliefCurve.ci_method``)."""
    p_gold: float
    """Mean probability on the gold answer."""
    p_gold_ci95: tuple[float, float] | None
    """95% interval of ``p_gold``."""


class BeliefCurve(_Model):
    """Belief turn by turn, turns used and reward, for one group of transcripts."""

    by: dict[str, Any]
    """The grouping fields' values."""
    label: str
    """The values joined, for display."""
    turns_from: str
    """``live judge`` (turns of our protocols' live judge, with decisions) or ``imported``."""
    n_transcripts: int
    """Transcripts in the group."""
    n_clusters: int
    """Question sources among them (the intervals' clusters)."""
    ci_method: str
    """How the intervals were computed (CR2 t below 50 sources, else the cluster bootstrap)."""
    points: list[BeliefPoint]
    """One point per judge turn, 0 to the most turns any transcript used, minus one."""
    turns_used: dict[int, int]
    """Belief turns per transcript -> how many transcripts used that many."""
    mean_turns: float
    """Mean belief turns per transcript."""
    reward: float | None
    """Mean reward of the judge (log score of the final belief minus the turn penalty)."""
    reward_ci95: tuple[float, float] | None
    """95% interval of ``reward``."""
    turn_penalty: float | None
    """Penalty per continued turn (None when transcripts differ or none is recorded)."""
    note: str = ""
    """Fields of ``by`` or ``where`` that do not apply to transcripts and were left out."""
