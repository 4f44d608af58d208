"""The run's lock, ``RUN/.run.lock``: one session writes a run at a time (an ``oversight
run``, or an ``oversight rejudge`` merging the shards a stopped ``--ray`` driver left), and a
command refused meanwhile is told which holds it and what it does."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from filelock import FileLock, Timeout

from transcripts.errors import ConfigError

__all__ = ["RUN_LOCK_HOLDER", "run_lock", "run_lock_holder"]

RUN_LOCK_HOLDER = ".run.lock.holder"
"""Beside ``RUN/.run.lock``: what the session holding it does with the run, written when it
takes the lock, for the message of a command refused meanwhile."""


def run_lock(folder: Path, *, doing: str | None = None) -> FileLock:
    """Hold ``RUN/.run.lock`` for this session, or refuse: two sessions writing one run
    would run the same items twice. (The workers of ``--workers N`` run under their
    parent's lock; the lock goes with the process, even on ``kill -9``.) ``doing`` says
    what this session does with the run (default: an ``oversight run`` writing it), for
    the message of a command refused while it holds the lock."""
    lock = FileLock(folder / ".run.lock", timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise ConfigError(
            f"{run_lock_holder(folder)} (it holds {folder / '.run.lock'}); "
            f"wait for it to finish or stop it (Ctrl-C), then run again to resume"
        ) from None
    said = doing or f"another `oversight run` is writing {folder}"
    with contextlib.suppress(OSError):  # not written: a refused command says the default
        (folder / RUN_LOCK_HOLDER).write_text(f"{said} (pid {os.getpid()})\n", encoding="utf-8")
    return lock


def run_lock_holder(folder: Path) -> str:
    """What the session holding the run's lock does with the run, as it said when it took
    the lock (an ``oversight run`` writing it, when it said nothing)."""
    try:
        said = (folder / RUN_LOCK_HOLDER).read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        said = ""
    return said or f"another `oversight run` is writing {folder}"
