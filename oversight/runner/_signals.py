"""Ctrl-C and SIGTERM during a session of a run: the first starts no new call and lets the
calls in flight finish; the second stops at once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Protocol

from rich.console import Console

__all__ = ["Signals"]


class _Stoppable(Protocol):
    console: Console

    def stop(self, *, at_once: bool = False) -> None: ...


class Signals:
    """Ctrl-C or SIGTERM: start no new call, let calls in flight finish, stop; again: at once."""

    def __init__(self, session: _Stoppable) -> None:
        self.session = session
        self.loop = asyncio.get_running_loop()
        self.installed: list[signal.Signals] = []

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.add_signal_handler(sig, self._first)
                self.installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or no signals here: Ctrl-C stops at once

    def _first(self) -> None:
        self.session.stop()
        self.session.console.print(
            "interrupting: no new call is started, calls in flight finish "
            "(Ctrl-C again to stop at once)",
            highlight=False,
        )
        for sig in self.installed:
            self.loop.add_signal_handler(sig, self._second)

    def _second(self) -> None:
        self.session.stop(at_once=True)

    def remove(self) -> None:
        for sig in self.installed:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self.loop.remove_signal_handler(sig)
        self.installed.clear()
