"""One worker process of ``oversight run --workers N``: its share of the items, into the run.

The parent (:mod:`oversight.runner._workers`) runs share 0 itself and starts a process
for each other share with a :class:`Job` (forked from the fork server of
:mod:`oversight._forkserver`). The worker plans the experiment's items as the parent
did (the same ids), keeps its share (:func:`oversight.runner._share.share_items`), and runs
them in an ordinary :class:`~oversight.runner._run.Session` on the same run folder, with its
share of the limits and a meter that follows the whole run's spend ledger, so the caps hold
across workers (:func:`open_share`, the same for the parent's share). It writes no
``status.json`` (the parent writes the run's) and tells the parent over a pipe how many of
its items are done, and what its calls cost.

A worker runs in its own process group, so Ctrl-C in the terminal reaches the parent alone,
which passes the stop on (SIGTERM: calls in flight finish; a second: at once). On Linux a
worker also gets SIGTERM when the process it was forked from ends (``PR_SET_PDEATHSIG``):
the fork server ends with the parent, so a worker whose parent was killed stops the same way.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import pickle
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from rich.console import Console

from oversight._gc import fewer_collections
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

__all__ = ["Job", "Share", "WorkerEnd", "open_share", "run_share", "worker_main"]

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
    environ: dict[str, str]
    """The parent's environment when it started the run (API keys included): a worker
    forked from a fork server started earlier would otherwise have the server's."""


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
    os.environ.clear()
    os.environ.update(job.environ)
    try:
        with fewer_collections():  # the planning too, not only the calls
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
        # A worker forked from the fork server ends with os._exit, which runs no atexit
        # handler: run them here, as a spawned process's exit would (the response cache
        # writes what is still pending, local model servers are stopped).
        atexit._run_exitfuncs()


async def _work(job: Job, conn: Connection) -> WorkerEnd:
    share = open_share(
        job.experiment,
        job.folder,
        (job.worker, job.workers),
        cache=job.cache,
        offline=job.offline,
        factory=job.factory,
    )

    def observe(done: int, failed: int) -> None:
        _send(conn, ("items", done, failed, share.meter.session(), sorted(share.meter.unpriced)))

    return await run_share(share, retry_failed=job.retry_failed, observer=observe)


@dataclass(frozen=True)
class Share:
    """One worker's share of a run, ready to run: its items, experiment, store, meter."""

    experiment: Experiment
    """The experiment with the share's ``[limits] concurrency``."""
    items: list[WorkItem]
    """The share's items, in plan order."""
    store: RunStore
    """The run folder, opened for this share (closed when the share ends)."""
    meter: Meter
    """A meter that follows the whole run's spend ledger, so the caps count every worker."""
    endpoints: Endpoints
    """Endpoints with the share's part of every endpoint limit."""


def open_share(
    whole: Experiment,
    folder: Path,
    share: tuple[int, int],
    *,
    cache: Path | bool,
    offline: bool,
    factory: Factory | None,
    planned: list[WorkItem] | None = None,
) -> Share:
    """Share ``share`` = ``(worker, workers)`` of the run of ``whole`` in ``folder``; its items
    are taken from ``planned`` (every item of the run) or planned afresh."""
    exp = with_limits(whole, concurrency=max(1, portion(whole.limits.concurrency, *share)))
    if planned is None:
        planned = list(plan(exp, load_questions(exp.dataset, exp.base_dir)))
    return Share(
        experiment=exp,
        items=share_items(planned, *share),
        store=RunStore.open(folder),
        meter=Meter(
            max_cost_usd=exp.limits.max_cost_usd,
            max_tokens=exp.limits.max_tokens,
            ledger=JsonlLog(folder / "spend.jsonl", SpendEntry),
            follow=True,
        ),
        endpoints=Endpoints(exp, cache=cache, offline=offline, factory=factory, share=share),
    )


async def run_share(
    share: Share,
    *,
    retry_failed: bool,
    observer: Callable[[int, int], None] | None = None,
    started: Callable[[Session], None] | None = None,
    signals: bool = True,
) -> WorkerEnd:
    """Run ``share`` (a worker's or a Ray task's) in a quiet session that writes no status
    file (the parent or driver does), then close its endpoints and store. ``started`` is
    given the session before it runs; ``signals=False`` leaves Ctrl-C and SIGTERM to the
    caller (which stops the session with :meth:`Session.stop`)."""
    try:
        session = Session(
            share.experiment,
            share.store,
            share.items,
            endpoints=share.endpoints,
            meter=share.meter,
            console=Console(quiet=True),
            display="off",
            retry_failed=retry_failed,
            status_file=False,
            observer=observer,
            signals=signals,
        )
        if started is not None:
            started(session)
        result = await session.run()
        return WorkerEnd(result, session.failed, session.unsettled, share.meter.session())
    finally:
        await share.endpoints.aclose()
        share.meter.close()
        share.store.close()


def _send(conn: Connection, message: tuple[object, ...]) -> None:
    try:
        conn.send(message)
    except OSError:
        pass  # the parent is gone: this worker is stopping too (SIGTERM on its death)
    except (pickle.PicklingError, TypeError, AttributeError):  # an error that cannot travel
        conn.send(("error", OversightError(f"{message[1]!r}")))


def _stop_with_parent(parent: int) -> None:
    """SIGTERM this process when the process it was forked from ends (Linux ``prctl``;
    elsewhere the parent's death leaves the worker to finish its share). That process is
    the fork server, which ends with the parent; a parent already gone: stop now."""
    import ctypes  # here: a one-process run need not load it (the fork server preloads it)

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    try:
        os.kill(parent, 0)
    except ProcessLookupError:  # it died before the request: stop now
        raise SystemExit(130) from None
    except PermissionError:
        pass  # alive, as another user (cannot happen to our own parent, but harmless)
