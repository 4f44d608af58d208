"""``oversight run EXP --workers N``: N processes on one machine, one run folder.

The parent process does what every session does first (freeze the experiment, take the
run's lock, recover the spend lines a kill cut off), then runs share 0 of the items itself
and starts N - 1 worker processes (:mod:`oversight.runner._worker`, forked from the fork
server of :mod:`oversight._forkserver`) for the others, each a disjoint share with its
share of the limits (:mod:`oversight.runner._share`). Running a share in the parent saves a
whole process (its start, its SDK clients, its reading of the store) and lets the first
calls go out before any worker has started. What the shares have in common is safe across
processes:

* ``transcripts.jsonl``, ``judgments.jsonl``, ``escalations.jsonl``, ``spend.jsonl`` and
  ``sent.jsonl`` are appended under an OS lock (``flock``) with their indexes;
  ``questions.jsonl`` likewise;
* the response cache is one SQLite file in WAL mode (a writer that finds it busy writes
  from a thread that waits; readers never wait);
* the cost and token caps read the spend ledger as the other workers write it;
* ``status.json`` is written by the parent alone, from what the shares report;
* the run's lock (``RUN/.run.lock``) is held by the parent for the whole run: a second
  ``oversight run`` on the folder is refused, the parent's own workers are not.

Ctrl-C or SIGTERM stops every share as it stops one session (calls in flight finish; a
second: at once); a worker killed outright loses only its calls in flight, and the parent
finishes the others and says to resume; a parent killed outright takes its fork server with
it, and the workers stop as on Ctrl-C. The parent's progress and summary count every share.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import time
from dataclasses import dataclass, field, fields
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from rich.console import Console

from judges import pending_escalations
from oversight._forkserver import worker_context
from oversight.runner._build import Factory
from oversight.runner._items import WorkItem
from oversight.runner._meter import Meter, SpendEntry, Tally, Unknown
from oversight.runner._progress import Display, RunProgress
from oversight.runner._run import Session
from oversight.runner._signals import INTERRUPTING, Handlers
from oversight.runner._status import RunResult, Status, ending, warn_unpriced, write_status
from oversight.runner._worker import Job, Share, WorkerEnd, open_share, run_share, worker_main
from transcripts import JsonlLog, RunStore
from transcripts.errors import ConfigError

__all__ = ["run_workers"]

_STOPS: tuple[Status, ...] = (
    "interrupted",
    "stopped: cost cap",
    "stopped: token cap",
    "stopped: too many failures",
)
"""Statuses of a worker that stopped early, most telling first: one is the run's status."""


@dataclass
class _Worker:
    """The parent's view of one share: a worker process, or the parent's own share 0."""

    process: BaseProcess | None
    """The worker process (None: share 0, run by the parent itself)."""
    conn: Connection | None = None
    """The pipe the worker reports on, until it ends."""
    task: asyncio.Task[WorkerEnd] | None = None
    """Share 0's task in the parent."""
    share: Share | None = None
    """Share 0 (the parent stops it with its meter and session)."""
    session: Session | None = None
    """Share 0's session, once it started."""
    done: int = 0
    failed: int = 0
    tally: Tally = field(default_factory=Tally)
    unpriced: set[tuple[str, Unknown]] = field(default_factory=set)
    end: WorkerEnd | None = None
    error: BaseException | None = None

    @property
    def running(self) -> bool:
        if self.process is None:
            return self.task is not None and not self.task.done()
        return self.conn is not None

    def exit(self) -> str:
        """How it ended, for the run's message."""
        if self.process is None:
            return "this process"
        return f"exit code {self.process.exitcode}"


async def run_workers(
    session: Session,
    *,
    workers: int,
    display: Display,
    offline: bool,
    factory: Factory | None,
    retry_failed: bool,
) -> RunResult:
    """Run ``session``'s items in ``workers`` shares, share 0 in this process and one worker
    process for each other, into its store; return the whole run's result (``session``
    itself runs nothing: it counts what the store holds)."""
    experiment, store, items = session.experiment, session.store, session.items
    endpoints, meter, console = session.endpoints, session.meter, session.console
    started = time.monotonic()
    jobs = [
        Job(
            experiment=experiment,
            folder=store.path,
            worker=number,
            workers=workers,
            cache=endpoints.cache,
            offline=offline,
            factory=factory,
            retry_failed=retry_failed,
            parent=os.getpid(),
            environ=dict(os.environ),
        )
        for number in range(1, workers)
    ]
    _check_picklable(jobs[0])
    loop = asyncio.get_running_loop()
    ended = asyncio.Event()  # a share ended or failed: look at once
    ours = _Worker(process=None)
    ours.share = open_share(
        experiment,
        store.path,
        (0, workers),
        cache=endpoints.cache,
        offline=offline,
        factory=factory,
        planned=items,
    )
    crew = [ours]
    stops = _Stops(crew, console)
    ours.task = asyncio.create_task(_run_ours(ours, retry_failed, ended))
    base = Tally.of(meter)
    progress = RunProgress(console, meter, total=len(items), done=0, display=display)
    warned: set[tuple[str, Unknown]] = set()
    last_status = 0.0
    try:
        stops.install()
        for job in jobs:
            crew.append(await _start(job, loop, ended))
        with progress:
            while any(w.running for w in crew):
                ended.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), _TICK_S)
                if any(w.error is not None for w in crew) and not stops.asked:
                    stops.pass_on(quiet=True)  # one could not run: stop the others
                unpriced = set().union(*(w.unpriced for w in crew))
                warn_unpriced(console, unpriced - warned, experiment.limits)
                warned |= unpriced
                _show(meter, base, crew)
                done = sum(w.done for w in crew)
                if done != progress.done:
                    progress.done = done
                    progress.failed = sum(w.failed for w in crew)
                    progress.tick()
                if time.monotonic() - last_status >= 2.0:
                    last_status = time.monotonic()
                    running = _result(store, meter, crew, items, "running", "", started)
                    needs = session.judging.needs(items)
                    write_status(store, running, judgments_per_item=needs)
    finally:
        stops.remove()
        await _wind_up(crew, loop)
    for worker in crew:
        if worker.error is not None:
            raise worker.error
    status, message = _ending(crew, stops.asked)
    result = _result(store, meter, crew, items, status, message, started)
    result.items_complete, result.items_failed, result.transcripts = session.store_counts()
    if store.escalations.path.exists():
        result.escalations_pending = len(pending_escalations(store))
    _exact_spend(result, store, meter)
    write_status(store, result)
    return result


_TICK_S = 0.2
"""How often the parent counts the shares' progress (and redraws it)."""


def _check_picklable(job: Job) -> None:
    """Refuse, before anything runs, a job that cannot be handed to a worker process."""
    try:
        pickle.dumps(job)
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        raise ConfigError(
            f"--workers could not hand the run to a worker process ({err}); an "
            f"endpoint_factory must be a module-level function (picklable)"
        ) from None


async def _run_ours(ours: _Worker, retry_failed: bool, ended: asyncio.Event) -> WorkerEnd:
    """Share 0, in this process: counted as the workers' reports are."""
    assert ours.share is not None
    meter = ours.share.meter

    def observe(done: int, failed: int) -> None:
        ours.done, ours.failed, ours.tally = done, failed, meter.session()
        ours.unpriced = set(meter.unpriced)

    def begun(session: Session) -> None:
        ours.session = session  # a stop before this is on the meter the session reads

    try:
        ours.end = await run_share(
            ours.share, retry_failed=retry_failed, observer=observe, started=begun, signals=False
        )
        ours.tally = ours.end.tally
        return ours.end
    except Exception as err:
        ours.error = err
        raise
    finally:
        ended.set()


async def _start(job: Job, loop: asyncio.AbstractEventLoop, ended: asyncio.Event) -> _Worker:
    """Start the worker process of ``job``; its reports are read as they come."""
    context = worker_context()
    ours, theirs = context.Pipe(duplex=False)
    process = context.Process(
        target=worker_main, args=(job, theirs), name=f"oversight-worker-{job.worker}"
    )
    # In a thread: the first start waits for the fork server's imports, and share 0 runs.
    await asyncio.to_thread(process.start)
    theirs.close()
    worker = _Worker(process, ours)
    loop.add_reader(ours.fileno(), _receive, worker, loop, ended)
    return worker


async def _wind_up(crew: list[_Worker], loop: asyncio.AbstractEventLoop) -> None:
    """Wait for every share to end (after an error in this process: stop share 0 first)."""
    for worker in crew:
        if worker.process is None:
            if worker.task is not None and not worker.task.done():
                if worker.session is not None:
                    worker.session.stop(at_once=True)
                worker.task.cancel()
            if worker.task is not None:
                with contextlib.suppress(BaseException):
                    await worker.task
            continue
        if worker.conn is not None:
            loop.remove_reader(worker.conn.fileno())
            worker.conn.close()
            worker.conn = None
        await asyncio.to_thread(worker.process.join)


def _receive(worker: _Worker, loop: asyncio.AbstractEventLoop, ended: asyncio.Event) -> None:
    """Read one report of ``worker`` (its pipe is readable)."""
    assert worker.conn is not None
    try:
        message = worker.conn.recv()
    except (EOFError, OSError):
        loop.remove_reader(worker.conn.fileno())
        worker.conn.close()
        worker.conn = None  # it ended, or was killed
        ended.set()
        return
    kind = message[0]
    if kind == "items":
        _, worker.done, worker.failed, worker.tally, unpriced = message
        worker.unpriced = {(endpoint, why) for endpoint, why in unpriced}
    elif kind == "end":
        worker.end = message[1]
        worker.tally = worker.end.tally
    elif kind == "error":
        worker.error = message[1]
        ended.set()


def _show(meter: Meter, base: Tally, crew: list[_Worker]) -> None:
    """Set the parent's meter to the run's counts so far (for the progress line)."""
    total = base
    for worker in crew:
        total += worker.tally
    for name in (f.name for f in fields(Tally)):
        setattr(meter, name, getattr(total, name))


def _ending(crew: list[_Worker], asked: bool) -> tuple[Status, str]:
    """The run's status and message from its workers' ends."""
    lost = [w for w in crew if w.end is None]
    if lost:
        codes = ", ".join(f"worker {crew.index(w)} ({w.exit()})" for w in lost)
        how = "stopped at once" if asked else "ended before finishing"
        return "interrupted", (
            f"{codes} {how}; everything saved is kept: run the same command again to resume"
        )
    ends = [w.end for w in crew if w.end is not None]
    for status in _STOPS:
        for end in ends:
            if end.result.status == status:
                return status, end.result.message
    return ending(sum(e.failed for e in ends), sum(e.unsettled for e in ends))


def _result(
    store: RunStore,
    meter: Meter,
    crew: list[_Worker],
    items: list[WorkItem],
    status: Status,
    message: str,
    started: float,
) -> RunResult:
    ends = [w.end.result for w in crew if w.end is not None]
    errors = [e for end in ends for e in end.errors][:5]
    return RunResult(
        path=store.path,
        status=status,
        message=message,
        items_total=len(items),
        items_complete=sum(w.done - w.failed for w in crew),
        items_failed=sum(w.failed for w in crew),
        judgments_failed=sum(end.judgments_failed for end in ends),
        transcripts=max((end.transcripts for end in ends), default=0),
        judgments=sum(end.judgments for end in ends),
        spent_usd=meter.spent_usd,
        unknown_cost_calls=meter.unknown_cost_calls,
        estimated_usd=meter.estimated_usd,
        estimated_calls=meter.estimated_calls,
        input_tokens=meter.input_tokens,
        output_tokens=meter.output_tokens,
        calls=meter.calls,
        paid_calls=meter.paid_lines,
        calls_lost_in_flight=meter.lost_in_flight,
        cached_calls=meter.cached_calls,
        elapsed_s=time.monotonic() - started,
        errors=errors,
    )


def _exact_spend(result: RunResult, store: RunStore, meter: Meter) -> None:
    """The run's spend as its ledger holds it once every worker has stopped (calls a killed
    worker left in flight are counted as lost)."""
    ledger = Meter(ledger=JsonlLog(store.path / "spend.jsonl", SpendEntry))
    result.spent_usd = ledger.spent_usd
    result.unknown_cost_calls = ledger.unknown_cost_calls
    result.estimated_usd, result.estimated_calls = ledger.estimated_usd, ledger.estimated_calls
    result.input_tokens = ledger.input_tokens
    result.output_tokens = ledger.output_tokens
    result.paid_calls = ledger.paid_lines
    result.calls_lost_in_flight = ledger.lost_in_flight
    ledger.close()


class _Stops:
    """Ctrl-C or SIGTERM to the parent: the first stops share 0 after its calls in flight
    and is passed on to every worker as SIGTERM (which does the same); the second stops
    them at once."""

    def __init__(self, crew: list[_Worker], console: Console) -> None:
        self.crew = crew
        self.console = console
        self.asked = False
        self.times = 0
        self.handlers = Handlers()

    def install(self) -> None:
        self.handlers.set(self.pass_on)  # off the main thread the workers stop on their own

    def pass_on(self, *, quiet: bool = False) -> None:
        """Stop share 0, and send every worker still running SIGTERM (the first time, say
        so)."""
        if not self.asked and not quiet:
            self.console.print(INTERRUPTING, highlight=False)
        self.asked = True
        self.times += 1
        for worker in self.crew:
            if worker.process is None:
                if worker.session is not None:
                    worker.session.stop(at_once=self.times > 1)
                elif worker.share is not None:  # not begun: it starts no call
                    worker.share.meter.stop_reason = "interrupted"
            elif worker.process.is_alive() and worker.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.process.pid, signal.SIGTERM)

    def remove(self) -> None:
        self.handlers.remove()
