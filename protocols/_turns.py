"""The transcript being written: who plays whom, what each speaker reads, every call recorded.

A protocol creates one :class:`Recorder` per run. The recorder checks the setup, casts
endpoints to speaker labels (each a :class:`Voice`, recorded in ``Transcript.roles``),
renders prompts with what a speaker is entitled to read, asks the judge between rounds and
finally builds the :class:`~transcripts.Transcript`. A voice calls its model and turns each
completion into a :class:`~transcripts.Turn`: cut to the length limits, quotes verified
against the hidden context, the call recorded on the turn.

Example (one consultancy round)::

    rec = Recorder("consultancy", question, config, setup, speakers=["Consultant"])
    consultant = rec.cast(agents, "Consultant", "consultant", role="consultant")
    consultant = consultant.arguing(rec.assignment["Consultant"], system=...)
    rec.add(await consultant.say(rec.prompt(render_consultant_turn, ...), round=0))
    transcript = rec.transcript()
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from oversight.concurrency import bounded_map
from oversight.endpoints import strict_object
from oversight.endpoints._base import as_messages
from protocols import _speech
from protocols._common import SpeakerConfig, close_quote, cut_to_limit, render
from protocols.base import ProtocolConfig, Setup
from protocols.live import beliefs_text
from protocols.personas import PersonaEndpoint
from protocols.prompts import speech as speech_prompts
from transcripts import (
    JudgeView,
    Planted,
    Question,
    Role,
    Transcript,
    Turn,
    Visibility,
    answer_label,
    new_id,
)
from transcripts.errors import ProtocolError
from transcripts.quotes import as_said, mark_quotes, round_header, verify_quotes

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Completion, Endpoint, MessageLike

__all__ = ["CHOICE_KEY", "DRAW_OFFSET", "SCORE_SCHEMA", "Recorder", "Voice", "score_of"]

DRAW_OFFSET = 100_000
"""Added to ``sample_index`` per :attr:`Setup.draw`, so repeated setups are sampled apart."""

T = TypeVar("T")
R = TypeVar("R")

CHOICE_KEY = "answer"
"""Field of the structured reply in which a speaker chooses an answer (by letter)."""

SCORE_SCHEMA = strict_object({"score": {"type": "number"}, "reason": {"type": "string"}})
"""Structured reply of a scorer: a score in [0, 1] and why."""


def _marked(turn: Turn) -> str:
    """The turn's content with each quote followed by its verification mark."""
    return mark_quotes(
        turn.content,
        [q.verified for q in turn.quotes],
        lambda text, ok: f"<quote>{text}</quote>" + (" (verified)" if ok else " (unverified)"),
    )


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


class Recorder:
    """A transcript being written, and everything a protocol does to write it."""

    def __init__(
        self,
        protocol: str,
        question: Question,
        config: ProtocolConfig,
        setup: Setup,
        *,
        speakers: Sequence[str] | None = None,
        judge: Judge | None = None,
        judge_questions: bool = False,
        judge_sees_context: bool = False,
    ) -> None:
        n = len(question.answers)
        if sorted(setup.order) != list(range(n)):
            raise ProtocolError(f"setup order {setup.order} is not a permutation of 0..{n - 1}")
        given, expected = sorted(setup.assignment), sorted(speakers or [])
        if given != expected:
            raise ProtocolError(
                f"{protocol}: the setup assigns answers to {given or 'nobody'}, but this "
                f"configuration assigns them to {expected or 'nobody'}; build setups with "
                "this protocol's setups(question, config)"
            )
        values = list(setup.assignment.values())
        if any(not 0 <= i < n for i in values) or len(set(values)) != len(values):
            raise ProtocolError(
                f"setup assignment {setup.assignment} needs distinct answers in 0..{n - 1}"
            )
        if judge_questions and judge is None:
            raise ProtocolError(f"{protocol}: judge_questions is on, but run() was given no judge")
        self.protocol, self.question, self.config = protocol, question, config
        self.speech = config if isinstance(config, SpeakerConfig) else SpeakerConfig()
        self.order = list(setup.order)
        self.assignment = dict(setup.assignment)
        self.judge = judge if judge_questions else None
        self.judge_sees_context = judge_sees_context
        self.show_beliefs = False
        """Speakers read a live judge's beliefs (see :mod:`protocols.live`)."""
        self.turns: list[Turn] = []
        self.roles: dict[str, str] = {}
        self.metadata: dict[str, Any] = {"setup": setup.label}
        self.seats = dict(setup.cast)
        self.draw = setup.draw
        self.players: dict[str, str] = {}
        self.id = new_id()
        self.planted: Planted | None = None

    def cast(
        self,
        agents: Mapping[str, Endpoint],
        speaker: str,
        *keys: str,
        role: Role,
        system: str | None = None,
    ) -> Voice:
        """``speaker``'s voice, played by the endpoint under the first of ``keys`` in ``agents``.

        Where the setup rotates seats (``Setup.cast``), the speaker's seat replaces the
        first key.
        """
        if speaker in self.seats:
            keys = (self.seats[speaker], *keys[1:])
        for key in keys:
            if key in agents:
                self.roles[speaker] = agents[key].spec
                return Voice(self, agents[key], role, speaker, system)
        alt = f" (or {' / '.join(map(repr, keys[:-1]))} for {speaker} alone)" * (len(keys) > 1)
        raise ProtocolError(
            f"{self.protocol} needs an endpoint for role {keys[-1]!r}{alt}; agents given: "
            f"{sorted(agents) or 'none'}"
        )

    def planted_system(self, voice: Voice) -> str | None:
        """``voice``'s system prompt, with the brief of a persona planted in its role when the
        persona takes this speaker over (then recorded in ``planted``)."""
        marked = voice.endpoint
        if not isinstance(marked, PersonaEndpoint):
            return voice.system
        persona, correct = marked.persona, self.question.correct
        if not persona.takes_over(answer=voice.answer, correct=correct):
            return voice.system
        wrong = [i for i in self.order if i != correct] if correct is not None else []
        assigned = self.side(voice.answer) if voice.answer is not None else "your answer"
        target = self.side(wrong[0]) if wrong else assigned
        brief = persona.render(assigned=assigned, target=target)
        was = self.planted or Planted(persona=persona.name, role=marked.role, sha256=persona.sha256)
        speakers = was.speakers if voice.speaker in was.speakers else [*was.speakers, voice.speaker]
        self.planted = was.model_copy(update={"speakers": speakers, "calls": was.calls + 1})
        return f"{voice.system}\n\n{brief}" if voice.system else brief

    # -- what speakers read --------------------------------------------------------------

    def letter(self, index: int) -> str:
        """Presented letter of original answer ``index``."""
        return answer_label(self.order.index(index))

    def side(self, index: int) -> str:
        """Original answer ``index`` as speakers read it, e.g. ``B. The butler``."""
        return f"{self.letter(index)}. {self.question.answers[index]}"

    def history(self, *, before_round: int | None = None) -> str:
        """Public turns so far (optionally only earlier rounds), quotes marked; with
        ``show_beliefs``, a live judge's beliefs too."""
        last = float("inf") if before_round is None else before_round
        parts = []
        for turn in self.turns:
            belief = self.show_beliefs and turn.decision is not None and turn.probabilities
            if (turn.visibility != "public" and not belief) or turn.round >= last:
                continue
            side = f" (arguing for {self.letter(turn.answer)})" if turn.answer is not None else ""
            cut = "\n[cut at the length limit]" if turn.truncated else ""
            text = _marked(turn)
            if belief and turn.probabilities:
                shown = f"(the judge's beliefs now: {beliefs_text(turn.probabilities, self.order)})"
                text = f"{text}\n{shown}" if text else shown
            parts.append(f"{round_header(turn.round, turn.speaker, side)}\n{text}{cut}")
        return "\n\n".join(parts) or "(nothing has been said yet)"

    def prompt(self, fn: Callable[..., str], **fields: Any) -> str:
        """Render ``fn`` with the question, answers, context and limit plus ``fields``."""
        common = {
            "question": self.question.text,
            "answers": "\n".join(self.side(i) for i in self.order),
            "context": self.question.context or "(there is no source text)",
            "limit": self.speech.limit_text,
            "quoting": render(self.speech, speech_prompts.render_quoting_rules)
            if self.question.context is not None
            else "",
        }
        return render(self.speech, fn, **{**common, **fields})

    # -- fan-out and best-of-N -----------------------------------------------------------

    async def each(self, fn: Callable[[T], Awaitable[R]], items: Iterable[T]) -> list[R]:
        """``[await fn(x) for x in items]``, bounded by ``concurrency``; the first error raised.

        One failed call fails the protocol with that call's own error (not an exception
        group), so the runner records a readable reason.
        """
        try:
            return await bounded_map(fn, items, limit=self.speech.concurrency)
        except ExceptionGroup as group:
            raise group.exceptions[0] from group

    def trial(self, turn: Turn, others: Mapping[str, int]) -> JudgeView:
        """The judge's view if ``turn`` were said now and each of ``others`` (speaker ->
        answer) not yet heard this round answered it with a dummy speech: what a scorer of
        ``turn`` reads (in turn, a later speaker's candidate follows the earlier speeches)."""
        earlier = [t for t in self.turns if t.visibility == "public" and t.round <= turn.round]
        spoke = {t.speaker for t in earlier if t.round == turn.round}
        dummy = render(self.speech, speech_prompts.render_dummy_argument)
        stand_ins = [
            Turn(role=turn.role, speaker=s, round=turn.round, content=dummy, answer=a)
            for s, a in others.items()
            if s not in spoke
        ]
        trial = self.transcript().model_copy(update={"turns": [*earlier, turn, *stand_ins]})
        return JudgeView.from_transcript(trial)

    # -- the judge between rounds --------------------------------------------------------

    async def between_rounds(self, round: int) -> None:
        """Ask the judge (when asked to) for a question, recorded as a public judge turn."""
        if self.judge is None:
            return
        asked = await self.judge.ask(JudgeView.from_transcript(self.transcript()))
        if asked and asked.strip():
            call = getattr(asked, "call", None)  # a JudgeQuestion from a model-backed judge
            self.add(
                Turn(role="judge", speaker="Judge", round=round, content=asked.strip(), call=call)
            )

    # -- the record ----------------------------------------------------------------------

    def add(self, *turns: Turn) -> None:
        """Append ``turns`` to the transcript."""
        self.turns.extend(turns)

    def transcript(self) -> Transcript:
        """The transcript as written so far."""
        return Transcript(
            id=self.id,
            protocol=self.protocol,
            protocol_config=self.config.model_dump(mode="json"),
            question=self.question,
            assignment=dict(self.assignment),
            answer_order=list(self.order),
            judge_sees_context=self.judge_sees_context,
            turns=list(self.turns),
            roles=dict(self.roles),
            players=dict(self.players),
            metadata=dict(self.metadata),
            planted=self.planted,
        )
