"""A person as the live judge of a protocol run (Michael et al. 2023), in the terminal.

Example::

    judge = LiveHumanJudge(annotator="alice", journal=run / "live-judge.jsonl")
    transcript = await debate.run(question, agents, config=debate.Config(live_judge=True),
                                  judge=judge)

Before any speech the person gives a prior; after every round they see the transcript so far
(blinded as in :class:`~judges.human.HumanJudge`: no model names, gold or hidden text; the
answers in the protocol's counterbalanced order, not shuffled again, so the letters in their
questions are the speakers' letters; with their earlier beliefs),
enter their beliefs (the same entries as a verdict: ``70 30``, ``A 80``, ...), then, told
what ending now scores (log2 of their probability on the correct answer, per answer), what
each further round costs (the protocol's ``turn_penalty``) and how far their belief must
move for another round to pay (:func:`transcripts.live.break_even`), choose to continue (``c``)
or end (``e``); when continuing they may ask the speakers a question
(Enter for none). When the protocol ends (they ended it, or the last round was heard) they
may give a reason. ``q`` quits; Ctrl-C (the run's, see :class:`~judges.terminal.Interrupt`)
ends the turn showing unanswered (nothing of it is journaled) and the run stops.

Every turn is appended to the run's journal (``live-judge.jsonl``) the moment it is
entered, keyed by the judge, the person, the transcript and exactly what they were shown.
The runner hands the protocol the judge :func:`for_item`, so the transcript id in the views
is the work item's stable id; a run that is killed and resumed regenerates the speeches
from the response cache and finds each answered turn in the journal, so the person is never
asked the same turn twice and nothing typed is lost.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field
from rich.markup import escape

from judges._common import HumanInterrupted
from judges.base import Judge, JudgeOptions, LiveBelief
from judges.human import HumanJudge, _in_thread
from judges.prompts import break_even_note, score_now
from judges.terminal import QUESTION_PROMPT, read_line, read_probabilities, show_view
from transcripts import (
    SCHEMA_VERSION,
    Decision,
    JsonlLog,
    JudgeIdentity,
    JudgeView,
    Judgment,
    Record,
    answer_label,
    utc_now,
)

__all__ = [
    "JOURNAL",
    "LiveEntry",
    "LiveHumanJudge",
    "StandIn",
    "cost_note",
    "for_item",
    "view_key",
]

JOURNAL = "live-judge.jsonl"
"""File name of the live judges' journal in a run folder."""

DECISION_PROMPT = "Continue (c) to hear another round, or end (e) here: "
REASON_PROMPT = "Reason for your final belief (optional, Enter to leave empty): "


class LiveEntry(Record):
    """One live turn a person answered, as journaled."""

    key: str
    """Content address of the turn: judge, person and the view shown (see :func:`view_key`)."""
    annotator: str
    """The person."""
    probabilities: list[float]
    """Their beliefs, in the question's original order."""
    decision: Decision
    """``continue`` or ``end``."""
    question: str | None = None
    """Their question for the speakers, if any."""
    rationale: str = ""
    """Their reason (asked when the protocol ends)."""
    entry: str = ""
    """What they typed for the beliefs."""
    time_s: float
    """Seconds from showing the screen to the last entry."""
    created_at: datetime = Field(default_factory=utc_now)
    """When the turn was answered (UTC)."""
    schema_version: int = SCHEMA_VERSION
    """Layout version of this record."""


def view_key(view: JudgeView, *, judge: str, annotator: str, opening: bool, can_end: bool) -> str:
    """Content address of a live turn: who judges which transcript, seeing exactly what."""
    # A field added to the view after journals were written (``sides_chosen``) is left out
    # at its default, so a turn a person answered before it existed keeps its key and is
    # not asked again.
    shown = view.model_dump(mode="json", exclude=None if view.sides_chosen else {"sides_chosen"})
    payload = json.dumps([judge, annotator, opening, can_end, shown], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class LiveHumanJudge(HumanJudge):
    """A :class:`~judges.human.HumanJudge` that can also play the live judge, journaled."""

    def __init__(
        self,
        options: JudgeOptions | None = None,
        /,
        *,
        journal: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(options, **kwargs)
        self.journal = JsonlLog(journal, LiveEntry, fsync=True) if journal is not None else None

    async def live_turn(
        self,
        view: JudgeView,
        *,
        opening: bool,
        can_end: bool,
        previous: list[list[float]],
        turn_penalty: float,
    ) -> LiveBelief:
        key = view_key(
            view,
            judge=self.identity.name,
            annotator=self.annotator,
            opening=opening,
            can_end=can_end,
        )
        saved = self._journaled(key)
        if saved is None:
            async with self._lock:
                try:
                    saved = await _in_thread(
                        lambda: self.live_now(
                            view,
                            key=key,
                            opening=opening,
                            can_end=can_end,
                            previous=previous,
                            turn_penalty=turn_penalty,
                        )
                    )
                except HumanInterrupted:
                    self._say(
                        "\n[yellow]Stopped:[/yellow] nothing is saved for this turn; it is "
                        "asked again when you run the same command."
                    )
                    raise
            if self.journal is not None:
                self.journal.append(saved)
        return LiveBelief(
            probabilities=saved.probabilities,
            decision=saved.decision,
            question=saved.question,
            rationale=saved.rationale,
            time_s=saved.time_s,
        )

    def _journaled(self, key: str) -> LiveEntry | None:
        if self.journal is None:
            return None
        found = [e for e in self.journal if e.key == key]
        return found[-1] if found else None

    def live_now(
        self,
        view: JudgeView,
        *,
        key: str,
        opening: bool,
        can_end: bool,
        previous: list[list[float]],
        turn_penalty: float,
    ) -> LiveEntry:
        """Show the transcript so far and read the person's live turn."""
        # The protocol's own (counterbalanced) order, never a second shuffle: the person's
        # questions go to the speakers, whose letters must be the letters the person reads.
        show_view(
            self.console,
            view,
            title="Live judge: before any argument, your prior"
            if opening
            else f"Live judge: after round {view.rounds_shown}",
        )
        n = len(view.answers)
        for k, belief in enumerate(previous):
            text = ", ".join(f"{answer_label(j)} {p:.0%}" for j, p in enumerate(belief))
            self.console.print(f"Your belief at turn {k + 1}: {escape(text)}", highlight=False)
        started = time.monotonic()
        while True:
            entry, probabilities = read_probabilities(
                self.console, n, stream=self.stream, who=self.annotator, interrupt=self.interrupt
            )
            if probabilities is not None:
                break
            self.console.print(
                "[bold red]A live judge cannot skip:[/bold red] give your beliefs, or q to quit."
            )
        decision: Decision = "continue"
        question = None
        if can_end:
            self.console.print(cost_note(probabilities, turn_penalty), highlight=False)
            decision = self._read_decision()
            if decision == "continue":
                question = self._line(QUESTION_PROMPT) or None
        reason = ""
        if not opening and (decision == "end" or not can_end):
            reason = self._line(REASON_PROMPT)
        original = view.to_original(probabilities)
        return LiveEntry(
            key=key,
            annotator=self.annotator,
            probabilities=original,
            decision=decision,
            question=question,
            rationale=reason,
            entry=entry,
            time_s=time.monotonic() - started,
        )

    def _line(self, prompt: str) -> str:
        return read_line(self.console, prompt, stream=self.stream, interrupt=self.interrupt).strip()

    def _read_decision(self) -> Decision:
        while True:
            answer = self._line(DECISION_PROMPT).lower()
            if answer in ("c", "continue"):
                return "continue"
            if answer in ("e", "end"):
                return "end"
            self.console.print(
                "[bold red]Not accepted:[/bold red] type c to continue or e to end. Try again."
            )


def cost_note(probabilities: list[float], turn_penalty: float) -> str:
    """Said before the choice (as the paper's app showed it): what ending with the belief
    just typed (presented order) scores, per answer that may be correct, and what each
    further round costs."""
    scores = ", ".join(
        f"if {answer_label(k)} is correct {score_now(p)}" for k, p in enumerate(probabilities)
    )
    return (
        f"Ending now scores log2 of your probability on the correct answer: {scores}. "
        f"Each further round you hear costs {turn_penalty:g} of that reward."
        + _spaced(break_even_note(probabilities, turn_penalty))
    )


def for_item(judge: Judge, transcript_id: str) -> Judge:
    """``judge``, seeing every view of one work item under the item's stable id.

    A protocol draws a fresh transcript id on every attempt; the runner knows the id the
    transcript will be saved under, and a resumed run knows it too. Views carry it, so a
    journaled live turn is found again after a kill.
    """
    return _ForItem(judge, transcript_id)


class _ForItem(Judge):
    """A judge whose views carry a fixed transcript id (see :func:`for_item`)."""

    def __init__(self, judge: Judge, transcript_id: str) -> None:
        self.inner = judge
        self.transcript_id = transcript_id

    @property
    def identity(self) -> JudgeIdentity:
        return self.inner.identity

    def _view(self, view: JudgeView) -> JudgeView:
        return view.model_copy(update={"transcript_id": self.transcript_id})

    async def judge(self, view: JudgeView) -> Judgment:
        return await self.inner.judge(self._view(view))

    async def ask(self, view: JudgeView) -> str | None:
        return await self.inner.ask(self._view(view))

    async def live_turn(
        self,
        view: JudgeView,
        *,
        opening: bool,
        can_end: bool,
        previous: list[list[float]],
        turn_penalty: float,
    ) -> LiveBelief:
        return await self.inner.live_turn(
            self._view(view),
            opening=opening,
            can_end=can_end,
            previous=previous,
            turn_penalty=turn_penalty,
        )


class StandIn(Judge):
    """Stands in for a person left out of a rehearsal (the dry run): as a live judge it hears
    every round up to ``max_rounds`` (the most a person could ask for) with even beliefs, and
    asks nothing; it never judges for the record."""

    def __init__(self, name: str) -> None:
        self._identity = JudgeIdentity(kind="human", name=name, annotator="stand-in")

    @property
    def identity(self) -> JudgeIdentity:
        return self._identity

    async def judge(self, view: JudgeView) -> Judgment:
        n = len(view.answers)
        return Judgment(
            transcript_id=view.transcript_id,
            judge=self.identity,
            probabilities=[1 / n] * n,
            rounds_seen=view.rounds_shown,
        )

    async def live_turn(
        self,
        view: JudgeView,
        *,
        opening: bool,
        can_end: bool,
        previous: list[list[float]],
        turn_penalty: float,
    ) -> LiveBelief:
        n = len(view.answers)
        return LiveBelief(probabilities=[1 / n] * n, decision="continue")


def _spaced(sentence: str) -> str:
    return f" {sentence}" if sentence else ""
