"""The live judge of Michael et al. 2023 ("Debate Helps Supervise Unreliable Experts").

The judge is part of the protocol. Before any speech it states its prior; after every round
it states a probability per answer, may ask the speakers a question, and decides whether
to hear another round or end the protocol there. Each of its turns is stored as a judge
turn carrying those probabilities and the decision; its last belief becomes its judgment
(:func:`live_judgment`). The protocol stops when the judge ends it or at ``max_rounds``.
The judge is rewarded with the log score of its final belief minus a penalty per turn it
chose to continue (:func:`transcripts.live.live_reward`), so hearing more costs something.

Speakers read the judge's questions (public judge turns, in their history); they never
read its beliefs unless ``show_beliefs`` is on. Judges that read the finished transcript
afterwards see the questions too, never the beliefs (a :class:`~transcripts.JudgeView` has
no place for them).

A protocol opts in with two hooks around its round loop::

    live = Live(rec, config, judge)
    await live.opening()
    for r in range(live.rounds(config.rounds)):
        ...  # the round's speeches
        if not await live.after_round(r, last=r == live.rounds(config.rounds) - 1):
            break

Without ``live_judge`` the same hooks ask the between-round question of
``judge_questions`` (if on) and never stop early, so the loop reads the same either way.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from protocols.base import ProtocolConfig
from transcripts import JudgeIdentity, JudgeView, Judgment, Transcript, Turn, answer_label
from transcripts._validation import Integer, Number
from transcripts.errors import ProtocolError
from transcripts.live import JUDGE_SPEAKER

if TYPE_CHECKING:
    from judges.base import Judge, LiveBelief
    from protocols._turns import Recorder

__all__ = ["Live", "LiveOptions", "beliefs_text", "live_judgment", "live_turns"]


class LiveOptions(ProtocolConfig):
    """Options of a protocol whose judge takes part (Michael et al. 2023)."""

    live_judge: bool = False
    """The condition's judge states beliefs after every round and may end the protocol."""
    max_rounds: Integer | None = Field(default=None, ge=1)
    """With ``live_judge``: most rounds before the protocol ends on its own (None: ``rounds``)."""
    turn_penalty: Number = Field(default=0.05, ge=0.0)
    """With ``live_judge``: reward lost per round the judge chose to hear (0.05 in the paper)."""
    show_beliefs: bool = False
    """With ``live_judge``: speakers also read the judge's beliefs after each round."""

    @model_validator(mode="after")
    def _live_or_questions(self) -> LiveOptions:
        fields = type(self).model_fields
        unused = [
            k
            for k in ("max_rounds", "show_beliefs", "turn_penalty")
            if getattr(self, k) != fields[k].default
        ]
        if unused and not self.live_judge:
            raise ValueError(f"{', '.join(unused)} only apply with live_judge = true")
        if self.live_judge and getattr(self, "judge_questions", False):
            raise ValueError(
                "live_judge asks its questions itself after every round; leave "
                "judge_questions off when live_judge is on"
            )
        return self


def live_turns(transcript: Transcript) -> list[Turn]:
    """The live judge's turns of ``transcript``, in order (judge turns with a decision)."""
    return [t for t in transcript.turns if t.role == "judge" and t.decision is not None]


def live_judgment(transcript: Transcript, judge: JudgeIdentity) -> Judgment | None:
    """The live judge's judgment: its last belief. None when the transcript has no live turns."""
    turns = live_turns(transcript)
    last = turns[-1] if turns else None
    if last is None or last.probabilities is None:
        return None
    times = [t.metadata.get("time_s") for t in turns]
    return Judgment(
        transcript_id=transcript.id,
        judge=judge,
        probabilities=list(last.probabilities),
        rationale=str(last.metadata.get("rationale", "")),
        live=True,
        rounds_seen=len(
            {t.round for t in transcript.turns if t.visibility == "public" and t.role != "judge"}
        ),
        time_s=math.fsum(t for t in times if isinstance(t, int | float)) if times else None,
        metadata={
            "judge_turns": len(turns),
            "continues": sum(t.decision == "continue" for t in turns),
        },
    )


def beliefs_text(probabilities: list[float], order: list[int]) -> str:
    """``A 70%, B 30%``: beliefs (original order) as speakers read them (presented letters)."""
    return ", ".join(f"{answer_label(k)} {probabilities[i]:.0%}" for k, i in enumerate(order))


class Live:
    """The judge's part in one protocol run: the hooks a protocol calls around its rounds."""

    def __init__(self, rec: Recorder, config: ProtocolConfig, judge: Judge | None) -> None:
        self.rec = rec
        self.on = bool(getattr(config, "live_judge", False))
        self.max_rounds: int | None = getattr(config, "max_rounds", None)
        self.turn_penalty = float(getattr(config, "turn_penalty", 0.0))
        if self.on and judge is None:
            raise ProtocolError(
                f"{rec.protocol}: live_judge is on, but run() was given no judge; name the "
                'judge in the condition (judge = "...")'
            )
        self.judge = judge
        self.previous: list[list[float]] = []
        if self.on and judge is not None:
            rec.roles[JUDGE_SPEAKER] = judge.identity.name
            rec.show_beliefs = bool(getattr(config, "show_beliefs", False))

    def rounds(self, rounds: int) -> int:
        """Rounds to run at most: ``max_rounds`` with a live judge (if set), else ``rounds``."""
        return (self.max_rounds or rounds) if self.on else rounds

    async def opening(self) -> None:
        """The judge's prior, before any speech (live only)."""
        if self.on:
            await self._turn(0, opening=True, last=False)

    async def after_round(self, round: int, *, last: bool, ask: bool = True) -> bool:
        """After ``round``: the live judge's turn, or (without a live judge, unless ``last``
        or not ``ask``) the between-round question of ``judge_questions``; go on?"""
        if not self.on:
            if ask and not last:
                await self.rec.between_rounds(round)
            return not last
        return await self._turn(round, opening=False, last=last)

    async def _turn(self, round: int, *, opening: bool, last: bool) -> bool:
        assert self.judge is not None
        view = JudgeView.from_transcript(self.rec.transcript())
        presented = [[p[i] for i in self.rec.order] for p in self.previous]
        belief: LiveBelief = await self.judge.live_turn(
            view,
            opening=opening,
            can_end=not opening and not last,
            previous=presented,
            turn_penalty=self.turn_penalty,
        )
        decision = "continue" if opening else ("end" if last else belief.decision)
        question = None if opening or decision == "end" else (belief.question or "").strip()
        metadata: dict[str, Any] = {
            "live": "opening" if opening else "after_round",
            "rationale": belief.rationale,
        }
        if belief.time_s is not None:
            metadata["time_s"] = belief.time_s
        if last and not opening:
            metadata["stopped_at_max_rounds"] = True  # the judge was not asked to choose
        calls = belief.calls
        for call in calls[:-1]:  # unread replies, or a panel's members' calls: paid for, so kept
            self.rec.add(
                Turn(
                    role="judge",
                    speaker=JUDGE_SPEAKER,
                    round=round,
                    content="",
                    visibility="private",
                    call=call,
                    metadata={"live": belief.earlier_calls},
                )
            )
        self.rec.add(
            Turn(
                role="judge",
                speaker=JUDGE_SPEAKER,
                round=round,
                content=question or "",
                visibility="public" if question else "private",
                probabilities=list(belief.probabilities),
                decision=decision,
                call=calls[-1] if calls else None,
                metadata=metadata,
            )
        )
        self.previous.append(list(belief.probabilities))
        return decision == "continue"
