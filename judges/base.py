"""The judge interface: a judge reads a :class:`~transcripts.JudgeView` and decides.

Judges never receive a :class:`~transcripts.Transcript`, so they cannot read the gold
answer, the hidden context (except in ``expert``), private turns or model names.
Probabilities a judge produces in presented order are mapped back with
:meth:`JudgeView.to_original` before they go into a :class:`~transcripts.Judgment`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from transcripts import Call, Decision, JudgeIdentity, JudgeView, Judgment
from transcripts._validation import format_errors
from transcripts.errors import ConfigError, JudgeError

__all__ = ["Judge", "JudgeOptions", "JudgeQuestion", "LiveBelief", "resolve_options"]


class JudgeOptions(BaseModel):
    """Base of every judge kind's options: immutable, unknown keys refused.

    A judge kind's options model is the one list of its options: its constructor takes it
    (or the same names as keywords), and the experiment file's ``[[judges]]`` tables and the
    ``KIND:...`` spec strings are validated by a subclass that adds ``kind`` and what the
    judge is built from (see :mod:`judges.config`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    """Name the judgments are filed under; defaults to the endpoint spec (llm) or the kind."""


OptionsT = TypeVar("OptionsT", bound=JudgeOptions)


def resolve_options(
    model: type[OptionsT], given: JudgeOptions | None, overrides: Mapping[str, Any], *, what: str
) -> OptionsT:
    """``given`` (or the defaults) with ``overrides`` applied, validated by ``model``.

    ``given`` may be a subclass (a ``[[judges]]`` config); it is kept as it is when nothing
    overrides it. A bad option is a :class:`ConfigError` naming the key, what is wrong and
    what is allowed.
    """
    if isinstance(given, model) and not overrides:
        return given
    data = given.model_dump(include=set(model.model_fields), exclude_unset=True) if given else {}
    try:
        return model.model_validate({**data, **overrides})
    except ValidationError as err:
        problems = "; ".join(format_errors(err, model))
        raise ConfigError(f"{what}: {problems}") from None


class JudgeQuestion(str):
    """A question a judge asks between rounds: the text, and the model call that wrote it.

    It is a ``str``, so code that only wants the text needs nothing else; protocols put
    ``call`` on the judge turn they record, so every model call stays on its turn.
    """

    call: Call | None

    def __new__(cls, text: str, call: Call | None = None) -> JudgeQuestion:
        question = super().__new__(cls, text)
        question.call = call
        return question


@dataclass(frozen=True)
class LiveBelief:
    """A live judge's turn after a round (Michael et al. 2023): belief, question, decision."""

    probabilities: list[float]
    """Probability per answer in the question's original order."""
    decision: Decision
    """``continue`` to hear another round, ``end`` to stop the protocol here."""
    question: str | None = None
    """A question for the speakers, who read it in the next round; None asks nothing."""
    rationale: str = ""
    """Why the judge believes what it does (never shown to the speakers)."""
    calls: list[Call] = field(default_factory=list)
    """Model calls that produced this turn (none for people); the belief's own is the last."""
    earlier_calls: Literal["unread", "member"] = "unread"
    """What the calls before the last are: ``unread`` replies asked again (an LLM judge), or
    ``member`` calls of a judge that judges through others (a panel's members)."""
    time_s: float | None = None
    """Seconds the judge took for this turn."""


class Judge(abc.ABC):
    """Anything that turns a judge view into a judgment."""

    @property
    @abc.abstractmethod
    def identity(self) -> JudgeIdentity:
        """Who this judge is (kind, name, model or annotator)."""

    @abc.abstractmethod
    async def judge(self, view: JudgeView) -> Judgment:
        """Decide on ``view``: probabilities in the question's original order.

        A judge that cannot decide returns a judgment with ``status="failed"`` and the
        error, never a silent guess.
        """

    async def ask(self, view: JudgeView) -> str | None:
        """A question for the speakers between rounds of an interactive protocol.

        ``None`` (the default) asks nothing. A judge that asks a model returns a
        :class:`JudgeQuestion` carrying the call.
        """
        return None

    async def live_turn(
        self,
        view: JudgeView,
        *,
        opening: bool,
        can_end: bool,
        previous: list[list[float]],
        turn_penalty: float,
    ) -> LiveBelief:
        """The judge's turn in a protocol with a live judge, after a round (or, ``opening``,
        before any speech: a prior, no question, always ``continue``).

        ``can_end`` is False where the protocol goes on regardless (the opening) and at the
        last round, where it ends regardless. ``previous`` holds this judge's earlier beliefs
        in this transcript, in the view's presented order. ``turn_penalty`` is the protocol's
        reward lost per further round heard (what a judge that may end is told). This default
        judges the view as it stands, asks :meth:`ask`'s question and never ends early; the
        LLM and human judges decide for themselves.
        """
        judgment = await self.judge(view)
        if judgment.status != "ok" or judgment.probabilities is None:
            why = judgment.error or judgment.status
            raise JudgeError(f"{self.identity.name} gave no belief: {why}")
        question = None if opening or not can_end else await self.ask(view)
        return LiveBelief(
            probabilities=judgment.probabilities,
            decision="continue",
            question=question,
            rationale=judgment.rationale,
            calls=_every_call(judgment),  # a panel's are its members', in its components
            earlier_calls="member",
            time_s=judgment.time_s,
        )


def _every_call(judgment: Judgment) -> list[Call]:
    """The calls of ``judgment`` and of its components, recursively."""
    return [*judgment.calls, *(c for part in judgment.components for c in _every_call(part))]
