"""A human judging session over a saved run: what to serve, and serving it.

Example::

    store = RunStore.open("runs/pilot")
    judge = HumanJudge(annotator="alice")
    items = plan(store, annotator="alice", everything=True)
    result = serve(store, judge, items)

Items come in two groups, in this order:

1. the escalation queue (:func:`judges.queue.pending_escalations`): items a deferred
   fallback judge sent to a person, shown with the rounds the automatic judge saw;
2. with ``everything``: every complete transcript not yet judged under this judge name by
   this person (their ``ok`` and ``skipped`` judgments count, also those inside a fallback
   judge's final judgment), cut to ``rounds`` if given.

Each judgment is appended to the run's ``judgments.jsonl`` the moment it is given (one
flushed line), so quitting (``q``), Ctrl-C or a closed terminal loses nothing, and the next
session, planned afresh from the files, starts where the last stopped. A skipped item is
recorded as a ``skipped`` judgment and not offered to the same person again unless
``include_skipped`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from judges._common import HumanQuit
from judges.human import HumanJudge
from judges.queue import human_judgments, pending_escalations, resolve, resolved_escalation_ids
from transcripts import Escalation, JudgeView, Judgment, RunStore, Transcript

__all__ = ["Item", "SessionResult", "judged_by", "plan", "serve"]


@dataclass(frozen=True)
class Item:
    """One thing to judge."""

    transcript: Transcript
    """The transcript (the person only ever sees its judge view)."""
    rounds: int | None = None
    """Rounds to show (None = all)."""
    escalation: Escalation | None = None
    """The queue entry this item resolves, if it comes from the queue."""


@dataclass
class SessionResult:
    """What a session did."""

    judged: int = 0
    """Judgments given."""
    skipped: int = 0
    """Items skipped."""
    total: int = 0
    """Items planned."""
    stopped: bool = False
    """True when the person quit before the end."""

    @property
    def remaining(self) -> int:
        """Items not yet dealt with."""
        return self.total - self.judged - self.skipped


def judged_by(
    store: RunStore, *, judge_name: str, annotator: str, include_skipped: bool = False
) -> set[str]:
    """Ids of transcripts this person has judged (or skipped) under ``judge_name``."""
    done: set[str] = set()
    for judgment in store.judgments.latest():
        for human in human_judgments(judgment):
            if human.judge.name != judge_name or human.judge.annotator != annotator:
                continue
            if human.status == "ok" or (human.status == "skipped" and not include_skipped):
                done.add(human.transcript_id)
    return done


def plan(
    store: RunStore,
    *,
    annotator: str,
    judge_name: str = "human",
    queue: bool = True,
    everything: bool = False,
    rounds: int | None = None,
    include_skipped: bool = False,
) -> list[Item]:
    """The items to serve, queue first; see the module docstring."""
    transcripts = {t.id: t for t in store.transcripts.latest()}
    items: list[Item] = []
    if queue:
        for escalation in pending_escalations(
                store, annotator=annotator, include_skipped=include_skipped):
            transcript = transcripts.get(escalation.transcript_id)
            if transcript is not None:
                items.append(Item(transcript, escalation.rounds, escalation))
    if everything:
        done = judged_by(store, judge_name=judge_name, annotator=annotator,
                         include_skipped=include_skipped)
        done |= {item.transcript.id for item in items}
        items.extend(Item(t, rounds) for t in transcripts.values()
                     if t.status == "complete" and t.id not in done)
    return items


def serve(store: RunStore, judge: HumanJudge, items: list[Item]) -> SessionResult:
    """Ask the person about each item in turn, saving each answer at once."""
    result = SessionResult(total=len(items))
    console = judge.console
    for number, item in enumerate(items, start=1):
        view = JudgeView.from_transcript(item.transcript, rounds=item.rounds)
        try:
            judgment = judge.judge_now(view, progress=(number, len(items)))
        except HumanQuit:
            result.stopped = True
            break
        judgment = judgment.model_copy(update={"run_id": store.run_id})
        if item.escalation is not None:
            judgment = _for_escalation(judgment, item.escalation)
        store.judgments.append(_record(store, judgment, item.escalation))
        if judgment.status == "skipped":
            result.skipped += 1
            console.print("[yellow]Skipped[/yellow] (saved).")
        else:
            result.judged += 1
            console.print("[green]Saved.[/green]")
    return result


def _for_escalation(judgment: Judgment, escalation: Escalation) -> Judgment:
    """The person's judgment of a queued item names the escalation."""
    metadata = {**judgment.metadata, "escalation_id": escalation.id}
    return judgment.model_copy(update={"escalated_from": escalation.id, "metadata": metadata})


def _record(store: RunStore, judgment: Judgment, escalation: Escalation | None) -> Judgment:
    """What goes into judgments.jsonl: the fallback's final judgment for a queued item."""
    if escalation is None or judgment.status != "ok":
        return judgment
    if escalation.id in resolved_escalation_ids(store.judgments):
        # Someone else resolved it meanwhile: keep this person's judgment, do not resolve twice.
        return judgment
    return resolve(escalation, judgment).model_copy(update={"run_id": store.run_id})
