"""Ctrl-C and a closed terminal while a person answers prompts read in the main thread
(``oversight judge``, ``oversight rate``).

Example::

    with PersonSignals(console) as signals:
        result = serve(store, judge, items)
    return 130 if signals.hung_up else 0

* Ctrl-C: the first ends the prompt showing (:class:`KeyboardInterrupt`, as Python's own
  handler does; ``oversight judge`` saves the verdict typed before a Ctrl-C at the reason
  prompt, and the command exits with 130). Later ones are ignored, with a word, so none cuts
  that save short (it may wait for another session's append).
* A closed terminal (SIGHUP: the window shut, the ssh link dropped): nothing more is printed
  (a write to the gone terminal fails) and the input ends, so the session ends as at the end
  of input, the verdict typed at the reason prompt saved; :attr:`PersonSignals.hung_up` is
  set, and the command exits with 130 as after Ctrl-C (as ``oversight run`` does). Under
  ``nohup`` (SIGHUP ignored) it stays ignored.

(``oversight run`` and ``rejudge``, which read a person's entries in a thread, stop through
the runner's signal handlers and :class:`judges.terminal.Interrupt` instead.)
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["INTERRUPTED", "PersonSignals"]

INTERRUPTED = 130
"""Exit status after Ctrl-C or a closed terminal (128 + SIGINT, as for ``oversight run``)."""


class PersonSignals:
    """SIGINT and SIGHUP handled as the module says while the block runs (SIGHUP, once it
    came, until the process ends: the command is ending, and a hangup may come twice)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.interrupted = False
        """Whether Ctrl-C was pressed."""
        self.hung_up = False
        """Whether the terminal closed."""
        self._before: list[tuple[signal.Signals, Any]] = []

    def __enter__(self) -> PersonSignals:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only (a command run from a thread)
        self._before = [(signal.SIGINT, signal.signal(signal.SIGINT, self._interrupt))]
        hangup = getattr(signal, "SIGHUP", None)  # not on Windows
        if hangup is not None and signal.getsignal(hangup) is not signal.SIG_IGN:
            self._before.append((hangup, signal.signal(hangup, self._hang_up)))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for sig, handler in self._before:
            if sig == signal.SIGINT or not self.hung_up:  # a hangup may come twice
                signal.signal(sig, handler)

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.interrupted or self.hung_up:
            try:  # never raise into the save this press may have come during
                self.console.print(
                    "(already stopping: what you typed is being saved, a moment)",
                    markup=False,
                    highlight=False,
                )
            except Exception:  # a terminal that cannot be written to: say nothing
                pass
            return
        self.interrupted = True
        raise KeyboardInterrupt

    def _hang_up(self, signum: int, frame: FrameType | None) -> None:
        self.hung_up = True
        self.console.quiet = True
