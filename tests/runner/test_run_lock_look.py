"""A reader's look at the run's lock (``oversight show``): true while a session holds it,
false once the session ended or was killed, and never the reason a run starting at that
moment refuses."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from oversight.runner._lock import run_lock, run_lock_held

fcntl = pytest.importorskip("fcntl")


def test_a_look_at_the_lock_while_a_run_starts_does_not_make_the_run_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_lock(tmp_path).release()  # the lock file is there, as after any session
    assert run_lock_held(tmp_path) is False
    look = os.open(tmp_path / ".run.lock", os.O_RDONLY)
    fcntl.flock(look, fcntl.LOCK_SH | fcntl.LOCK_NB)  # a reader's look, caught in the act
    real_sleep = time.sleep
    waits: list[float] = []

    def look_ends(seconds: float) -> None:  # the look is over by the run's next try
        if not waits:
            os.close(look)
        waits.append(seconds)
        real_sleep(0)

    monkeypatch.setattr(time, "sleep", look_ends)
    lock = run_lock(tmp_path)  # refused at once before ("another `oversight run` ...")
    monkeypatch.undo()
    assert waits and lock.is_locked
    assert run_lock_held(tmp_path) is True
    lock.release()
    assert run_lock_held(tmp_path) is False


def test_a_folder_never_run_has_no_lock_held(tmp_path: Path) -> None:
    assert run_lock_held(tmp_path) is False
    assert not (tmp_path / ".run.lock").exists()  # the look made nothing
