"""One worker process of ``oversight run --workers N``: its share of the items, into the run.

The parent (:mod:`oversight.runner._workers`) starts each worker with a :class:`Job`. The
worker plans the experiment's items as the parent did (the same ids), keeps its share
(:func:`oversight.runner._share.share_items`), and runs them in an ordinary
:class:`~oversight.runner._run.Session` on the same run folder, with its share of the limits
and a meter that follows the whole run's spend ledger, so the caps hold across workers.
It writes no ``status.json`` (the parent writes the run's) and tells the parent over a pipe
how many of its items are done, and what its calls cost.

A worker runs in its own process group, so Ctrl-C in the terminal reaches the parent alone,
which passes the stop on (SIGTERM: calls in flight finish; a second: at once). On Linux a
worker also gets SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), and stops the same way.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import pickle
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from rich.console import Console

from oversight.datasets import load_questions
from oversight.experiment import Experiment, with_limits
from oversight.runner._build import Endpoints, Factory
from oversight.runner._items import WorkItem, plan
from oversight.runner._meter import Meter, SpendEntry, Tally
from oversight.runner._run import Session
from oversight.runner._share import portion, share_items
from oversight.runner._status import RunResult
from transcripts import JsonlLog, RunStore
from transcripts.errors import OversightError

__all__ = ["Job", "WorkerEnd", "worker_main"]

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Job:
    """What one worker is asked to do (sent to its process, so plain, picklable data)."""

    experiment: Experiment
    """The experiment, with the session's ``[limits]`` overrides."""
    folder: Path
    """The run folder (already made and frozen by the parent)."""
    worker: int
    """This worker's number, from 0."""
    workers: int
    """How many workers share the run."""
    cache: Path | bool
    """The response cache the endpoints use."""
    offline: bool
    """Answer every call from the cache; a miss is an error."""
    factory: Factory | None
    """The endpoint factory (None: :func:`oversight.endpoint`); it must be picklable."""
    retry_failed: bool
    """Ask the judges of failed judgments again."""
    parent: int
    """The parent's process id (a worker whose parent is gone does not start)."""


@dataclass(frozen=True)
class WorkerEnd:
    """How a worker's session ended, for the parent's summary."""

    result: RunResult
    """The worker's session result (over its share of the items)."""
    failed: int
    """Items of its share that failed in this session."""
    unsettled: int
    """Judgments of its share whose last try failed."""
    tally: Tally
    """What its own calls added in this session."""


def worker_main(job: Job, conn: Connection) -> None:
    """The worker process: run the job, then send ``("end", WorkerEnd)``, or ``("error",
    exception)`` when it could not run."""
    os.setpgrp()  # Ctrl-C goes to the parent's group only; the parent passes it on
    _stop_with_parent(job.parent)
    try:
        end = asyncio.run(_work(job, conn))
    except Exception as err:
        _send(conn, ("error", err))
        raise SystemExit(1) from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise SystemExit(130) from None  # stopped at once: the parent says so
    else:
        _send(conn, ("end", end))
    finally:
        conn.close()


async def _work(job: Job, conn: Connection) -> WorkerEnd:
    share = (job.worker, job.workers)
    whole = job.experiment
    exp = with_limits(whole, concurrency=max(1, portion(whole.limits.concurrency, *share)))
    questions = load_questions(exp.dataset, exp.base_dir)
    items = share_items(list(plan(exp, questions)), *share)
    store = RunStore.open(job.folder)
    meter = Meter(
        max_cost_usd=exp.limits.max_cost_usd,
        max_tokens=exp.limits.max_tokens,
        ledger=JsonlLog(job.folder / "spend.jsonl", SpendEntry),
        follow=True,
    )
    endpoints = Endpoints(
        exp, cache=job.cache, offline=job.offline, factory=job.factory, share=share
    )

    def observe(done: int, failed: int) -> None:
        _send(conn, ("items", done, failed, meter.session(), sorted(meter.unpriced)))

    return await run_share(
        exp,
        store,
        items,
        endpoints=endpoints,
        meter=meter,
        retry_failed=job.retry_failed,
        observer=observe,
    )


async def run_share(
    exp: Experiment,
    store: RunStore,
    items: list[WorkItem],
    *,
    endpoints: Endpoints,
    meter: Meter,
    retry_failed: bool,
    observer: Callable[[int, int], None] | None = None,
) -> WorkerEnd:
    """Run ``items`` (a worker's or a Ray task's share) in a quiet session that writes no
    status file (the parent or driver does), then close the endpoints and the store."""
    try:
        session = Session(
            exp,
            store,
            items,
            endpoints=endpoints,
            meter=meter,
            console=Console(quiet=True),
            live=False,
            retry_failed=retry_failed,
            status_file=False,
            observer=observer,
        )
        result = await session.run()
        return WorkerEnd(result, session.failed, session.unsettled, meter.session())
    finally:
        await endpoints.aclose()
        store.close()


def _send(conn: Connection, message: tuple[object, ...]) -> None:
    try:
        conn.send(message)
    except OSError:
        pass  # the parent is gone: this worker is stopping too (SIGTERM on its death)
    except (pickle.PicklingError, TypeError, AttributeError):  # an error that cannot travel
        conn.send(("error", OversightError(f"{message[1]!r}")))


def _stop_with_parent(parent: int) -> None:
    """SIGTERM this process when the parent dies (Linux ``prctl``; elsewhere the parent's
    death leaves the worker to finish its share)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the request: stop now
        raise SystemExit(130)
