"""A person as judge, in the terminal (rich).

Example::

    judge = HumanJudge(annotator="alice")
    judgment = await judge.judge(view)       # from async code (a runner, a fallback judge)
    judgment = judge.judge_now(view)         # from a plain loop (``oversight judge``)

The person sees the question, the answers labelled A, B, ... in the view's presented order
(the protocol's counterbalanced order, the one the speakers saw, so the letters in every
speech match the answers shown; see :mod:`judges.terminal`) and the public turns, with
verified and unverified quotes styled differently; never the gold answer, model names or
the transcript id. The order shown is recorded in ``metadata["presented_order"]`` (original
answer index at each shown position); probabilities are stored in the question's original
order.

Entries are read by :func:`judges.terminal.read_probabilities`; then an optional reason
(``rationale``). A skip (``s``) asks why, optionally (:data:`SKIP_PROMPT`); the answer is the
skipped judgment's ``rationale``. ``s`` at the confidence prompt after a letter skips too
(the prompt was still open, so the letter was no verdict): the person is told the letter
was not saved, and ``metadata["entry"]`` keeps both (``"A s"``). ``time_s`` is wall-clock
time from showing the item to the verdict or skip (re-asked bad entries included; the
reason is not timed); a pause while the item is on screen counts, and an item shown, quit
and shown again in a later session is timed from its last showing only. With
``time_limit_s`` the limit is shown with the item and recorded (``metadata["time_limit_s"]``);
an answer given after it is kept and marked ``metadata["over_time"] = True`` for the
analysis to count or drop.

Ctrl-C or a closed terminal at the reason prompt keeps the verdict (or skip) just typed: the
judgment is returned with an empty reason (``metadata["reason_interrupted"] = True``) and
:attr:`HumanJudge.stopping` says why the person stopped; the next :meth:`HumanJudge.judge`
raises :class:`~judges.HumanQuit` at once, as it does after ``q`` or the end of input.
Ctrl-C at the probabilities prompt gives no judgment: :meth:`HumanJudge.judge_now` raises
:class:`KeyboardInterrupt`.

From async code (a run, ``oversight rejudge``) the entries are read in a thread, which
Ctrl-C does not reach: the caller's signal handler sets the judge's ``interrupt``
(:class:`~judges.terminal.Interrupt`), which ends the prompt showing by the same rule. There
:meth:`HumanJudge.judge` returns the verdict kept at the reason prompt, or raises
:class:`~judges._common.HumanInterrupted` (a :class:`~judges.HumanQuit`: the item is not
judged and stays to be asked) for Ctrl-C at the probabilities prompt or before the person
was asked.

With ``live=True`` the judge also asks the person, between rounds of an interactive
protocol, for a question to the speakers (empty = none), showing the turns so far.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TextIO, TypeVar

from pydantic import Field
from rich.console import Console
from rich.markup import escape

from judges._common import HumanInterrupted, HumanQuit
from judges.base import Judge, JudgeOptions, resolve_options
from judges.terminal import (
    PROMPT,
    QUESTION_PROMPT,
    REASON_PROMPT,
    SKIP_PROMPT,
    EntryError,
    Interrupt,
    confidence_probabilities,
    parse_entry,
    read_line,
    read_probabilities,
    show_view,
)
from transcripts import JudgeIdentity, JudgeView, Judgment
from transcripts._validation import Number
from transcripts.errors import ConfigError

__all__ = [
    "PROMPT",
    "QUESTION_PROMPT",
    "REASON_PROMPT",
    "SKIP_PROMPT",
    "EntryError",
    "HumanJudge",
    "HumanJudgeOptions",
    "confidence_probabilities",
    "parse_entry",
]

T = TypeVar("T")

Stopping = Literal["quit", "interrupt"]
"""Why a person stopped after giving a verdict: end of input, or Ctrl-C."""


class HumanJudgeOptions(JudgeOptions):
    """Options of a person judging in the terminal (:class:`HumanJudge`; ``kind = "human"``)."""

    annotator: str | None = None
    """The person's name (required by the time the judge is built)."""
    live: bool = False
    """Also ask the person for questions between rounds of interactive protocols."""
    time_limit_s: Number | None = Field(default=None, gt=0)
    """Seconds a person should take per item; a later answer is kept and marked over time."""


class HumanJudge(Judge):
    """A person in the terminal: blinded, validated entries, timed, skippable."""

    def __init__(
        self,
        options: JudgeOptions | None = None,
        /,
        *,
        console: Console | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        interrupt: Interrupt | None = None,
        **overrides: Any,
    ) -> None:
        self.options = resolve_options(HumanJudgeOptions, options, overrides, what="human judge")
        annotator = (self.options.annotator or "").strip()
        if not annotator:
            raise ConfigError(
                'a human judge needs the annotator\'s name: annotator = "NAME" '
                "in its [[judges]] table, human:NAME as a spec, --annotator NAME "
                "on the command line"
            )
        self.console = console or Console(highlight=False)
        self.stream = stream
        self.clock = clock
        self.interrupt = interrupt or Interrupt()
        """Set by the caller's Ctrl-C handler to end the prompt read in a thread."""
        self.stopping: Stopping | None = None
        """Set when the person stopped at the reason prompt after giving a verdict."""
        self._identity = JudgeIdentity(
            kind="human", name=self.options.name or "human", annotator=annotator
        )
        self._lock = asyncio.Lock()

    @property
    def identity(self) -> JudgeIdentity:
        return self._identity

    @property
    def annotator(self) -> str:
        """The person's name."""
        return self._identity.annotator or ""

    async def judge(self, view: JudgeView) -> Judgment:
        """Ask the person (one item at a time) without blocking the event loop."""
        async with self._lock:
            if self.interrupt.is_set and self.stopping is None:
                self.stopping = "interrupt"  # Ctrl-C before this person was asked
            if self.stopping == "interrupt":
                raise HumanInterrupted(f"{self.annotator} stopped (Ctrl-C)")
            if self.stopping is not None:
                raise HumanQuit(f"{self.annotator} stopped ({self.stopping})")
            try:
                return await _in_thread(lambda: self.judge_now(view))
            except HumanInterrupted:
                self.stopping = "interrupt"
                self._say(
                    "\n[yellow]Stopped:[/yellow] nothing is saved for this item; it is "
                    "asked again when you run the same command."
                )
                raise
            except HumanQuit:
                self.stopping = "quit"  # q or a closed input: nothing more is asked
                raise

    async def ask(self, view: JudgeView) -> str | None:
        """In live mode, show the turns so far and ask for a question; otherwise None."""
        if not self.options.live:
            return None
        async with self._lock:
            return await _in_thread(lambda: self.ask_now(view))

    # -- the terminal ------------------------------------------------------------------------

    def judge_now(self, view: JudgeView, *, progress: tuple[int, int] | None = None) -> Judgment:
        """Show ``view``, read a valid entry and a reason, and return the judgment."""
        title = f"Item {progress[0]} of {progress[1]}" if progress else "Judge this transcript"
        if self.options.time_limit_s is not None:
            title += f" · time limit {self.options.time_limit_s:g} s"
        show_view(self.console, view, title=title)
        started = self.clock()
        entry, presented = read_probabilities(
            self.console,
            len(view.answers),
            stream=self.stream,
            who=self.annotator,
            interrupt=self.interrupt,
        )
        elapsed = self.clock() - started
        metadata: dict[str, object] = {"presented_order": view.presented_order, "entry": entry}
        if self.options.time_limit_s is not None:
            metadata["time_limit_s"] = self.options.time_limit_s
            metadata["over_time"] = elapsed > self.options.time_limit_s
            if elapsed > self.options.time_limit_s:
                self.console.print(
                    f"[yellow]Over the time limit[/yellow] ({elapsed:.0f} s of "
                    f"{self.options.time_limit_s:g} s): kept, and marked as "
                    f"over time."
                )
        if presented is None:
            if len(entry.split()) > 1:  # "A s": the skip came at the letter's confidence
                self._say(
                    f"[yellow]Skipped:[/yellow] {escape(entry.split()[0])} was not saved as "
                    "your verdict (s at its confidence skips the item)."
                )
            return Judgment(
                transcript_id=view.transcript_id,
                judge=self.identity,
                status="skipped",
                rationale=self._reason(metadata, SKIP_PROMPT, kept="skip"),
                rounds_seen=view.rounds_shown,
                time_s=elapsed,
                metadata=metadata,
            )
        metadata["presented_probabilities"] = presented
        reason = self._reason(metadata, REASON_PROMPT, kept="verdict")
        return Judgment(
            transcript_id=view.transcript_id,
            judge=self.identity,
            probabilities=view.to_original(presented),
            rationale=reason,
            rounds_seen=view.rounds_shown,
            time_s=elapsed,
            metadata=metadata,
        )

    def _reason(self, metadata: dict[str, object], prompt: str, *, kept: str) -> str:
        """The optional reason (for a verdict, or why the item was skipped); Ctrl-C or end
        of input here keeps the verdict (or the skip) typed."""
        try:
            return read_line(
                self.console, prompt, stream=self.stream, interrupt=self.interrupt
            ).strip()
        except HumanQuit:
            self.stopping = "quit"
        except KeyboardInterrupt:
            self.stopping = "interrupt"
        metadata["reason_interrupted"] = True
        self._say(f"\n[yellow]Stopped at the reason:[/yellow] your {kept} is kept.")
        return ""

    def _say(self, message: str) -> None:
        try:
            self.console.print(message)
        except OSError:  # the terminal is gone (hung up): no one to tell
            pass

    def ask_now(self, view: JudgeView) -> str | None:
        """Show the debate so far and ask for a question (empty = none)."""
        show_view(self.console, view, title=f"Live: after round {view.rounds_shown}")
        question = read_line(
            self.console, QUESTION_PROMPT, stream=self.stream, interrupt=self.interrupt
        ).strip()
        return question or None


async def _in_thread(fn: Callable[[], T]) -> T:
    """Run blocking terminal input in a daemon thread (it never holds up interpreter exit);
    a :class:`KeyboardInterrupt` there (an :class:`~judges.terminal.Interrupt`) comes back
    as :class:`~judges._common.HumanInterrupted`."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def work() -> None:
        try:
            result = fn()
        except KeyboardInterrupt:
            loop.call_soon_threadsafe(_fail, future, HumanInterrupted("Ctrl-C at the prompt"))
        except BaseException as err:
            loop.call_soon_threadsafe(_fail, future, err)
        else:
            loop.call_soon_threadsafe(_succeed, future, result)

    threading.Thread(target=work, name="human-judge", daemon=True).start()
    return await future


def _succeed(future: asyncio.Future[T], result: T) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[T], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
