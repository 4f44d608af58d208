"""Re-judging saved transcripts: new judgments by any judge, nothing regenerated.

Example::

    from oversight import rejudge
    result = rejudge("runs/pilot", "llm:openai/gpt-4o-mini", rounds=[1, 2, 3])

Only the judge is built, so no debater, consultant, critic or assistant is ever called.
Each new judgment is appended to ``judgments.jsonl`` with its provenance in ``metadata``:
``rejudge: true``, ``judge_spec`` (what was asked for), ``rejudged_at`` (UTC) and
``rounds`` (the first k rounds shown, or None for all). Judgment ids are a hash of
(transcript, judge name, rounds, spec), so re-running the same command after an interrupt
skips what is done, while a different spec adds new judgments. A failed judgment is left as
recorded (counted in ``failed_left``) until ``retry_failed`` asks again, on fresh calls, as
``oversight run --retry-failed`` does (one record per attempt, ``metadata.attempt``; the
report counts the last). Judge calls go through the
run's response cache (``RUN/cache.sqlite``) and are added to the run's spend ledger; each
repeat of an item is its own draw of the judge, as in the run (:func:`repeat_offset`).

Ctrl-C (or SIGTERM, or a closed terminal where a person judges) stops the pass as it stops a
run (:class:`~oversight.runner._signals.Signals`): no new judgment is started, those in
flight finish and are saved (a person's prompt ends as in ``oversight judge``: a verdict
typed at the reason prompt is kept, one cut off at the probabilities is not), and the
result says ``interrupted``; a second Ctrl-C stops at once. A person's ``q`` stops it alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack, cast

from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape

from judges import HumanJudge, HumanQuit, Judge, build_judge, parse_judge_config
from judges.terminal import Interrupt
from oversight._gc import fewer_collections
from oversight._rejudge_names import name_conflict, offline_prompts_changed
from oversight.concurrency import as_completed_bounded
from oversight.endpoints import Endpoint, batchable_calls
from oversight.experiment import Experiment
from oversight.experiment._judges import interactive
from oversight.runner._api import check_options
from oversight.runner._build import Factory, make_endpoint
from oversight.runner._items import judgment_id, repeat_offset
from oversight.runner._judging import JUDGE_RETRY_OFFSET, judged_keys
from oversight.runner._lock import run_lock, run_lock_holder
from oversight.runner._merge import SHARDS, merge_shards, shard_folders
from oversight.runner._meter import (
    Meter,
    MeteredEndpoint,
    SpendEntry,
    drawn_apart,
    estimated_text,
)
from oversight.runner._select import select_transcripts
from oversight.runner._signals import Signals
from oversight.runner._status import check_priced
from transcripts import Entry, JsonlLog, JudgeView, Judgment, RunStore, StoredRecords, utc_now
from transcripts._validation import format_errors
from transcripts.errors import ConfigError, CostCapReached

__all__ = ["RejudgeOptions", "RejudgeResult", "rejudge", "rejudge_async"]

Rounds = int | None | Sequence[int | None]


@dataclass
class RejudgeResult:
    """What a re-judging pass did."""

    judged: int = 0
    """New judgments written."""
    skipped: int = 0
    """(transcript, rounds) pairs already judged by this judge and spec."""
    failed: int = 0
    """New judgments with status ``failed``."""
    failed_left: int = 0
    """(transcript, rounds) pairs whose judgment by this judge and spec failed before and
    were not asked again (``retry_failed`` asks them)."""
    calls: int = 0
    """Judge calls sent."""
    cached_calls: int = 0
    """Judge calls answered by the cache."""
    spent_usd: float = 0.0
    """Dollars of the calls sent (known prices)."""
    unknown_cost_calls: int = 0
    """Calls sent whose cost is unknown and not estimated (no known price)."""
    estimated_usd: float = 0.0
    """The most the calls sent whose replies carried no token counts can have cost (what
    the cost cap counts for them)."""
    estimated_calls: int = 0
    """Calls counted in ``estimated_usd``."""
    calls_lost_in_flight: int = 0
    """Calls of this run a kill or a cancellation cut off in flight (all sessions; cost
    unknown)."""
    judgments: Sequence[Judgment] = ()
    """The new judgments, in the order they were made: read back from the run's
    ``judgments.jsonl`` each time they are looked at, so a pass over 100,000 transcripts
    does not hold 100,000 judgments in memory."""
    stopped: str | None = None
    """Why it stopped early (a cost cap), if it did."""
    interrupted: bool = False
    """Stopped by Ctrl-C (or SIGTERM, a closed terminal, a person's ``q``): the same call
    judges the rest."""


def _shown_rounds(rounds: Rounds, has: int) -> list[int | None]:
    """The rounds to show of a transcript of ``has`` rounds, once each: a k past its end
    shows it whole, as k = ``has`` does, and is filed at the rounds the judge saw."""
    values = [rounds] if rounds is None or isinstance(rounds, int) else list(rounds) or [None]
    return list(dict.fromkeys(k if k is None else min(k, has) for k in values))


def _run_experiment(store: RunStore) -> Experiment | None:
    """The experiment frozen in the run's ``experiment.json`` (None for a run without one,
    such as an import). One that no longer validates is an error, not ignored: its named
    endpoints, cache and prices would be dropped, and calls the run's cache answers paid
    again."""
    frozen = store.read_json("experiment.json")
    if not isinstance(frozen, dict) or "spec" not in frozen:
        return None
    try:
        return Experiment.model_validate(frozen["spec"])
    except ValidationError as err:
        problems = "; ".join(format_errors(err, Experiment, ("spec",)))
        raise ConfigError(
            f"{store.path / 'experiment.json'} does not hold a valid experiment ({problems}): "
            f"re-judging needs its endpoints, cache and prices. Restore the file as the run "
            f"wrote it (it is not meant to be edited), or re-judge a copy of the run without it"
        ) from None


def _spec_text(spec: str | dict[str, Any] | BaseModel | Judge) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, BaseModel):
        return spec.model_dump_json()
    if isinstance(spec, dict):
        import json

        return json.dumps(spec, sort_keys=True)
    return repr(spec.identity)


class RejudgeOptions(TypedDict, total=False):
    """The keyword options of :func:`rejudge` and :func:`rejudge_async`: the one list of
    them, each optional."""

    conditions: Sequence[str] | None
    """Only transcripts of these conditions."""
    where: Sequence[str] | None
    """Only transcripts matching every ``FIELD=VALUE`` (or ``FIELD!=VALUE``) clause."""
    ids: Sequence[str] | None
    """Only these transcripts (id prefixes, each matching exactly one)."""
    rounds: Rounds
    """Show the judge only the first k rounds (None = all); a list judges once per value (a k
    past a transcript's last round: once, at its own number of rounds)."""
    concurrency: int
    """Transcripts judged at once (default 8; a person is always asked one at a time)."""
    offline: bool
    """Answer judge calls from the run's cache only; a miss is an error (default False)."""
    retry_failed: bool
    """Ask again, on fresh calls, the judgments of this judge and spec that failed (default
    False: a failed judgment is left as recorded, as in a run)."""
    max_cost_usd: float | None
    """Stop starting judge calls once this command has spent this much (US dollars); what
    the run spent before it is not counted."""
    annotator: str | None
    """The person's name, for human judges whose spec does not name one."""
    console: Console | None
    """Where a person is asked (default: the terminal)."""
    endpoint_factory: Factory | None
    """Replaces :func:`oversight.endpoint` for the judge's endpoints."""


async def rejudge_async(
    run: str | os.PathLike[str] | RunStore,
    judge: str | dict[str, Any] | BaseModel | Judge,
    **options: Unpack[RejudgeOptions],
) -> RejudgeResult:
    """New judgments of a run's complete transcripts; see :func:`rejudge`."""
    check_options("rejudge_async", options, RejudgeOptions)
    endpoint_factory, offline = options.get("endpoint_factory"), options.get("offline", False)
    max_cost_usd, annotator = options.get("max_cost_usd"), options.get("annotator")
    console, concurrency = options.get("console"), options.get("concurrency", 8)
    conditions, where, ids = options.get("conditions"), options.get("where"), options.get("ids")
    rounds, retry_failed = options.get("rounds"), options.get("retry_failed", False)
    problems = []
    if concurrency < 1:
        problems.append(f"--concurrency (concurrency=): must be 1 or more, got {concurrency}")
    if max_cost_usd is not None and not max_cost_usd >= 0:
        problems.append(f"--max-cost (max_cost_usd=): must be 0 or more, got {max_cost_usd}")
    if problems:
        raise ConfigError("; ".join(problems))
    make = endpoint_factory or make_endpoint
    store = run if isinstance(run, RunStore) else RunStore.open(Path(run))
    experiment = _run_experiment(store)
    cache = store.path / "cache.sqlite"
    if experiment is not None and experiment.cache is not None:
        cache = experiment.cache
    # Before the spend is counted and transcripts chosen.
    _merge_left_shards(store, cache, console or Console(highlight=False))
    meter = Meter(ledger=JsonlLog(store.path / "spend.jsonl", SpendEntry))
    if max_cost_usd is not None:
        # The cap is this command's budget: what the run spent before (its own run, earlier
        # re-judgings) is not counted against it.
        meter.max_cost_usd = meter.counted_usd + max_cost_usd
    made: list[Endpoint] = []

    def factory(ref: str) -> Endpoint:
        named = experiment.endpoints.get(ref) if experiment is not None else None
        spec, options = (named.spec, named.endpoint_options()) if named else (ref, {})
        inner = make(spec, cache=cache, offline=offline, **options)
        made.append(inner)
        return MeteredEndpoint(inner, meter)

    spec_text = _spec_text(judge)
    # A person's prompt ends on Ctrl-C through the judge's interrupt (theirs, if built).
    interrupt = judge.interrupt if isinstance(judge, HumanJudge) else Interrupt()
    built = (
        judge
        if isinstance(judge, Judge)
        else build_judge(
            judge,
            endpoint_factory=factory,
            store=store,
            annotator=annotator,
            console=console,
            interrupt=interrupt,
        )
    )
    name = built.identity.name
    conflict = name_conflict(store, name, spec_text, experiment)
    if conflict is None and offline:
        conflict = await offline_prompts_changed(store, spec_text, experiment)
    if conflict is not None:  # refused before any call
        for inner in made:
            await inner.aclose()
        meter.close()
        store.close()
        raise ConfigError(conflict)
    extra = hashlib.sha256(spec_text.encode()).hexdigest()[:16]
    done, failed_before = judged_keys(store.judgments)
    result = RejudgeResult()
    # Ids, not transcripts: each is read again when its judgment starts, so memory holds
    # the transcripts being judged, not every one chosen.
    work: list[tuple[str, int | None, str]] = []
    # Every chosen transcript is read (validated) here, before the first call: a damaged
    # record is refused before anything is paid for, not half way through the pass. Those
    # with another status are read too: a status edited to a value no transcript has is
    # refused with its line, as the report refuses it, not passed over as unfinished.
    for transcript in select_transcripts(store, conditions=conditions, where=where, ids=ids):
        if transcript.status != "complete":
            continue
        for k in _shown_rounds(rounds, transcript.rounds):
            key = judgment_id(transcript.id, name, k, extra)
            if key in done:
                result.skipped += 1
            elif key in failed_before and not retry_failed:
                result.failed_left += 1  # as in a run: asked again only when told
            else:
                work.append((transcript.id, k, key))

    person = (
        isinstance(judge, HumanJudge)
        if isinstance(judge, Judge)
        else interactive(parse_judge_config(judge))
    )
    stopper = _Stopper(console or Console(highlight=False), meter, interrupt)

    async def one(job: tuple[str, int | None, str]) -> tuple[Judgment, Entry]:
        task = asyncio.current_task()
        if task is not None:
            stopper.tasks.add(task)
        try:
            return await _one(job)
        finally:
            stopper.tasks.discard(task)  # type: ignore[arg-type]

    async def _one(job: tuple[str, int | None, str]) -> tuple[Judgment, Entry]:
        if stopper.stopped:  # no judgment is started after Ctrl-C
            raise CostCapReached(meter.cap_message())
        transcript_id, k, key = job
        transcript = store.transcripts.get(transcript_id)
        assert transcript is not None  # chosen from this log a moment ago; it only grows
        view = JudgeView.from_transcript(transcript, rounds=k)
        # A verdict on a finished transcript: nothing waits on it. Each repeat is its own
        # draw, as in the run (the judge alone sees the same view in every repeat); a retry
        # of a failed judgment is on fresh calls, as in the run, never the cached failure.
        earlier = failed_before.get(key, 0)
        offset = repeat_offset(transcript.repeat) + earlier * JUDGE_RETRY_OFFSET
        with batchable_calls(), drawn_apart(offset):
            judgment = await built.judge(view)
        metadata = {
            **judgment.metadata,
            **({"attempt": earlier + 1} if earlier else {}),
            "rejudge": True,
            "judge_spec": spec_text,
            "rejudged_at": utc_now().isoformat(),
            "rounds": k,
        }
        update: dict[str, Any] = {"run_id": store.run_id, "metadata": metadata, "work_key": key}
        if judgment.escalation_id is None:
            update["id"] = key
        judgment = judgment.model_copy(update=update)
        return judgment, store.judgments.append(judgment)

    limit = 1 if built.identity.kind == "human" else concurrency
    made_here: list[Entry] = []
    signals = Signals(stopper, hangup=person)
    try:
        signals.install()
        if not offline:  # a missing key stops here, before any judgment is attempted
            for inner in made:
                inner.check_credentials()
            if max_cost_usd is not None:  # so does a cost cap that could not be held
                check_priced({inner.spec: inner for inner in made})
        meter.recover(made)  # spend lines a kill cut off, from the cache
        stream = as_completed_bounded(one, work, limit=limit)
        with fewer_collections():
            async with contextlib.aclosing(cast(AsyncGenerator[Any, None], stream)) as results:
                async for _, outcome in results:
                    if stopper.stopped and isinstance(outcome, CostCapReached | HumanQuit):
                        continue  # Ctrl-C: not judged, so asked again by the same command
                    if isinstance(outcome, CostCapReached):
                        result.stopped = _stop_text(outcome, meter, max_cost_usd)
                        break
                    if isinstance(outcome, HumanQuit):  # q, or the end of input: as a run
                        stopper.stop()  # does, an interrupt; the item stays to be asked
                        break
                    if isinstance(outcome, BaseException):
                        raise outcome
                    judgment, entry = outcome
                    result.judged += 1
                    result.failed += int(judgment.status != "ok")
                    made_here.append(entry)
    finally:
        signals.remove()
        for inner in made:
            await inner.aclose()
        meter.close()
        store.close()
    result.interrupted = stopper.stopped
    result.judgments = StoredRecords(store.judgments, made_here)
    result.calls, result.cached_calls = meter.calls, meter.cached_calls
    result.spent_usd = meter.spent_usd - meter.carried_usd
    result.unknown_cost_calls = meter.unknown_cost_calls
    session = meter.session()
    result.estimated_usd, result.estimated_calls = session.estimated_usd, session.estimated_calls
    result.calls_lost_in_flight = meter.lost_in_flight
    return result


def rejudge(
    run: str | os.PathLike[str] | RunStore,
    judge: str | dict[str, Any] | BaseModel | Judge,
    **options: Unpack[RejudgeOptions],
) -> RejudgeResult:
    """Judge a run's saved transcripts again with ``judge``; nothing else is called.

    ``judge`` is a spec (``"llm:openai/gpt-4o-mini"``, ``"human:alice"``,
    ``"fallback:llm=mock/weak,threshold=0.7"``, ``"panel:llm=a,llm=b"``; an endpoint may be
    a name from the run's ``[endpoints]``), a ``[[judges]]`` table, a config or a built
    judge. The options (which transcripts, how many rounds shown, cost cap, ...) are
    :class:`RejudgeOptions`.
    """
    check_options("rejudge", options, RejudgeOptions)
    try:
        return asyncio.run(rejudge_async(run, judge, **options))
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None  # a second Ctrl-C: stopped at once


class _Stopper:
    """A re-judging pass as :class:`~oversight.runner._signals.Signals` stops it: the first
    signal starts no new call and ends a person's prompt; the second cancels what runs."""

    def __init__(self, console: Console, meter: Meter, interrupt: Interrupt) -> None:
        self.console = console
        self.meter = meter
        self.interrupt = interrupt
        self.tasks: set[asyncio.Task[Any]] = set()
        """Judgments in flight."""
        self.main = asyncio.current_task()
        self.stopped = False

    def stop(self, *, at_once: bool = False) -> None:
        self.stopped = True
        self.meter.stop_reason = "interrupted"
        self.interrupt.set()
        if at_once:
            for task in self.tasks:
                task.cancel()
            if self.main is not None:
                self.main.cancel()


def _merge_left_shards(store: RunStore, cache: Path | bool, console: Console) -> None:
    """Merge the shards a killed ``--ray`` driver left into the run, as every ``oversight
    run`` does (:mod:`oversight.runner._merge`): their transcripts are judged, their replies
    answer from the run's cache, their spend is the run's. A session that holds the run
    (a live driver, whose tasks write them; another rejudge merging them) is left to merge
    them, and this rejudge says it judges without them."""
    shards = shard_folders(store.path)
    if not shards:
        return
    folder = store.path / SHARDS
    try:
        lock = run_lock(
            store.path,
            doing=f"`oversight rejudge` is merging the shards a stopped `oversight run --ray` "
            f"left in {folder} into {store.path}",
        )
    except ConfigError:
        console.print(
            escape(
                f"{len(shards)} shard(s) in {folder} are not merged into the run, and their "
                f"transcripts are not judged now: {run_lock_holder(store.path)}; run this "
                f"again once it ends to judge them"
            )
        )
        return
    try:
        merge_shards(store, [], cache=cache, say=lambda text: console.print(escape(text)))
    finally:
        lock.release()


def _stop_text(stop: CostCapReached, meter: Meter, budget: float | None) -> str:
    """Why the pass stopped: a cost cap in this command's terms (the meter counts the run)."""
    if meter.stop_reason != "cost cap" or budget is None:
        return str(stop)
    session = meter.session()
    spent = f"${session.spent_usd:.4f}"
    if session.estimated_calls:
        spent = f"{spent} + {estimated_text(session.estimated_usd, session.estimated_calls)}"
    return (
        f"cost cap reached: this rejudge spent {spent} of its ${budget:.4f}; run the same "
        f"command with a higher --max-cost to judge the rest"
    )
