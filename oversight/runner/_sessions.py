"""Which sessions writing a run's ``sent.jsonl`` are still running.

A session that sends calls holds an OS lock (``flock``) on its own file,
``RUN/.sessions/<session>.lock``, for as long as it runs, and names itself in the id of every
``sent`` mark it writes (``<call id>@<session>``). A session that starts reads the marks no
spend or ``unpaid`` line closes: those of a session that still holds its lock are calls in
flight of a run going on beside it (an ``oversight rejudge`` of a run that is still running,
say), not calls a kill cut off, so it neither counts them as lost nor writes their spend
lines (their own session does). The lock goes with the process, so a ``kill -9`` releases it.
Marks of older versions name no session: they count as a kill's, as before.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from oversight.runner._lock import held

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, every session seems ended
    fcntl = None  # type: ignore[assignment]

__all__ = ["SESSIONS", "Session", "running"]

SESSIONS = ".sessions"
"""The folder, beside ``sent.jsonl``, of the running sessions' lock files."""


class Session:
    """This process's session of a run: its id, and its lock held until :meth:`close`."""

    __slots__ = ("_fd", "_path", "id")

    def __init__(self, folder: Path, session_id: str) -> None:
        self.id = session_id
        """Named in the id of each ``sent`` mark the session writes."""
        self._path = folder / SESSIONS / f"{session_id}.lock"
        self._fd: int | None = None
        if fcntl is None:  # pragma: no cover
            return
        for _ in range(3):  # another session's close may remove the folder in between
            try:
                self._path.parent.mkdir(exist_ok=True)
                fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
                break
            except FileNotFoundError:
                continue
            except OSError:  # a folder no one may write to: no call is sent from it either
                return
        else:
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd

    def close(self) -> None:
        """End the session: its marks still open are a kill's from now on."""
        fd, self._fd = self._fd, None
        if fd is not None:
            self._path.unlink(missing_ok=True)
            os.close(fd)
            with contextlib.suppress(OSError):  # left while another session runs
                self._path.parent.rmdir()


def running(folder: Path, mark_id: str) -> bool:
    """Whether the session that wrote the ``sent`` mark ``mark_id`` still holds its lock
    (in any process, this one included)."""
    _, at, session_id = mark_id.partition("@")
    if not at:
        return False
    return held(folder / SESSIONS / f"{session_id}.lock") is True  # a file removed: ended
