"""``oversight judge`` stopped from the terminal: a second Ctrl-C while the verdict typed
before the first is being saved, and a closed terminal; what is saved and the exit status."""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.terminal import Terminal, close, finish, hang_up, plain, spawn_cli

from .helpers import saved_run, transcript

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

PROMPT = "q quit: "


def _lines(run: Path) -> list[dict[str, Any]]:
    path = run / "judgments.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _judge(run: Path, name: str) -> Terminal:
    return spawn_cli("judge", str(run), "--annotator", name, "--all")


def _answer(child: Terminal, entry: str) -> None:
    child.expect_exact(PROMPT)
    child.sendline(entry)
    child.expect_exact("Reason (optional")


@contextmanager
def _writing(log: Path) -> Iterator[None]:
    """Another session in the middle of an append to ``log`` (it holds the log's lock): a
    save here waits until it is done."""
    fd = os.open(log, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def test_a_second_ctrl_c_while_the_verdict_is_saved_neither_loses_nor_doubles_it(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    saved_run(run, [transcript("t1"), transcript("t2"), transcript("t3")]).close()
    child = _judge(run, "gil")
    try:
        _answer(child, "A 90")
        child.sendline("")
        child.expect_exact("Saved.")
        with _writing(run / "judgments.jsonl"):
            _answer(child, "60 40")
            child.sendintr()  # at the reason prompt: the verdict typed is kept...
            child.expect_exact("your verdict is kept")
            child.sendintr()  # ...and a second Ctrl-C while it waits to be saved
            # (was: the save cut short and the session ended, the verdict lost)
            child.expect_exact("already stopping: what you typed is being saved")
        screen = " ".join(plain(child.printed.getvalue() + finish(child, status=130)).split())
    finally:
        close(child)
    assert "interrupted; everything saved so far is kept" in screen
    lines = _lines(run)
    assert [j["metadata"]["entry"] for j in lines] == ["A 90", "60 40"]
    assert lines[1]["metadata"]["reason_interrupted"] is True

    child = _judge(run, "gil")  # the same command asks the third item only
    _answer(child, "B 70")
    child.sendline("")
    assert "1 judged, 0 skipped, 0 left" in " ".join(finish(child).split())
    assert sorted(j["transcript_id"] for j in _lines(run)) == ["t1", "t2", "t3"]


@pytest.mark.parametrize("at", ["probabilities", "reason"])
def test_a_closed_terminal_ends_the_session_with_status_130_and_keeps_the_verdict(
    tmp_path: Path, at: str
) -> None:
    run = tmp_path / "run"
    saved_run(run, [transcript("t1"), transcript("t2")]).close()
    child = _judge(run, "hal")
    try:
        if at == "reason":
            _answer(child, "60 40")
        else:
            child.expect_exact(PROMPT)
        # (was: status 1, a traceback of the write to the closed terminal)
        assert hang_up(child) == 130
    finally:
        close(child)
    assert [j["metadata"]["entry"] for j in _lines(run)] == (["60 40"] if at == "reason" else [])
