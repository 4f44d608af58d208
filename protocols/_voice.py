"""A speaker of a transcript (:class:`Voice`): its calls, each made a turn, and what a
protocol asks of a speaker's reply (a speech, an answer chosen, a score). The transcript it
speaks in is :class:`protocols._turns.Recorder`'s, which re-exports these names."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oversight.endpoints import strict_object
from oversight.endpoints._base import as_messages
from protocols import _speech
from protocols._common import close_quote, cut_to_limit
from protocols.prompts import speech as speech_prompts
from transcripts import Role, Turn, Visibility
from transcripts.errors import ProtocolError
from transcripts.quotes import as_said, verify_quotes

if TYPE_CHECKING:
    from oversight.endpoints import Completion, Endpoint, MessageLike
    from protocols._turns import Recorder

__all__ = ["CHOICE_KEY", "DRAW_OFFSET", "SCORE_SCHEMA", "Voice", "score_of"]

DRAW_OFFSET = 100_000
"""Added to ``sample_index`` per :attr:`Setup.draw`, so repeated setups are sampled apart."""

CHOICE_KEY = "answer"
"""Field of the structured reply in which a speaker chooses an answer (by letter)."""

SCORE_SCHEMA = strict_object({"score": {"type": "number"}, "reason": {"type": "string"}})
"""Structured reply of a scorer: a score in [0, 1] and why."""


def _with_format(prompt: str | Sequence[MessageLike], note: str) -> str | list[MessageLike]:
    """``prompt`` with ``note`` appended to its last message."""
    if isinstance(prompt, str):
        return f"{prompt}\n\n{note}"
    messages = [as_messages([m])[0].model_dump() for m in prompt]
    last = dict(messages[-1])
    last["content"] = f"{last['content']}\n\n{note}"
    return [*messages[:-1], last]


def score_of(completion: Completion, who: str) -> float:
    """The score in a scorer's structured reply, clamped to [0, 1]."""
    parsed = completion.parsed
    try:
        return min(1.0, max(0.0, float(parsed["score"])))
    except (TypeError, KeyError, ValueError) as err:
        raise ProtocolError(f"{who} gave no numeric score: {completion.text[:200]!r}") from err


@dataclass(frozen=True)
class Voice:
    """A speaker: its label, role and endpoint, and the side and system prompt it speaks with."""

    rec: Recorder
    """The transcript this voice speaks in."""
    endpoint: Endpoint
    """The model behind the voice."""
    role: Role
    """Role of its turns."""
    speaker: str
    """Speaker label of its turns, e.g. ``Debater A``."""
    system: str | None = None
    """System prompt of its calls."""
    answer: int | None = None
    """Original index of the answer it argues, if any."""

    def arguing(self, answer: int | None, *, system: str | None = None) -> Voice:
        """This voice arguing ``answer`` (original index), with ``system`` as its prompt."""
        return dataclasses.replace(self, answer=answer, system=system or self.system)

    async def complete(
        self,
        prompt: str | Sequence[MessageLike],
        *,
        schema: dict[str, Any] | None = None,
        sample_index: int = 0,
        temperature: float | None = None,
        batchable: bool = False,
    ) -> Completion:
        """One call with the protocol's sampling options (and a planted persona's brief);
        ``batchable`` when nothing waits on it at once (see ``Request.batchable``)."""
        options = self.rec.speech
        return await self.endpoint.complete(
            prompt,
            system=self.rec.planted_system(self),
            max_tokens=options.token_limit,
            temperature=options.temperature if temperature is None else temperature,
            schema=schema,
            sample_index=sample_index + self.rec.draw * DRAW_OFFSET,
            batchable=batchable,
        )

    def turn(
        self,
        completion: Completion,
        *,
        round: int,
        visibility: Visibility = "public",
        metadata: dict[str, Any] | None = None,
        limit: bool = True,
        content: str | None = None,
    ) -> Turn:
        """A turn of ``completion`` (or of ``content`` taken from it): cut to the limits,
        quotes verified, call recorded.

        A reply cut at max_tokens is marked for the judge exactly like a length-limit cut,
        and a quote it leaves open is closed (then verified) the same way.
        On a question without a source text nothing can be verified, so quote tags become
        plain quotation marks and no quote is marked either way.
        """
        content = (completion.text if content is None else content).strip()
        cut = completion.truncated
        content = close_quote(content) if cut else content
        content = as_said(content, self.rec.question.context)
        if limit:
            options = self.rec.speech
            content, cut_here = cut_to_limit(
                content, word_limit=options.word_limit, char_limit=options.char_limit
            )
            cut = cut or cut_here
        return Turn(
            role=self.role,
            speaker=self.speaker,
            round=round,
            content=content,
            visibility=visibility,
            answer=self.answer,
            quotes=verify_quotes(content, self.rec.question.context),
            truncated=cut,
            call=completion.call,
            metadata=metadata or {},
        )

    def aside(self, completion: Completion, *, round: int = 0, **metadata: Any) -> Turn:
        """A private turn recording ``completion`` as written (a choice, a score, a sub-step)."""
        return self.turn(
            completion, round=round, visibility="private", metadata=metadata, limit=False
        )

    async def speech(
        self,
        prompt: str | Sequence[MessageLike],
        *,
        round: int,
        sample_index: int = 0,
        temperature: float | None = None,
        batchable: bool = False,
    ) -> _speech.Speech:
        """A public speech in ``round`` and the private turns behind it (none added yet);
        its calls ``batchable`` when nothing waits on them at once (an opening speech).

        With ``scratchpad`` the reply's ``<thinking>`` becomes a private turn and only its
        ``<argument>`` is public. A reply that breaks the rules is drawn again up to
        ``resamples`` times (each rejected draw kept as a private turn; at temperature 0 a
        draw would repeat itself, so none); the last draw is then cut to the limit and its
        broken rules recorded in ``metadata["rule_breaks"]``.
        """
        options = self.rec.speech
        if options.scratchpad:
            prompt = _with_format(prompt, self.rec.prompt(speech_prompts.render_speech_format))
        rejected: list[Turn] = []
        greedy = (options.temperature if temperature is None else temperature) == 0
        last = 0 if greedy else options.resamples
        for attempt in range(last + 1):
            completion = await self.complete(
                prompt,
                sample_index=sample_index + attempt * _speech.RESAMPLE_OFFSET,
                temperature=temperature,
                batchable=batchable,
            )
            thinking, argument = (
                _speech.split(completion.text) if options.scratchpad else ("", completion.text)
            )
            broken = _speech.broken_rules(
                argument.strip() if argument is not None else None,
                quotes_needed=options.require_quotes and self.rec.question.context is not None,
                word_limit=options.word_limit,
                char_limit=options.char_limit,
            )
            if not broken or attempt == last:
                break
            rejected.append(self.aside(completion, round=round, kind="rejected", broken=broken))
        if argument is None:  # no tags even after redraws: what is outside the reasoning
            argument = _speech.strip_thinking(completion.text)
        extra = {"rule_breaks": broken} if broken else {}
        public = self.turn(completion, round=round, content=argument, metadata=extra)
        private = list(rejected)
        if thinking:
            private.append(
                Turn(
                    role=self.role,
                    speaker=self.speaker,
                    round=round,
                    content=thinking,
                    visibility="private",
                    answer=self.answer,
                    metadata={"kind": "scratchpad"},
                )
            )
        return _speech.Speech(public, private, completion.text)

    async def say(
        self,
        prompt: str | Sequence[MessageLike],
        *,
        round: int,
        sample_index: int = 0,
        temperature: float | None = None,
    ) -> Turn:
        """A public speech in ``round``: its private turns are added, the public one returned."""
        made = await self.speech(
            prompt, round=round, sample_index=sample_index, temperature=temperature
        )
        self.rec.add(*made.private)
        return made.public

    async def choose(self, prompt: str, *, allowed: Sequence[int]) -> Voice:
        """Pick one of ``allowed`` (original indices); a private turn; the voice arguing it."""
        letters = {self.rec.letter(i): i for i in allowed}
        schema = strict_object(
            {CHOICE_KEY: {"type": "string", "enum": sorted(letters)}, "reason": {"type": "string"}}
        )
        completion = await self.complete(prompt, schema=schema)
        parsed = completion.parsed if isinstance(completion.parsed, dict) else {}
        letter = str(parsed.get(CHOICE_KEY, "")).strip().strip(".").upper()
        if letter not in letters:
            raise ProtocolError(
                f"{self.speaker} chose {letter or completion.text[:80]!r}, "
                f"not one of {sorted(letters)}"
            )
        chosen = self.arguing(letters[letter])
        self.rec.assignment[self.speaker] = letters[letter]
        self.rec.add(chosen.aside(completion, kind="choice"))
        return chosen
