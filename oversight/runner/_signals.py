"""Ctrl-C and SIGTERM during a session of a run: the first starts no new call and lets the
calls in flight finish; the second stops at once.

Where a person answers in this terminal, a closed terminal (SIGHUP) counts as the first
(unless SIGHUP is ignored, as under ``nohup``): their prompt ends as at Ctrl-C, nothing more
is printed to the terminal that is gone, and the session stops cleanly (by default the
process would end where it stands, losing a verdict typed at the reason prompt)."""

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
    """SIGINT and SIGTERM (and SIGHUP, given ``hangup``) handled on the running event loop,
    set and removed together."""

    def __init__(self, *, hangup: Callable[[], None] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self.installed: list[signal.Signals] = []
        self.hangup = hangup
        """Called on SIGHUP, which is handled only when given (and not ignored, as under
        nohup)."""

    def set(self, handler: Callable[[], None]) -> None:
        """Call ``handler`` on any of the signals from now on (in place of any earlier one)."""
        handlers: list[tuple[signal.Signals, Callable[[], None]]] = [
            (signal.SIGINT, handler),
            (signal.SIGTERM, handler),
        ]
        hangup = self.hangup
        if hangup is not None and _hangup_default(self.installed):
            handlers.append((signal.SIGHUP, hangup))
        for sig, call in handlers:
            try:
                self.loop.add_signal_handler(sig, call)
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
    """Ctrl-C or SIGTERM (or, with ``hangup``, SIGHUP): start no new call, let calls in
    flight finish, stop; again: at once."""

    def __init__(self, session: _Stoppable, *, hangup: bool = False) -> None:
        self.session = session
        self.handlers = Handlers(hangup=self._hung_up if hangup else None)
        self.hung_up = False

    def install(self) -> None:
        self.handlers.set(self._first)

    def _first(self) -> None:
        self.handlers.set(self._second)
        try:  # said before a person's prompt ends with its own message
            self.session.console.print(INTERRUPTING, highlight=False)
        finally:
            self.session.stop()

    def _second(self) -> None:
        self.session.stop(at_once=True)

    def _hung_up(self) -> None:
        """The terminal is gone: nothing more is printed to it (a write would fail), and the
        session stops as at a first Ctrl-C, once (a hangup may come twice: never at once)."""
        self.session.console.quiet = True
        if not self.hung_up:
            self.hung_up = True
            self.session.stop()

    def remove(self) -> None:
        self.handlers.remove()


def _hangup_default(installed: list[signal.Signals]) -> bool:
    """Whether SIGHUP exists here (not on Windows) and ends the process (not ignored, as
    under nohup), or is already handled by us."""
    if not hasattr(signal, "SIGHUP"):
        return False
    return signal.SIGHUP in installed or signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
