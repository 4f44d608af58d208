"""Progress of a run: a rich live bar in a terminal, plain periodic lines elsewhere (CI, pipes),
or nothing (``progress=False``). A dry run's progress counts mock calls, never calls sent."""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import Literal, TypeAlias

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from oversight.runner._meter import Meter

__all__ = ["Display", "ProgressOption", "RunProgress", "display_for", "interactive", "rate_text"]

Display: TypeAlias = Literal["live", "lines", "off"]
"""How progress is shown: a live bar, plain periodic lines, or not at all."""
ProgressOption: TypeAlias = bool | Literal["lines"] | None
"""The ``progress=`` option: None (default) a live bar in a terminal and plain periodic lines
elsewhere; True the live bar; ``"lines"`` plain periodic lines; False nothing."""


def interactive(console: Console) -> bool:
    """True when a live display makes sense: a terminal, and not CI."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        return False
    return console.is_terminal and sys.stdout.isatty()


def display_for(progress: ProgressOption, console: Console) -> Display:
    """What ``progress=`` (:data:`ProgressOption`) shows on ``console``."""
    if progress is None:
        return "live" if interactive(console) else "lines"
    if progress is True:
        return "live"
    if progress is False:
        return "off"
    if progress == "lines":
        return "lines"
    raise ValueError(f'progress must be None, True, False or "lines" (got {progress!r})')


class RunProgress:
    """Items done of total, calls per second, tokens, spend, errors and time left; for a
    ``rehearsal`` (a dry run), the mock calls made instead, since nothing is sent or spent.

    Example::

        with RunProgress(console, meter, total=120, done=40, display="live") as progress:
            progress.advance(failed=False)
    """

    def __init__(
        self,
        console: Console,
        meter: Meter,
        *,
        total: int,
        done: int,
        display: Display,
        rehearsal: bool = False,
        every_s: float = 10.0,
    ) -> None:
        self.console = console
        self.meter = meter
        self.total = total
        self.done = done
        self.failed = 0
        self.display = display
        self.rehearsal = rehearsal
        self.every_s = every_s
        self._last_line = self._started = time.monotonic()
        self._first_done = done
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> RunProgress:
        if self.display == "live":
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                TextColumn("elapsed,"),
                TimeRemainingColumn(),
                TextColumn("left"),
                console=self.console,
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(
                "rehearsal" if self.rehearsal else "items",
                total=self.total,
                completed=self.done,
                stats=self.stats(),
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._update()
            self._progress.__exit__(exc_type, exc, tb)

    def stats(self) -> str:
        """The one-line statistics shown next to the bar."""
        m = self.meter
        if self.rehearsal:
            calls = m.calls + m.cached_calls
            return f"{calls:,} mock calls, nothing sent · {self.failed} errors"
        return (
            f"{rate_text(m.calls_per_second())} · {m.tokens:,} tok · {m.spend_text()} · "
            f"{self.failed} errors"
        )

    def time_left(self) -> str:
        """Time left at this session's pace so far."""
        done = self.done - self._first_done
        if done <= 0:
            return "time left unknown"
        seconds = (time.monotonic() - self._started) / done * (self.total - self.done)
        minutes, secs = divmod(int(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{secs:02d} left"

    def advance(self, *, failed: bool) -> None:
        """One more item finished (failed or not)."""
        self.done += 1
        self.failed += int(failed)
        self.tick()

    def tick(self) -> None:
        """Refresh the display (live) or print a line when one is due (plain)."""
        if self._progress is not None:
            self._update()
            return
        now = time.monotonic()
        due = now - self._last_line >= self.every_s or self.done == self.total
        if self.display == "lines" and due:
            self._last_line = now
            what = "rehearsed on mock endpoints: items" if self.rehearsal else "items"
            self.console.print(
                f"{what} {self.done}/{self.total} · {self.stats()} · {self.time_left()}",
                highlight=False,
            )

    def _update(self) -> None:
        assert self._progress is not None and self._task is not None
        self._progress.update(self._task, completed=self.done, stats=self.stats())


def rate_text(per_second: float) -> str:
    """A call rate a person can read at any speed: per second, per minute, or seconds a call
    (a slow local model is not "0.0 calls/s")."""
    if per_second <= 0:
        return "no calls yet"
    if per_second >= 1:
        return f"{per_second:.1f} calls/s"
    if per_second * 60 >= 1:
        return f"{per_second * 60:.1f} calls/min"
    return f"{1 / per_second:.0f} s/call"
