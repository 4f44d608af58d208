"""What a judge may see of a transcript, and nothing more.

A :class:`JudgeView` is built from a :class:`~transcripts.Transcript` by copying, field by
field, only what a judge is entitled to: the question text, the answers in presented
order, the public turns (with each speaker's side given as a presented position and each
quote marked verified or not), and the hidden context only for the ``expert`` protocol.
The gold answer, private turns, model and endpoint names, interim beliefs of other judges
and all metadata are never copied, so no judge can read them. The presentation order is
kept in a private attribute, outside the model's fields, JSON and rendering, and is only
used to map a judge's probabilities back to the question's original order.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from transcripts._models import Transcript, Turn
from transcripts.errors import JudgeError

__all__ = ["JudgeView", "ViewQuote", "ViewTurn"]


class _ViewModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ViewQuote(_ViewModel):
    """A quote as a judge sees it."""

    text: str
    """The quoted text."""
    verified: bool
    """Whether it was found in the hidden context."""


class ViewTurn(_ViewModel):
    """A public turn as a judge sees it."""

    role: str
    """Role of the speaker (``debater``, ``consultant``, ``judge``, ...)."""
    speaker: str
    """Speaker label, e.g. ``Debater A``."""
    round: int
    """Round number, from 0."""
    content: str
    """What was said."""
    answer: int | None = None
    """Presented position of the answer this speaker argues for, if any."""
    quotes: list[ViewQuote] = Field(default_factory=list)
    """Quotes in the content, marked verified or not."""
    truncated: bool = False
    """True when the content was cut to the length limit."""


class JudgeView(_ViewModel):
    """Exactly what a judge may see."""

    transcript_id: str
    """Opaque id of the transcript, so the judgment can be filed."""
    protocol: str
    """Protocol name (tells the judge how to read the turns)."""
    question: str
    """The question text."""
    answers: list[str]
    """The answers in presented order."""
    turns: list[ViewTurn] = Field(default_factory=list)
    """Public turns, in order."""
    context: str | None = None
    """Hidden context; present only for the ``expert`` protocol."""
    rounds_shown: int
    """How many rounds of turns the view holds."""
    sides_chosen: bool = False
    """True when the speakers chose the answers they argue for (the ``open`` variants)
    rather than being assigned them: the protocol as the judge is told it, not who chose
    what."""
    _order: list[int] = PrivateAttr(default_factory=list)

    @classmethod
    def from_transcript(cls, transcript: Transcript, *, rounds: int | None = None) -> JudgeView:
        """The judge's view of ``transcript``, cut to its first ``rounds`` rounds if given."""
        order = transcript.order
        position = {original: shown for shown, original in enumerate(order)}
        public = [t for t in transcript.turns if t.visibility == "public"]
        round_numbers = sorted({t.round for t in public})
        if rounds is not None:
            keep = set(round_numbers[:rounds])
            public = [t for t in public if t.round in keep]
        view = cls(
            transcript_id=transcript.id,
            protocol=transcript.protocol,
            question=transcript.question.text,
            answers=[transcript.question.answers[i] for i in order],
            turns=[_view_turn(t, position) for t in public],
            context=transcript.question.context if transcript.judge_sees_context else None,
            rounds_shown=len({t.round for t in public}),
            sides_chosen=transcript.protocol_config.get("open") is True,
        )
        view._order = list(order)
        return view

    @property
    def presented_order(self) -> list[int]:
        """Original answer index at each presented position (what a judge's letters mean)."""
        if not self._order:
            raise JudgeError("this JudgeView has no presentation order; build it from a transcript")
        return list(self._order)

    def to_original(self, probabilities: list[float]) -> list[float]:
        """Map probabilities given in presented order back to the question's original order."""
        if not self._order:
            raise JudgeError(
                "this JudgeView was not built with JudgeView.from_transcript, so its "
                "presentation order is unknown; build views from transcripts"
            )
        if len(probabilities) != len(self._order):
            raise JudgeError(
                f"got {len(probabilities)} probabilities for {len(self._order)} answers"
            )
        original = [0.0] * len(self._order)
        for shown, p in enumerate(probabilities):
            original[self._order[shown]] = p
        return original

    def to_presented(self, original: list[float]) -> list[float]:
        """Map probabilities in original order to presented order (for display)."""
        if not self._order:
            raise JudgeError("this JudgeView has no presentation order; build it from a transcript")
        return [original[i] for i in self._order]


def _view_turn(turn: Turn, position: dict[int, int]) -> ViewTurn:
    return ViewTurn(
        role=turn.role,
        speaker=turn.speaker,
        round=turn.round,
        content=turn.content,
        answer=position[turn.answer] if turn.answer is not None else None,
        quotes=[ViewQuote(text=q.text, verified=q.verified) for q in turn.quotes],
        truncated=turn.truncated,
    )
