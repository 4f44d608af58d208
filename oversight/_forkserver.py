"""Where ``--workers N`` gets its processes: forked from a server that imported them once.

A worker started with ``spawn`` is a new interpreter: it imports the framework, the
protocols, the OpenAI SDK and aiohttp (about 1.2 CPU-seconds here) before its first call,
and the run waits for it. multiprocessing's *fork server* is one new, single-threaded
process that imports :data:`PRELOAD` once; every worker is then forked from it and starts
with all of that imported. Forking the parent itself would be cheaper still, but the parent
has an event loop, threads and open SQLite connections that a forked child must not touch;
the fork server has none of them.

The command line starts the server as soon as it knows the run has workers
(:func:`start_early`), so its imports run on the second core while the parent reads the
experiment and the store. A worker still receives everything it needs in its
:class:`~oversight.runner._worker.Job` (the environment included: the server's copy is the
one it was started with), and the parent's own directory and ``sys.path`` through
multiprocessing, as with ``spawn``. Where the platform has no fork server (Windows),
workers are spawned.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext, SpawnContext

__all__ = ["PRELOAD", "start_early", "worker_context"]

PRELOAD = ["oversight.runner._preload"]
"""What the fork server imports before it forks the first worker (named, not imported:
this module sits in the bottom layer, so that the command line can start the server before
it imports the runner)."""


def worker_context() -> ForkServerContext | SpawnContext:
    """The multiprocessing context workers are started with: the fork server where there
    is one, else ``spawn``."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # no effect once the server runs
    return context


def start_early() -> None:
    """Start the fork server now, without waiting for its imports (a server already
    running is kept)."""
    if worker_context().get_start_method() == "forkserver":
        forkserver.ensure_running()
