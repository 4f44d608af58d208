"""``oversight run EXP --workers N``: N processes on one machine, one run folder.

The parent process does what every session does first (freeze the experiment, take the
run's lock, recover the spend lines a kill cut off), then starts N worker processes
(:mod:`oversight.runner._worker`), each running a disjoint share of the items with its share
of the limits (:mod:`oversight.runner._share`). What they share is safe across processes:

* ``transcripts.jsonl``, ``judgments.jsonl``, ``escalations.jsonl``, ``spend.jsonl`` and
  ``sent.jsonl`` are appended under an OS lock (``flock``) with their indexes;
  ``questions.jsonl`` likewise;
* the response cache is one SQLite file in WAL mode (a writer that finds it busy writes
  from a thread that waits; readers never wait);
* the cost and token caps read the spend ledger as the other workers write it;
* ``status.json`` is written by the parent alone, from what the workers report;
* the run's lock (``RUN/.run.lock``) is held by the parent for the whole run: a second
  ``oversight run`` on the folder is refused, the parent's own workers are not.

Ctrl-C or SIGTERM stops every worker as it stops one session (calls in flight finish; a
second: at once); a worker killed outright loses only its calls in flight, and the parent
finishes the others and says to resume. The parent's progress and summary count all
workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
import signal
import time
from dataclasses import dataclass, field, fields
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from rich.console import Console

from judges import pending_escalations
from oversight.runner._build import Factory
from oversight.runner._items import WorkItem
from oversight.runner._meter import Meter, SpendEntry, Tally
from oversight.runner._progress import RunProgress
from oversight.runner._run import Session, ending, warn_unpriced
from oversight.runner._status import RunResult, Status, write_status
from oversight.runner._worker import Job, WorkerEnd, worker_main
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
    """The parent's view of one worker."""

    process: BaseProcess
    conn: Connection | None
    done: int = 0
    failed: int = 0
    tally: Tally = field(default_factory=Tally)
    end: WorkerEnd | None = None
    error: BaseException | None = None


async def run_workers(
    session: Session,
    *,
    workers: int,
    live: bool,
    offline: bool,
    factory: Factory | None,
    retry_failed: bool,
) -> RunResult:
    """Run ``session``'s items in ``workers`` processes into its store; return the whole
    run's result (``session`` itself runs nothing: it counts what the store holds)."""
    experiment, store, items = session.experiment, session.store, session.items
    endpoints, meter, console = session.endpoints, session.meter, session.console
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    crew: list[_Worker] = []
    for number in range(workers):
        job = Job(
            experiment=experiment,
            folder=store.path,
            worker=number,
            workers=workers,
            cache=endpoints.cache,
            offline=offline,
            factory=factory,
            retry_failed=retry_failed,
            parent=os.getpid(),
        )
        ours, theirs = context.Pipe(duplex=False)
        process = context.Process(
            target=worker_main, args=(job, theirs), name=f"oversight-worker-{number}"
        )
        try:
            process.start()
        except (pickle.PicklingError, AttributeError, TypeError) as err:
            for other in crew:
                other.process.terminate()
            raise ConfigError(
                f"--workers could not hand the run to a worker process ({err}); an "
                f"endpoint_factory must be a module-level function (picklable)"
            ) from None
        theirs.close()
        crew.append(_Worker(process, ours))
    base = Tally.of(meter)
    progress = RunProgress(console, meter, total=len(items), done=0, live=live)
    stops = _Stops(crew, console)
    warned: set[str] = set()
    last_status = 0.0
    try:
        stops.install()
        with progress:
            while any(w.conn is not None for w in crew):
                for worker in await _ready(crew):
                    unpriced = _receive(worker)
                    if worker.error is not None and not stops.asked:
                        stops.pass_on(quiet=True)  # one could not run: stop the others
                    warn_unpriced(console, set(unpriced) - warned, experiment.limits)
                    warned |= set(unpriced)
                _show(meter, base, crew)
                done = sum(w.done for w in crew)
                if done != progress.done:
                    progress.done = done
                    progress.failed = sum(w.failed for w in crew)
                    progress.tick()
                if time.monotonic() - last_status >= 2.0:
                    last_status = time.monotonic()
                    write_status(store, _result(store, meter, crew, items, "running", "", started))
    finally:
        stops.remove()
        for worker in crew:
            await asyncio.to_thread(worker.process.join)
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


async def _ready(crew: list[_Worker]) -> list[_Worker]:
    """The workers with a message (or an end) to read, waiting at most a second."""
    open_ = {w.conn: w for w in crew if w.conn is not None}
    ready = await asyncio.to_thread(wait, list(open_), 1.0)
    return [open_[c] for c in ready if isinstance(c, Connection) and c in open_]


def _receive(worker: _Worker) -> list[str]:
    """Read one message of ``worker``; return the endpoints it found unpriced."""
    assert worker.conn is not None
    try:
        message = worker.conn.recv()
    except (EOFError, OSError):
        worker.conn.close()
        worker.conn = None  # it ended, or was killed
        return []
    kind = message[0]
    if kind == "items":
        _, worker.done, worker.failed, worker.tally, unpriced = message
        return list(unpriced)
    if kind == "end":
        worker.end = message[1]
        worker.tally = worker.end.tally
    elif kind == "error":
        worker.error = message[1]
    return []


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
        codes = ", ".join(f"worker {crew.index(w)} (exit code {w.process.exitcode})" for w in lost)
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
    result.input_tokens = ledger.input_tokens
    result.output_tokens = ledger.output_tokens
    result.paid_calls = ledger.paid_lines
    result.calls_lost_in_flight = ledger.lost_in_flight


class _Stops:
    """Ctrl-C or SIGTERM to the parent: each passed on to every worker as SIGTERM (the first
    stops them after their calls in flight, the second at once)."""

    def __init__(self, crew: list[_Worker], console: Console) -> None:
        self.crew = crew
        self.console = console
        self.asked = False
        self.loop = asyncio.get_running_loop()
        self.installed: list[signal.Signals] = []

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.add_signal_handler(sig, self.pass_on)
                self.installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread: the workers stop with their own signals

    def pass_on(self, *, quiet: bool = False) -> None:
        """Send every worker still running SIGTERM (the first time, say so)."""
        if not self.asked and not quiet:
            self.console.print(
                "interrupting: no new call is started, calls in flight finish "
                "(Ctrl-C again to stop at once)",
                highlight=False,
            )
        self.asked = True
        for worker in self.crew:
            if worker.process.is_alive() and worker.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.process.pid, signal.SIGTERM)

    def remove(self) -> None:
        for sig in self.installed:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self.loop.remove_signal_handler(sig)
        self.installed.clear()
