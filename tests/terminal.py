"""``oversight`` in a real pseudo-terminal, driven with pexpect, for the tests of what a person
meets at a terminal (``judge``, ``rate``, the live judge of ``run``).

Example::

    child = spawn_cli("judge", str(run), "--annotator", "ann")
    try:
        child.expect_exact("q quit: ")
        child.sendline("A 70")
        screen = finish(child)  # waits for the end; asserts the exit status
    finally:
        close(child)

Fast: nothing sleeps (pexpect waits 50 ms before every send and 100 ms on every close by
default; the child reads its terminal whenever input comes, so neither is needed).
Diagnosable: a wait that times out fails the test with the screen so far and the Python
stacks of the child's threads (``faulthandler`` registered on SIGUSR1 in the child), not only
"Timeout exceeded".
"""

from __future__ import annotations

import io
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pexpect
import pytest

__all__ = ["ANSI", "MAIN", "Terminal", "close", "finish", "hang_up", "plain", "spawn_cli"]

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
"""Terminal escape sequences (colours, cursor moves), removed before reading a screen."""

MAIN = (
    "import faulthandler, signal, sys; faulthandler.register(signal.SIGUSR1); "
    "from oversight.cli import main; sys.exit(main())"
)
"""``oversight`` whose threads' stacks SIGUSR1 prints (what a wait that times out shows)."""

_SHOWN = 4000
"""Characters of the child's output a timed-out wait shows (its end)."""


def plain(text: str | None) -> str:
    """``text`` without terminal escape sequences."""
    return ANSI.sub("", text or "")


class Terminal(pexpect.spawn):  # type: ignore[misc]  # pexpect has no type hints
    """A pexpect child that keeps all it printed, and whose waits, when they time out, fail
    the test with that output and the child's stacks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delaybeforesend = None
        self.ptyproc.delayafterclose = 0.0
        self.printed = io.StringIO()
        """Everything read from the child so far."""
        self.logfile_read = self.printed

    def expect_list(self, *args: Any, **kwargs: Any) -> int:
        return self._waiting(super().expect_list, *args, **kwargs)

    def expect_exact(self, *args: Any, **kwargs: Any) -> int:
        return self._waiting(super().expect_exact, *args, **kwargs)

    def _waiting(self, wait: Callable[..., int], *args: Any, **kwargs: Any) -> int:
        """``wait(*args)``; a timeout or an early end fails the test, saying why."""
        try:
            return wait(*args, **kwargs)
        except (pexpect.TIMEOUT, pexpect.EOF) as err:
            self._fail(err, args[0])

    def _fail(self, err: pexpect.ExceptionPexpect, wanted: object) -> NoReturn:
        """Fail the test with the end of the output and, when the child hangs, its stacks."""
        if isinstance(err, pexpect.TIMEOUT):
            what = f"waited {self.timeout} s in vain for {wanted!r}"
            if self.isalive():
                self.kill(signal.SIGUSR1)
                # faulthandler writes the stacks to the terminal: read them (a moment).
                pexpect.spawn.expect_list(self, [pexpect.EOF, pexpect.TIMEOUT], timeout=3)
                what += "; its stacks at the end"
        else:
            what = f"it ended (status {self.wait()}) before showing {wanted!r}"
        command = b" ".join(self.args[3:]).decode(errors="replace")  # after python -c MAIN
        shown = plain(self.printed.getvalue())[-_SHOWN:]
        pytest.fail(f"oversight {command}: {what}; it printed:\n{shown}")


def spawn_cli(
    *args: str,
    cwd: Path | None = None,
    dimensions: tuple[int, int] = (60, 110),
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> Terminal:
    """``oversight ARGS`` started in a pseudo-terminal of ``dimensions`` (rows, columns),
    each wait given ``timeout`` seconds; ``env`` is added to this process's environment.
    The wait bounds only a failing test: a clean-clone CI run once took over 15 s (the old
    bound) to start a second ``oversight judge`` while the checks ran beside it."""
    return Terminal(
        sys.executable,
        ["-c", MAIN, *args],
        cwd=None if cwd is None else str(cwd),
        dimensions=dimensions,
        encoding="utf-8",
        # The terminal echoes what a test types as it arrives, between two bytes of a
        # character the child is printing ("\xe2q\r\n\x94\x80": a box line cut by the
        # echo of "q"), as a real terminal would show it: a stray byte is shown as U+FFFD,
        # not an error that fails the test.
        codec_errors="replace",
        timeout=timeout,
        env={**os.environ, "TERM": "xterm-256color", **(env or {})},
    )


def finish(child: Terminal, status: int | None = 0) -> str:
    """Wait for the child to end, check its exit status (unless ``status`` is None) and
    return its last screen without escape sequences."""
    child.expect(pexpect.EOF)
    screen = plain(child.before)
    child.wait()
    child.close()
    if status is not None:
        assert child.exitstatus == status, screen
    return screen


def close(child: Terminal) -> None:
    """End the child if it still runs (SIGKILL) and reap it: for a ``finally`` or after a
    kill, without pexpect's waits between signals."""
    if child.closed:
        return
    if child.isalive():
        child.kill(signal.SIGKILL)
    child.wait()
    child.close()


def hang_up(child: Terminal) -> int | None:
    """Close the child's terminal as a closed window (or a dropped ssh link) does: its
    session gets SIGHUP and its reads end. Wait for it to end by itself (no other signal,
    unlike pexpect's close) and return its exit status (None when a signal ended it)."""
    child.ptyproc.fileobj.close()
    child.wait()
    child.closed = True
    return child.exitstatus  # type: ignore[no-any-return]
