"""Ctrl-C and SIGTERM during a session of a run: the first starts no new call and lets the
calls in flight finish; the second stops at once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Protocol

from rich.console import Console

__all__ = ["INTERRUPTING", "Handlers", "Signals"]

INTERRUPTING = (
    "interrupting: no new call is started, calls in flight finish (Ctrl-C again to stop at once)"
)
"""What a session (or the parent of ``--workers N``) says at the first Ctrl-C."""


class Handlers:
    """SIGINT and SIGTERM handled on the running event loop, set and removed together."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.installed: list[signal.Signals] = []

    def set(self, handler: Callable[[], None]) -> None:
        """Call ``handler`` on either signal from now on (in place of any earlier one)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.add_signal_handler(sig, handler)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or no signals here: Ctrl-C stops at once
            if sig not in self.installed:
                self.installed.append(sig)

    def remove(self) -> None:
        for sig in self.installed:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self.loop.remove_signal_handler(sig)
        self.installed.clear()


class _Stoppable(Protocol):
    console: Console

    def stop(self, *, at_once: bool = False) -> None: ...


class Signals:
    """Ctrl-C or SIGTERM: start no new call, let calls in flight finish, stop; again: at once."""

    def __init__(self, session: _Stoppable) -> None:
        self.session = session
        self.handlers = Handlers()

    def install(self) -> None:
        self.handlers.set(self._first)

    def _first(self) -> None:
        self.session.stop()
        self.session.console.print(INTERRUPTING, highlight=False)
        self.handlers.set(self._second)

    def _second(self) -> None:
        self.session.stop(at_once=True)

    def remove(self) -> None:
        self.handlers.remove()
