"""Appends are locked across processes: another writer's line in progress is waited for,
never mistaken for a crash's torn tail and set aside."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from transcripts import JsonlLog, Judgment

from .factories import judgment

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")


def test_an_append_waits_for_another_writers_line_in_progress(tmp_path: Path) -> None:
    import fcntl

    path = tmp_path / "judgments.jsonl"
    theirs = (judgment("t-theirs").model_dump_json() + "\n").encode()
    # Another writer (its own open file, as another process has) is half-way through a line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, theirs[:40])
    log = JsonlLog(path, Judgment)
    appender = threading.Thread(target=log.append, args=(judgment("t-mine"),))
    appender.start()
    appender.join(timeout=0.3)
    assert appender.is_alive()  # waiting on the lock, not truncating their line
    os.write(fd, theirs[40:])
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    appender.join(timeout=10)
    log.close()
    assert [j.transcript_id for j in JsonlLog(path, Judgment)] == ["t-theirs", "t-mine"]
    assert not list(tmp_path.glob("*.torn-*"))
