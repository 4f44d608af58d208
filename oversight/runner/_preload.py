"""What every worker process of ``--workers N`` imports, imported once by the fork server
(:mod:`oversight._forkserver`) that the workers are forked from: the worker itself, every
protocol, and the OpenAI SDK path with aiohttp, which most endpoints (OpenAI and every
OpenAI-compatible server) use. Other providers' SDKs are imported by the worker that needs
them.

In the fork server, it also makes the server's own exit immediate: the server ends when
the run's process does, and a normal interpreter exit would first tear down every module
imported here while it still holds the run's standard output and error open, so whoever
reads them (a pipe, ``tee``, a CI log) would wait for it. The server holds
nothing that needs tearing down. The handler does nothing in the workers forked from the
server, which inherit it: they run their exit handlers themselves
(:func:`oversight.runner._worker.worker_main`).
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
from multiprocessing import forkserver

from protocols.base import REGISTRY

__all__ = ["MODULES"]

MODULES = (
    "ctypes",  # for the worker's parent-death signal
    "oversight.runner._worker",
    "oversight.endpoints._openai",
    *sorted(set(REGISTRY.values())),
)
"""The modules imported."""


def _in_fork_server() -> bool:
    """Whether this import runs inside multiprocessing's fork server (its ``main``)."""
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code is forkserver.main.__code__:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


for _module in MODULES:
    importlib.import_module(_module)


def _exit_now(server: int) -> None:
    """End the fork server at once (in a worker forked from it: nothing)."""
    if os.getpid() == server:
        os._exit(0)


if _in_fork_server():
    atexit.register(_exit_now, os.getpid())
