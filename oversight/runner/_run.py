"""The runner: every work item of an experiment, bounded, saved as it finishes, resumable.

One session of a run:

1. loads the questions and plans the items (question x condition x setup x repeat);
2. reads the run folder: complete transcripts and ok judgments are not done again;
3. runs the remaining items through :func:`oversight.concurrency.as_completed_bounded`;
   each item saves its own transcript, then each judge's judgment, the moment they exist;
4. stops starting items at a cap, on too many failures or on an interrupt (calls in flight
   finish), and writes ``RUN/status.json``.

A failed judgment is a judgment failure, not an item failure: its transcript is complete and
saved, the judgment is recorded with ``status="failed"`` and its reason, and it counts
against ``max_judgment_failure_fraction``, not ``max_failure_fraction``. A resume leaves it
be (re-asking would only replay the failure from the response cache); with
``retry_failed`` it is asked again with fresh calls: its judge's sample indices move on by
:data:`~oversight.runner._judging.JUDGE_RETRY_OFFSET` per earlier failure, so no cached
reply answers it (the judging side of a session is :mod:`oversight.runner._judging`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, cast

from rich.console import Console

from judges import HumanQuit, pending_escalations
from judges.live import StandIn, for_item
from oversight._gc import fewer_collections
from oversight.concurrency import as_completed_bounded
from oversight.endpoints import Endpoint
from oversight.experiment import Experiment
from oversight.runner._attempts import attempt_record, failed_transcript, stamped
from oversight.runner._build import Endpoints
from oversight.runner._items import WorkItem, repeat_offset
from oversight.runner._judging import Judging
from oversight.runner._meter import Meter, MeteredEndpoint, Unknown
from oversight.runner._plants import planted_agents, resolve_plants
from oversight.runner._progress import Display, RunProgress
from oversight.runner._signals import Signals
from oversight.runner._status import (
    RunResult,
    Status,
    ending,
    saved_judgments,
    warn_unpriced,
    write_status,
)
from transcripts import RunStore, Transcript
from transcripts.errors import CostCapReached

__all__ = ["Session"]

_MIN_FOR_FRACTION = 10


@dataclass
class _Outcome:
    """How one item ended: failed (no complete transcript) or not, and its failed judgments."""

    failed: bool
    error: str | None = None
    judgment_failures: list[str] = dataclasses.field(default_factory=list)


class Session:
    """One session of a run (a first run, or a resume)."""

    def __init__(
        self,
        experiment: Experiment,
        store: RunStore,
        items: list[WorkItem],
        *,
        endpoints: Endpoints,
        meter: Meter,
        console: Console,
        display: Display,
        rehearsal: bool = False,
        retry_failed: bool = False,
        status_file: bool = True,
        observer: Callable[[int, int], None] | None = None,
        signals: bool = True,
    ) -> None:
        self.experiment = experiment
        self.store = store
        self.items = items
        self.endpoints = endpoints
        self.meter = meter
        self.console = console
        self.display = display
        self.rehearsal = rehearsal
        """A dry run on mocks: its progress counts mock calls, not calls sent."""
        self.retry_failed = retry_failed
        self.status_file = status_file
        """Write ``RUN/status.json`` (a worker of several leaves it to its parent)."""
        self.observer = observer
        """Told ``(items done, items failed in this session)`` once the store is read and as
        each item finishes: a worker's parent counts them."""
        self.signals = signals
        """Stop on Ctrl-C and SIGTERM (off where a caller handles them and calls
        :meth:`stop`, as the parent of ``--workers N`` does for its own share)."""
        self.limits = experiment.limits
        self.plants = resolve_plants(experiment)
        self.judging = Judging(experiment, store, endpoints=endpoints, meter=meter, console=console)
        self.failed = 0
        self.finished = 0
        self.errors: list[str] = []
        self._complete: dict[str, Transcript] = {}
        """Complete transcripts of items still missing a judgment (loaded by the scan)."""
        self._complete_ids: set[str] = set()
        """Items with a complete transcript in the store (kept as they are written)."""
        self._to_do: list[WorkItem] | None = None
        """The items the scan found work to do for (None before the scan)."""
        self._last_status = 0.0
        self._warned: set[tuple[str, Unknown]] = set()
        self.tasks: set[asyncio.Task[_Outcome]] = set()
        """Items in flight (a second Ctrl-C cancels them)."""
        self._running: asyncio.Task[Any] | None = None
        """The task running :meth:`run` (a stop at once cancels it)."""

    # -- what is already done ----------------------------------------------------------------

    def scan(self) -> list[WorkItem]:
        """Read the store's indexes; return the items that still have work to do.

        Only index entries are read (ids, status, work keys), and only the complete
        transcripts of items still missing a judgment are loaded: a resume does not grow
        with the size of the records."""
        self.judging.read_index(retry_failed=self.retry_failed)
        self._complete_ids = {
            record_id
            for record_id, status in self.store.transcripts.index_values(
                "id", "status", latest=True
            )
            if status == "complete"
        }
        pending = []
        unjudged: set[str] = set()
        for item in self.items:
            if item.id not in self._complete_ids:
                pending.append(item)
            elif self.judging.missing(item):
                pending.append(item)
                unjudged.add(item.id)
        self._to_do = pending
        if unjudged:
            entries = self.store.transcripts.latest_entries(extra=False)
            for transcript in self.store.transcripts.read(e for e in entries if e.id in unjudged):
                self._complete[transcript.id] = transcript
        return pending

    # -- one item (its records: oversight.runner._attempts) ---------------------------------

    def _agents(self, item: WorkItem) -> dict[str, Endpoint]:
        offset = repeat_offset(item.repeat)
        agents: dict[str, Endpoint] = {
            role: MeteredEndpoint(self.endpoints.get(ref), self.meter, sample_offset=offset)
            for role, ref in item.condition.roles.items()
        }
        return planted_agents(
            agents, item.condition, item.question, self.plants, seed=self.experiment.seed
        )

    async def _item(self, item: WorkItem) -> _Outcome:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            return await self._work(item)
        finally:
            if task is not None:
                self.tasks.discard(task)

    async def _work(self, item: WorkItem) -> _Outcome:
        saved = self._complete.pop(item.id, None)
        transcript = saved if saved is not None else await self._produce(item)
        if transcript.status != "complete":
            return _Outcome(failed=True, error=transcript.error)
        failures = await self.judging.judge(item, transcript)
        return _Outcome(failed=False, judgment_failures=failures)

    async def _produce(self, item: WorkItem) -> Transcript:
        """Run the protocol (retrying a failed item), save and return the transcript."""
        condition = item.condition
        interject = self.judging.judges.get(condition.judge) if condition.judge else None
        if interject is None and condition.judge and getattr(item.config, "live_judge", False):
            interject = StandIn(condition.judge)  # a person left out of a dry run
        if interject is not None:  # its views carry the item's id, stable across a resume
            interject = for_item(interject, item.id)
        attempts = self.limits.item_retries + 1
        error = ""
        earlier: list[dict[str, object]] = []  # every failed attempt, kept on the record
        for attempt in range(attempts):
            try:
                produced = await item.protocol.run(
                    item.question,
                    self._agents(item),
                    config=item.config,
                    setup=item.setup,
                    judge=interject,
                )
            except (CostCapReached, asyncio.CancelledError):
                raise
            except HumanQuit:  # a live judge quit: start nothing new; the journal keeps the turns
                self.meter.stop_reason = "interrupted"
                raise
            except Exception as err:  # isolate the item: any failure is recorded, not raised
                error = f"{type(err).__name__}: {err}"
                earlier.append(attempt_record(attempt, error))
                continue
            if produced.status == "complete":
                transcript = stamped(
                    item,
                    produced,
                    run_id=self.store.run_id,
                    experiment=self.experiment.name,
                    endpoints=self.endpoints,
                    attempts=attempt + 1,
                    earlier=earlier,
                )
                self.store.transcripts.append(transcript)
                self._complete_ids.add(transcript.id)
                return transcript
            error = produced.error or "the protocol returned an unfinished transcript"
            earlier.append(attempt_record(attempt, error, produced))
        if self.meter.stop_reason is not None:
            raise CostCapReached(self.meter.cap_message())
        failed = failed_transcript(
            item,
            run_id=self.store.run_id,
            error=error,
            endpoints=self.endpoints,
            attempts=attempts,
            earlier=earlier,
        )
        self.store.transcripts.append(failed)
        return failed

    # -- the session ------------------------------------------------------------------------

    async def run(self) -> RunResult:
        """Run every pending item; return where the run stands."""
        started = time.monotonic()
        pending = self.scan()
        total = len(self.items)
        already = total - len(pending)
        status: Status | None = None
        message = ""
        self._write_status("running", "", already, started, force=True)
        if self.observer is not None:
            self.observer(already, 0)
        self._running = asyncio.current_task()
        signals = Signals(self, hangup=self.judging.people)
        progress = RunProgress(
            self.console,
            self.meter,
            total=total,
            done=already,
            display=self.display,
            rehearsal=self.rehearsal,
        )
        try:
            if self.signals:
                signals.install()
            with progress, fewer_collections():
                stream = cast(
                    AsyncGenerator[tuple[WorkItem, _Outcome | BaseException], None],
                    as_completed_bounded(self._item, pending, limit=self.limits.concurrency),
                )
                async with contextlib.aclosing(stream) as results:
                    async for item, outcome in results:
                        if isinstance(outcome, CostCapReached | HumanQuit):
                            break  # a cap, or the person stopped: the item stays to do
                        if isinstance(outcome, BaseException):
                            outcome = _Outcome(
                                failed=True, error=f"{type(outcome).__name__}: {outcome}"
                            )
                        self._count(item, outcome)
                        self._warn_unpriced()
                        progress.advance(failed=outcome.failed)
                        if self.observer is not None:
                            self.observer(already + self.finished, self.failed)
                        self._write_status("running", "", already, started)
                        if self.meter.stop_reason is not None:
                            break
                        if self._too_many_failures(len(pending)):
                            status = "stopped: too many failures"
                            message = (
                                f"{self.failed} of {self.finished} items failed, more than "
                                f"max_failure_fraction={self.limits.max_failure_fraction}; "
                                f"first error: {self.errors[0] if self.errors else '?'}"
                            )
                            break
                        if self._too_many_judgment_failures(len(pending)):
                            status = "stopped: too many failures"
                            limit = self.limits.max_judgment_failure_fraction
                            message = (
                                f"{self.judging.failed} of {self.judging.made} "
                                f"judgments failed, more than max_judgment_failure_"
                                f"fraction={limit}; their transcripts are saved; first "
                                f"error: {self.errors[0] if self.errors else '?'}"
                            )
                            break
        except asyncio.CancelledError:
            self.meter.stop_reason = "interrupted"
            result = self._result(
                "interrupted", "interrupted at once; run again to resume", already, started
            )
            self._save_status(result)
            raise
        finally:
            signals.remove()
        if status is None and self.meter.stop_reason == "interrupted":
            status, message = "interrupted", "interrupted; run the same command again to resume"
        if status is None and self.meter.stop_reason in ("cost cap", "token cap"):
            status = (
                "stopped: cost cap"
                if self.meter.stop_reason == "cost cap"
                else "stopped: token cap"
            )
            message = self.meter.cap_message()
        if status is None:
            status, message = ending(self.failed, self.judging.unsettled)
        result = self._result(status, message, already, started)
        result.items_complete, result.items_failed, result.transcripts = self.store_counts()
        if self.store.escalations.path.exists():  # no queue file: nothing to read
            result.escalations_pending = len(pending_escalations(self.store))
        self._save_status(result)
        return result

    def stop(self, *, at_once: bool = False) -> None:
        """Start no new item; calls in flight finish and are saved. ``at_once``: cancel the
        items in flight too (they are redone on a resume, their answered calls from the
        cache)."""
        self.meter.stop_reason = "interrupted"
        self.judging.interrupt.set()  # a person's prompt too (read in a thread Ctrl-C misses)
        if at_once:
            for task in self.tasks:
                task.cancel()
            if self._running is not None:
                self._running.cancel()

    @property
    def unsettled(self) -> int:
        """Judgments of this session's items whose last try failed."""
        return self.judging.unsettled

    def store_counts(self) -> tuple[int, int, int]:
        """``(complete items, failed items, complete transcripts)`` as the store holds them,
        so the status agrees with the files even when items in flight at a stop (too many
        failures, a cap) wrote their records after the last one was counted. An item is
        complete when its transcript is complete and each of its judgments is saved (ok,
        handed to a person, or failed: those are ``judgments_failed``), failed when its
        transcript is an error."""
        if self._to_do == []:  # nothing ran this session: the scan's counts stand
            return len(self.items), 0, len(self._complete_ids)
        to_do = self.items if self._to_do is None else self._to_do
        # From the indexes: no record is read. The items the scan found done stay done;
        # only those it left to do are looked at again.
        saved = {key for _, key in saved_judgments(self.store)}
        latest = dict(self.store.transcripts.index_values("id", "status", latest=True))
        complete, failed = len(self.items) - len(to_do), 0
        for item in to_do:
            found = latest.get(item.id)
            if found is None:
                continue
            if found != "complete":
                failed += 1
            elif all(key in saved for _, key in self.judging.keys(item)):
                complete += 1
        return complete, failed, sum(status == "complete" for status in latest.values())

    def _warn_unpriced(self) -> None:
        warn_unpriced(self.console, self.meter.unpriced - self._warned, self.limits)
        self._warned |= self.meter.unpriced

    def _count(self, item: WorkItem, outcome: _Outcome) -> None:
        self.finished += 1
        where = f"{item.condition.label} / {item.question.id} / {item.setup.label}"
        if outcome.failed:
            self.failed += 1
            if len(self.errors) < 5:
                self.errors.append(f"{where}: {outcome.error}")
        for failure in outcome.judgment_failures:
            if len(self.errors) < 5:
                self.errors.append(f"{where}: {failure}")

    def _too_many_judgment_failures(self, pending: int) -> bool:
        needed = min(_MIN_FOR_FRACTION, pending)
        return (
            self.finished >= needed
            and self.judging.failed > self.limits.max_judgment_failure_fraction * self.judging.made
        )

    def _too_many_failures(self, pending: int) -> bool:
        needed = min(_MIN_FOR_FRACTION, pending)
        return (
            self.finished >= needed
            and self.failed > self.limits.max_failure_fraction * self.finished
        )

    def _result(self, status: Status, message: str, already: int, started: float) -> RunResult:
        m = self.meter
        return RunResult(
            path=self.store.path,
            status=status,
            message=message,
            items_total=len(self.items),
            items_complete=already + self.finished - self.failed,
            items_failed=self.failed,
            judgments_failed=self.judging.failed,
            transcripts=len(self._complete_ids),
            judgments=self.judging.made,
            spent_usd=m.spent_usd,
            unknown_cost_calls=m.unknown_cost_calls,
            estimated_usd=m.estimated_usd,
            estimated_calls=m.estimated_calls,
            input_tokens=m.input_tokens,
            output_tokens=m.output_tokens,
            calls=m.calls,
            paid_calls=m.paid_lines,
            calls_lost_in_flight=m.lost_in_flight,
            cached_calls=m.cached_calls,
            elapsed_s=time.monotonic() - started,
            errors=list(self.errors),
        )

    def _write_status(
        self, status: Status, message: str, already: int, started: float, *, force: bool = False
    ) -> None:
        now = time.monotonic()
        if self.status_file and (force or now - self._last_status >= 2.0):
            self._last_status = now
            result = self._result(status, message, already, started)
            write_status(self.store, result, judgments_per_item=self.judging.needs(self.items))

    def _save_status(self, result: RunResult) -> None:
        if self.status_file:
            write_status(self.store, result)
