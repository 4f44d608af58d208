"""The judge interface: a judge reads a :class:`~transcripts.JudgeView` and decides.

Judges never receive a :class:`~transcripts.Transcript`, so they cannot read the gold
answer, the hidden context (except in ``expert``), private turns or model names.
Probabilities a judge produces in presented order are mapped back with
:meth:`JudgeView.to_original` before they go into a :class:`~transcripts.Judgment`.
"""

from __future__ import annotations

import abc

from transcripts import Call, JudgeIdentity, JudgeView, Judgment

__all__ = ["Judge", "JudgeQuestion"]


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
