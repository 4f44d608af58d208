"""A human judging session over a saved run: what to serve, and serving it.

Example::

    store = RunStore.open("runs/pilot")
    judge = HumanJudge(annotator="alice")
    items = plan(store, annotator="alice", everything=True)       # or study=open_study(...)
    result = serve(store, judge, items)                            # items.missing: see below

What is served:

* with a ``study`` (:mod:`judges.study`): the person's own list, in the study's order,
  minus what they already judged or skipped; each item keeps its place in the list, so the
  screen reads "Item 14 of 40" across any number of resumed sessions. An item whose
  transcript is no longer in the run (a run copied without it, a log edited by hand) cannot
  be served: the plan holds it apart, in :attr:`Plan.missing`, never as done;
* otherwise the escalation queue (:func:`judges.queue.pending_escalations`: items a
  deferred fallback judge sent to a person, shown with the rounds the automatic judge
  saw), then with ``everything`` every complete transcript this person has not judged
  under this judge name (their ``ok`` and ``skipped`` judgments count, also those inside a
  fallback judge's final judgment), cut to ``rounds`` if given; numbered after what the
  person already did (queued items they judged or skipped, transcripts they judged), so
  numbers also stay put across resumes.

Each judgment is appended the moment it is given (one flushed line, under a file lock, so
several people in several terminals can judge one run at once): to ``judgments.jsonl``, or
for attention checks to ``attention.jsonl``. Quitting (``q``), Ctrl-C (even at the reason
prompt: the verdict typed is kept) or a closed terminal loses nothing, and the next session,
planned afresh from the files, starts where the last stopped. While an item is on a
person's screen a lock on it is held (released by the OS if the process dies): a queued
item is then never shown to two people at once, nor a study item in two terminals of the
same person; a queued item someone resolved in the meantime, or an item the person judged
meanwhile in another terminal, is passed over, never shown again. A skipped item
is recorded as ``skipped`` and not offered to the same person again unless
``include_skipped`` is set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Literal, NamedTuple

from filelock import FileLock, Timeout

from judges._common import HumanQuit
from judges.human import HumanJudge
from judges.queue import (
    PEOPLE,
    human_judgments,
    pending_escalations,
    resolve,
    resolved_escalation_ids,
)
from transcripts import Escalation, JsonlLog, JudgeView, Judgment, RunStore, Transcript
from transcripts.errors import StoreError
from transcripts.study import ATTENTION_FILE, Slot, Study, attention_log

__all__ = [
    "ATTENTION_FILE",
    "Item",
    "Missing",
    "Plan",
    "Progress",
    "SessionResult",
    "attention_log",
    "judged_by",
    "plan",
    "serve",
    "study_progress",
]


@dataclass(frozen=True)
class Item:
    """One thing to judge: which transcript, and how to read it. A plan holds no transcript
    (a plan of every transcript of a 100,000-item run would hold them all): each is read
    when its item is served."""

    transcript_id: str
    """The transcript to judge."""
    source: Callable[[], Transcript | None] = field(repr=False, compare=False)
    """Reads the transcript (from the run by id, or an attention check's own)."""
    rounds: int | None = None
    """Rounds to show (None = all)."""
    escalation: Escalation | None = None
    """The queue entry this item resolves, if it comes from the queue."""
    number: int = 0
    """Its place in the person's whole list, from 1 (stable across resumes)."""
    total: int = 0
    """Length of the person's whole list."""
    attention: bool = False
    """An attention-check item (saved to ``attention.jsonl``)."""

    @property
    def transcript(self) -> Transcript:
        """The transcript, read each time it is asked for (the person only ever sees its
        judge view); :class:`~transcripts.errors.StoreError` if the run no longer has it."""
        found = self.source()
        if found is None:
            raise StoreError(
                f"transcript {self.transcript_id} is no longer in the run (was a log edited "
                f"by hand?); plan the session again"
            )
        return found


def _held(transcript: Transcript) -> Callable[[], Transcript | None]:
    """A source for a transcript already in memory."""
    return lambda: transcript


def _stored(store: RunStore, transcript_id: str) -> Callable[[], Transcript | None]:
    """A source reading the run's latest record of ``transcript_id`` (one index probe, one
    seek) when asked."""
    return partial(store.transcripts.get, transcript_id)


NOT_IN_RUN = "transcript is not in the run"
"""Why a study item cannot be served: its transcript has gone from the run."""


@dataclass(frozen=True)
class Missing:
    """An item of a person's study list that the run cannot show (not judged, not done)."""

    number: int
    """Its place in the person's whole list, from 1."""
    transcript_id: str
    """The transcript it names."""
    reason: str = NOT_IN_RUN
    """Why it cannot be shown."""


class Plan(list[Item]):
    """The items to serve, in order, and ``missing``: the items of the person's study list
    not done that cannot be served, their transcripts gone from the run (none without one)."""

    def __init__(self, items: Iterable[Item] = (), missing: Iterable[Missing] = ()) -> None:
        super().__init__(items)
        self.missing = list(missing)


class Progress(NamedTuple):
    """Where one person stands in their study list."""

    done: int
    """Items judged or skipped."""
    missing: list[Missing]
    """Items not done whose transcripts the run no longer has."""


@dataclass
class SessionResult:
    """What a session did."""

    judged: int = 0
    """Judgments given."""
    skipped: int = 0
    """Items skipped."""
    total: int = 0
    """Items planned."""
    busy: int = 0
    """Items passed over because another session had them open (or resolved or judged them)."""
    stopped: bool = False
    """True when the person quit before the end."""

    @property
    def remaining(self) -> int:
        """Items not yet dealt with."""
        return self.total - self.judged - self.skipped


def _by_people(judgments: JsonlLog[Judgment]) -> Iterator[Judgment]:
    """The judgments a person gave or took part in, as :meth:`JsonlLog.latest` resolves them
    (a run's judgments are selected in their index: the run's other judgments are not read)."""
    return judgments.latest(where=PEOPLE if "h" in judgments.lookups else None)


def _done(
    judgments: JsonlLog[Judgment], *, judge_name: str, annotator: str, include_skipped: bool
) -> set[str]:
    done: set[str] = set()
    for judgment in _by_people(judgments):
        for human in human_judgments(judgment):
            if human.judge.name != judge_name or human.judge.annotator != annotator:
                continue
            if human.status == "ok" or (human.status == "skipped" and not include_skipped):
                done.add(human.transcript_id)
    return done


def judged_by(
    store: RunStore, *, judge_name: str, annotator: str, include_skipped: bool = False
) -> set[str]:
    """Ids of transcripts this person has judged (or skipped) under ``judge_name``."""
    return _done(
        store.judgments, judge_name=judge_name, annotator=annotator, include_skipped=include_skipped
    )


def plan(
    store: RunStore,
    *,
    annotator: str,
    judge_name: str = "human",
    queue: bool = True,
    everything: bool = False,
    rounds: int | None = None,
    include_skipped: bool = False,
    study: Study | None = None,
) -> Plan:
    """The items to serve, numbered within the person's whole list; see the module docstring.
    With a ``study`` its design fixes the judge name and rounds (``judge_name``, ``queue``,
    ``everything`` and ``rounds`` are not read), and the plan's ``missing`` names the items
    that cannot be served."""
    if study is not None:
        return _study_plan(store, study, annotator, include_skipped=include_skipped)
    items: list[Item] = []
    before = 0
    counted: set[str] = set()  # transcripts already counted, as queued items the person did
    # Each transcript's status, in file order, from the index (none is read until served),
    # asked only where transcripts are to be found: a session of an empty queue asks nothing.
    statuses = _statuses(store) if everything else {}
    if queue:
        pending = pending_escalations(store, annotator=annotator, include_skipped=include_skipped)
        if pending and not everything:
            statuses = _statuses(store)
        for escalation in pending:
            transcript_id = escalation.transcript_id
            if transcript_id in statuses:
                source = _stored(store, transcript_id)
                items.append(Item(transcript_id, source, escalation.rounds, escalation))
        did = _queue_done(store, annotator)
        pending_ids = {e.id for e in pending}
        before = sum(1 for escalation in did if escalation not in pending_ids)
        counted = set(did.values())
    if everything:
        done = judged_by(
            store, judge_name=judge_name, annotator=annotator, include_skipped=include_skipped
        )
        queued = {item.transcript_id for item in items}
        complete = [i for i, status in statuses.items() if status == "complete" and i not in queued]
        before += sum(1 for i in complete if i in done and i not in counted)
        items.extend(Item(i, _stored(store, i), rounds) for i in complete if i not in done)
    total = before + len(items)
    return Plan(replace(i, number=before + n, total=total) for n, i in enumerate(items, start=1))


def _statuses(store: RunStore) -> dict[str, str | None]:
    """Every transcript's status (latest record of each id), in file order, from the index."""
    return dict(store.transcripts.index_values("id", "status", latest=True))


def _queue_done(store: RunStore, annotator: str) -> dict[str, str]:
    """The queued items this person judged or skipped, by id, with their transcripts' ids
    (so numbers stay put on resume, and such a transcript is not counted again among the
    transcripts they judged)."""
    queued = {e.id: e.transcript_id for e in store.escalations.latest()}
    return {
        h.escalated_from: queued[h.escalated_from]
        for j in _by_people(store.judgments)
        for h in human_judgments(j)
        if h.judge.annotator == annotator
        and h.escalated_from in queued
        and h.status in ("ok", "skipped")
    }


def _study_done(
    store: RunStore, study: Study, annotator: str, *, include_skipped: bool
) -> set[str]:
    """Ids of the items of ``annotator``'s study list they judged (or skipped, unless
    ``include_skipped``): transcripts and attention checks."""
    name = study.design.judge_name
    done = judged_by(store, judge_name=name, annotator=annotator, include_skipped=include_skipped)
    log = attention_log(store)
    try:
        done |= _done(log, judge_name=name, annotator=annotator, include_skipped=include_skipped)
    finally:
        log.close()
    return done


_State = Literal["done", "missing", "open"]


def _slot_states(
    study: Study, annotator: str, done: set[str], stored: Collection[str]
) -> Iterator[tuple[int, Slot, _State]]:
    """Each slot of ``annotator``'s list with its place in it (:meth:`Study.places`) and
    whether it is done, missing (its transcript is not in the run: ``stored``) or still
    open: the one rule for sessions and status."""
    attention = {t.id for t in study.attention_items}
    for n, slot in study.places(annotator):
        if slot.transcript_id in done:
            yield n, slot, "done"
        elif slot.transcript_id not in attention and slot.transcript_id not in stored:
            yield n, slot, "missing"
        else:
            yield n, slot, "open"


def study_progress(store: RunStore, study: Study) -> dict[str, Progress]:
    """Annotator -> items of their study list already judged or skipped, and those whose
    transcripts the run no longer has."""
    stored = _statuses(store)
    out = {}
    for annotator in study.assignments:
        done = _study_done(store, study, annotator, include_skipped=False)
        states = list(_slot_states(study, annotator, done, stored))
        out[annotator] = Progress(
            done=sum(1 for _, _, state in states if state == "done"),
            missing=[
                Missing(n, slot.transcript_id) for n, slot, state in states if state == "missing"
            ],
        )
    return out


def _study_plan(store: RunStore, study: Study, annotator: str, *, include_skipped: bool) -> Plan:
    """``annotator``'s study items still to judge, numbered in their whole list, and the
    items not done that cannot be served because their transcripts left the run."""
    design = study.design
    slots = study.slots_of(annotator)
    done = _study_done(store, study, annotator, include_skipped=include_skipped)
    # Each transcript is read when served (by id, through the index).
    attention = {t.id: t for t in study.attention_items}
    items = []
    missing = []
    for n, slot, state in _slot_states(study, annotator, done, _statuses(store)):
        if state == "missing":
            missing.append(Missing(n, slot.transcript_id))
        if state != "open":
            continue
        check = attention.get(slot.transcript_id)
        source = _held(check) if check is not None else _stored(store, slot.transcript_id)
        items.append(
            Item(
                slot.transcript_id,
                source,
                design.rounds,
                number=n,
                total=len(slots),
                attention=slot.attention,
            )
        )
    return Plan(items, missing)


def _item_lock(store: RunStore, item: Item, annotator: str) -> FileLock:
    """The lock held while ``item`` is on a screen (shared by everyone for a queued item)."""
    who = "" if item.escalation is not None else annotator
    what = item.escalation.id if item.escalation is not None else item.transcript_id
    name = hashlib.sha256(f"{who}|{what}".encode()).hexdigest()[:32]
    folder = store.path / ".locks"
    folder.mkdir(exist_ok=True)
    return FileLock(folder / f"{name}.lock", timeout=0, thread_local=False)


def serve(store: RunStore, judge: HumanJudge, items: list[Item]) -> SessionResult:
    """Ask the person about each item in turn, saving each answer at once.

    A Ctrl-C is re-raised (as :class:`KeyboardInterrupt`) after the verdict typed before it
    was saved.
    """
    result = SessionResult(total=len(items))
    console = judge.console
    for item in items:
        lock = _item_lock(store, item, judge.annotator)
        try:
            lock.acquire()
        except Timeout:
            result.busy += 1
            console.print(
                f"[dim]Item {item.number} is open in another session; passed over for now.[/dim]"
            )
            continue
        try:
            if _dealt_with(store, item, judge):
                result.busy += 1
                continue
            view = JudgeView.from_transcript(item.transcript, rounds=item.rounds)
            try:
                judgment = judge.judge_now(view, progress=(item.number, item.total))
            except HumanQuit:
                result.stopped = True
                break
            _save(store, judgment, item)
        finally:
            lock.release()
        if judgment.status == "skipped":
            result.skipped += 1
            console.print("[yellow]Skipped[/yellow] (saved).")
        else:
            result.judged += 1
            console.print("[green]Saved.[/green]")
        if judge.stopping is not None:
            result.stopped = True
            if judge.stopping == "interrupt":
                raise KeyboardInterrupt
            break
    return result


def _dealt_with(store: RunStore, item: Item, judge: HumanJudge) -> bool:
    """Whether, since the plan was made, another session resolved ``item`` (a queued one) or
    this person judged it (in another terminal): then it is not shown again."""
    if item.escalation is not None:
        return item.escalation.id in resolved_escalation_ids(_by_people(store.judgments))
    log = attention_log(store) if item.attention else store.judgments
    try:
        judged = _done(
            log, judge_name=judge.identity.name, annotator=judge.annotator, include_skipped=True
        )
    finally:
        if item.attention:
            log.close()
    return item.transcript_id in judged


def _save(store: RunStore, judgment: Judgment, item: Item) -> None:
    judgment = judgment.model_copy(update={"run_id": store.run_id})
    if item.attention:
        log = attention_log(store)
        log.append(judgment)
        log.close()
        return
    if item.escalation is not None:
        judgment = _for_escalation(judgment, item.escalation)
    store.judgments.append(_record(store, judgment, item.escalation))


def _for_escalation(judgment: Judgment, escalation: Escalation) -> Judgment:
    """The person's judgment of a queued item names the escalation."""
    return judgment.model_copy(
        update={"escalated_from": escalation.id, "escalation_id": escalation.id}
    )


def _record(store: RunStore, judgment: Judgment, escalation: Escalation | None) -> Judgment:
    """What goes into judgments.jsonl: the fallback's final judgment for a queued item."""
    if escalation is None or judgment.status != "ok":
        return judgment
    if escalation.id in resolved_escalation_ids(_by_people(store.judgments)):
        # Someone else resolved it meanwhile: keep this person's judgment, do not resolve twice.
        return judgment
    return resolve(escalation, judgment).model_copy(update={"run_id": store.run_id})
