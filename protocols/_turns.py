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

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from oversight.concurrency import bounded_map
from protocols._common import SpeakerConfig, render
from protocols._voice import CHOICE_KEY, DRAW_OFFSET, SCORE_SCHEMA, Voice, score_of
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
    answer_label,
    new_id,
)
from transcripts.errors import ProtocolError
from transcripts.quotes import mark_quotes, round_header

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Endpoint

__all__ = ["CHOICE_KEY", "DRAW_OFFSET", "SCORE_SCHEMA", "Recorder", "Voice", "score_of"]

T = TypeVar("T")
R = TypeVar("R")


def _marked(turn: Turn) -> str:
    """The turn's content with each quote followed by its verification mark."""
    return mark_quotes(
        turn.content,
        [q.verified for q in turn.quotes],
        lambda text, ok: f"<quote>{text}</quote>" + (" (verified)" if ok else " (unverified)"),
    )


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
