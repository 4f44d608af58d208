"""What keeps appends to a log's file (:class:`transcripts._log.JsonlLog`) whole: the
per-file locks writers hold, and a torn last line set aside before the first append.

* :func:`lock_for` is the lock within the process (tasks, threads), one per file however
  many logs point at it; :func:`os_lock` the one across processes (an OS advisory lock,
  ``flock``, on the file itself; a ``.<file>.lock`` side file where there is no ``fcntl``).
* :func:`set_aside_torn_tail` moves a last line a crash cut short into
  ``<file>.torn-<time>`` (never deleted), so appending goes on on a clean line boundary; a
  last line that is a whole JSON object without its newline (written by hand) is kept
  instead, its line ended.

The write itself is :func:`transcripts._questions.append_whole`, shared with the run's
``questions.jsonl``.
"""

from __future__ import annotations

import os
import threading
import warnings
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock

from transcripts._log_read import TornRecordWarning, outside_level, whole_object
from transcripts._questions import _flocked

__all__ = ["lock_for", "os_lock", "set_aside_torn_tail"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: a lock file instead of flock
    fcntl = None  # type: ignore[assignment]


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def lock_for(path: Path) -> threading.Lock:
    """One lock per file per process, however many logs point at it."""
    key = str(path.resolve())
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def os_lock(fd: int, path: Path) -> AbstractContextManager[object]:
    """The cross-process lock: ``flock`` on the file, or a side lock file without fcntl."""
    if fcntl is not None:
        return _flocked(fd)
    return FileLock(path.with_name(f".{path.name}.lock"))  # pragma: no cover


def set_aside_torn_tail(path: Path) -> tuple[int, bytes] | None:
    """Move an unterminated last line into a side file and truncate to the last newline.
    A last line that is a whole record written without its newline is kept and ended
    instead: its offset and its line, now with the newline, are returned (for the index)."""
    if not path.exists():
        return None
    with open(path, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return None
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return None
        # Walk back to the previous newline in blocks.
        end = size
        cut = 0
        while end > 0:
            start = max(0, end - 65536)
            f.seek(start)
            block = f.read(end - start)
            at = block.rfind(b"\n")
            if at >= 0:
                cut = start + at + 1
                break
            end = start
        f.seek(cut)
        tail = f.read()
        if whole_object(tail):  # a record written without its newline (by hand)
            f.write(b"\n")
            warnings.warn(
                f"{path}: the last line had no newline at its end (written by "
                f"hand?); a newline was added and the record is kept",
                TornRecordWarning,
                stacklevel=outside_level(),
            )
            return cut, tail + b"\n"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        aside = path.with_name(f"{path.name}.torn-{stamp}")
        aside.write_bytes(tail)
        f.truncate(cut)
    warnings.warn(
        f"{path}: the last line ({len(tail)} bytes) was cut short, probably by a "
        f"crash; it was moved to {aside.name} and appending continues",
        TornRecordWarning,
        stacklevel=outside_level(),
    )
    return None
