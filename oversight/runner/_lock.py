"""The run's lock, ``RUN/.run.lock``: one session writes a run at a time (an ``oversight
run``, or an ``oversight rejudge`` merging the shards a stopped ``--ray`` driver left), and a
command refused meanwhile is told which holds it and what it does."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from filelock import FileLock, Timeout

from transcripts.errors import ConfigError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock to look at
    fcntl = None  # type: ignore[assignment]

__all__ = ["RUN_LOCK", "RUN_LOCK_HOLDER", "held", "run_lock", "run_lock_held", "run_lock_holder"]

RUN_LOCK = ".run.lock"
"""The run's lock file, in the run folder."""

RUN_LOCK_HOLDER = ".run.lock.holder"
"""Beside ``RUN/.run.lock``: what the session holding it does with the run, written when it
takes the lock, for the message of a command refused meanwhile."""


def run_lock(folder: Path, *, doing: str | None = None) -> FileLock:
    """Hold ``RUN/.run.lock`` for this session, or refuse: two sessions writing one run
    would run the same items twice. (The workers of ``--workers N`` run under their
    parent's lock; the lock goes with the process, even on ``kill -9``.) ``doing`` says
    what this session does with the run (default: an ``oversight run`` writing it), for
    the message of a command refused while it holds the lock."""
    # A moment's wait, not none: a reader looking whether the lock is held (`oversight
    # show`, :func:`run_lock_held`) holds it for a few microseconds, and must not make a
    # run that starts then refuse.
    lock = FileLock(folder / RUN_LOCK, timeout=_GRACE_S, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise ConfigError(
            f"{run_lock_holder(folder)} (it holds {folder / RUN_LOCK}); "
            f"wait for it to finish or stop it (Ctrl-C), then run again to resume"
        ) from None
    said = doing or f"another `oversight run` is writing {folder}"
    with contextlib.suppress(OSError):  # not written: a refused command says the default
        (folder / RUN_LOCK_HOLDER).write_text(f"{said} (pid {os.getpid()})\n", encoding="utf-8")
    return lock


_GRACE_S = 0.25
"""How long :func:`run_lock` tries before it refuses (a probe holds the lock for
microseconds; a session holding it, for as long as it runs)."""


def held(path: Path) -> bool | None:
    """Whether a process holds an OS lock (``flock``) on the file ``path``, without waiting
    and without writing: the file is opened read-only and a shared lock tried and let go at
    once (a writer's exclusive lock refuses it). False when there is no such file (nobody
    took it, or its session removed it); None where the system has no ``flock``."""
    if fcntl is None:  # pragma: no cover
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:  # a file system without flock: cannot tell
        return None
    finally:
        os.close(fd)  # and with it the lock taken, if it was
    return False


def run_lock_held(folder: Path) -> bool | None:
    """Whether a live session holds the run's lock now (an ``oversight run``, or what
    :func:`run_lock_holder` says), for a reader such as ``oversight show``: it takes the
    lock for no longer than the look, so a run starting meanwhile is not refused, and it
    works on a folder the reader cannot write to. A ``kill -9`` releases the lock with the
    process. None where it cannot be told (no ``flock``)."""
    return held(folder / RUN_LOCK)


def run_lock_holder(folder: Path) -> str:
    """What the session holding the run's lock does with the run, as it said when it took
    the lock (an ``oversight run`` writing it, when it said nothing)."""
    try:
        said = (folder / RUN_LOCK_HOLDER).read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        said = ""
    return said or f"another `oversight run` is writing {folder}"
