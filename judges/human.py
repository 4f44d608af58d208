"""A person as judge, in the terminal (rich).

Example::

    judge = HumanJudge(annotator="alice")
    judgment = await judge.judge(view)       # from async code (a runner, a fallback judge)
    judgment = judge.judge_now(view)         # from a plain loop (``oversight judge``)

The person sees the question, the answers labelled A, B, ... and the public turns, with
verified and unverified quotes styled differently; never the gold answer, model names or
the transcript id. Answer positions are shuffled again for each person and item (a seeded
shuffle of annotator and transcript id, so a resumed session shows the same order); the
order shown is recorded in ``metadata["presented_order"]`` (original answer index at each
shown position) and the probabilities are stored in the question's original order.

Entries (see :func:`parse_entry`): a probability per answer in shown order (``70 30``,
``0.7 0.3``, ``70% 30%``; percentages must add up to 100, fractions to 1), or a letter and
a confidence (``A 80``: 80% on A, the rest shared evenly by the others; a letter alone asks
for the confidence). ``s`` skips the item (a ``skipped`` judgment), ``q`` quits (raises
:class:`~judges.HumanQuit`, as does the end of input). A bad entry is explained and asked
again. Then an optional reason. ``time_s`` runs from showing the item to the last entry.

With ``live=True`` the judge also asks the person, between rounds of an interactive
protocol, for a question to the speakers (empty = none), showing the turns so far.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO, TypeVar

from rich.console import Console
from rich.rule import Rule

from judges._common import HumanQuit
from judges.base import Judge
from transcripts import JudgeIdentity, JudgeView, Judgment, answer_label
from transcripts import render_judge_view as _render_view
from transcripts.errors import ConfigError

__all__ = ["EntryError", "HumanJudge", "Presentation", "parse_entry", "present"]

T = TypeVar("T")

PROMPT = "Probabilities (e.g. 70 30) or letter + confidence (A 80); s skip, q quit: "
REASON_PROMPT = "Reason (optional, Enter to leave empty): "
QUESTION_PROMPT = "Your question for the speakers (Enter for none): "


class EntryError(ValueError):
    """An entry the person typed that is not a valid judgment; the message says why."""


@dataclass(frozen=True)
class Presentation:
    """A view with its answers shuffled for one person, and the way back."""

    view: JudgeView
    """What the person sees (for display only; map back with :meth:`to_view_order`)."""
    perm: list[int]
    """Shown position j shows the incoming view's position ``perm[j]``."""
    original: list[int]
    """Shown position j shows the question's original answer ``original[j]``."""

    def to_view_order(self, shown: list[float]) -> list[float]:
        """Probabilities in shown order -> the incoming view's presented order."""
        out = [0.0] * len(shown)
        for j, p in enumerate(shown):
            out[self.perm[j]] = p
        return out


def _view_order(view: JudgeView) -> list[int]:
    """Original answer index at each of the view's presented positions."""
    n = len(view.answers)
    return [view.to_original([1.0 if k == i else 0.0 for k in range(n)]).index(1.0)
            for i in range(n)]


def present(view: JudgeView, *, annotator: str, blind: bool = True, seed: str = "") -> Presentation:
    """The view as ``annotator`` sees it: answers shuffled per person and item when blind."""
    n = len(view.answers)
    perm = list(range(n))
    if blind:
        digest = hashlib.sha256(f"{seed}|{annotator}|{view.transcript_id}".encode()).digest()
        random.Random(digest).shuffle(perm)
    inverse = {p: j for j, p in enumerate(perm)}
    turns = [
        t.model_copy(update={"answer": inverse[t.answer]}) if t.answer is not None else t
        for t in view.turns
    ]
    shown = view.model_copy(update={"answers": [view.answers[p] for p in perm], "turns": turns})
    base = _view_order(view)
    return Presentation(view=shown, perm=perm, original=[base[p] for p in perm])


_NUMBER = re.compile(r"^\d+(\.\d*)?%?$|^\.\d+%?$")


def _number(token: str) -> float:
    if not _NUMBER.match(token):
        raise EntryError(f"{token!r} is not a number")
    return float(token.rstrip("%"))


def parse_entry(entry: str, n: int) -> list[float] | int:
    """Probabilities in shown order from what the person typed, or a bare letter's index.

    Raises :class:`EntryError` with a message for the person when the entry is invalid.
    """
    tokens = [t for t in re.split(r"[\s,;/]+", entry.strip()) if t]
    if not tokens:
        raise EntryError("nothing entered")
    letters = [answer_label(i) for i in range(n)]
    first = tokens[0].upper()
    if first.isalpha():
        if first not in letters:
            raise EntryError(f"{tokens[0]!r} is not an answer; choose one of {', '.join(letters)}")
        if len(tokens) == 1:
            return letters.index(first)
        if len(tokens) > 2:
            raise EntryError("after the letter give one confidence, e.g. A 80")
        return confidence_probabilities(letters.index(first), _number(tokens[1]), n)
    values = [_number(t) for t in tokens]
    if len(values) != n:
        example = " ".join(str(round(100 / n)) for _ in range(n))
        raise EntryError(f"give one number per answer ({n}), e.g. {example}")
    percent = any(t.endswith("%") for t in tokens) or sum(values) > 1.5
    total = sum(values)
    if percent and abs(total - 100) > 0.5:
        raise EntryError(f"your numbers add up to {total:g}; they must add up to 100")
    if not percent and abs(total - 1) > 0.005:
        raise EntryError(f"your numbers add up to {total:g}; they must add up to 1 (or 100)")
    return [v / total for v in values]


def confidence_probabilities(choice: int, confidence: float, n: int) -> list[float]:
    """``confidence`` (percent, or a fraction up to 1) on ``choice``; the rest shared evenly."""
    percent = confidence if confidence > 1 else confidence * 100
    floor = 100 / n
    if not floor <= percent <= 100:
        raise EntryError(f"confidence must be between {floor:g} and 100 (percent)")
    rest = (100 - percent) / (n - 1) / 100
    return [percent / 100 if i == choice else rest for i in range(n)]


class HumanJudge(Judge):
    """A person in the terminal: blinded, validated entries, timed, skippable."""

    def __init__(
        self,
        *,
        annotator: str,
        name: str = "human",
        console: Console | None = None,
        stream: TextIO | None = None,
        blind: bool = True,
        live: bool = False,
        seed: str = "",
    ) -> None:
        if not annotator.strip():
            raise ConfigError("a human judge needs the annotator's name (e.g. --annotator alice)")
        self.console = console or Console(highlight=False)
        self.stream = stream
        self.blind = blind
        self.live = live
        self.seed = seed
        self._identity = JudgeIdentity(kind="human", name=name, annotator=annotator.strip())
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
            return await _in_thread(lambda: self.judge_now(view))

    async def ask(self, view: JudgeView) -> str | None:
        """In live mode, show the turns so far and ask for a question; otherwise None."""
        if not self.live:
            return None
        async with self._lock:
            return await _in_thread(lambda: self.ask_now(view))

    # -- the terminal ------------------------------------------------------------------------

    def judge_now(
        self, view: JudgeView, *, progress: tuple[int, int] | None = None
    ) -> Judgment:
        """Show ``view``, read a valid entry and a reason, and return the judgment."""
        shown = present(view, annotator=self.annotator, blind=self.blind, seed=self.seed)
        title = f"Item {progress[0]} of {progress[1]}" if progress else "Judge this transcript"
        self.console.print(Rule(title))
        self.console.print(_render_view(shown.view))
        started = time.monotonic()
        entry, presented = self._read_probabilities(len(view.answers))
        metadata: dict[str, object] = {"presented_order": shown.original, "entry": entry}
        if presented is None:
            return Judgment(
                transcript_id=view.transcript_id, judge=self.identity, status="skipped",
                rounds_seen=view.rounds_shown, time_s=time.monotonic() - started,
                metadata=metadata)
        reason = self._read(REASON_PROMPT).strip()
        metadata["presented_probabilities"] = presented
        return Judgment(
            transcript_id=view.transcript_id, judge=self.identity,
            probabilities=view.to_original(shown.to_view_order(presented)), rationale=reason,
            rounds_seen=view.rounds_shown, time_s=time.monotonic() - started, metadata=metadata)

    def ask_now(self, view: JudgeView) -> str | None:
        """Show the debate so far and ask for a question (empty = none)."""
        shown = present(view, annotator=self.annotator, blind=self.blind, seed=self.seed)
        self.console.print(Rule(f"Live: after round {view.rounds_shown}"))
        self.console.print(_render_view(shown.view))
        question = self._read(QUESTION_PROMPT).strip()
        return question or None

    def _read_probabilities(self, n: int) -> tuple[str, list[float] | None]:
        """(what was typed, probabilities in shown order); None for a skip."""
        while True:
            entry = self._read(PROMPT).strip()
            command = entry.lower()
            if command in ("q", "quit"):
                raise HumanQuit(f"{self.annotator} quit")
            if command in ("s", "skip"):
                return entry, None
            try:
                parsed = parse_entry(entry, n)
                if isinstance(parsed, int):
                    label = answer_label(parsed)
                    more = self._read(f"Confidence in {label} ({100 / n:g}-100): ").strip()
                    entry = f"{label} {more}"
                    parsed = confidence_probabilities(parsed, _number(more), n)
            except EntryError as err:
                self.console.print(f"[bold red]Not accepted:[/bold red] {err}. Try again.")
                continue
            return entry, parsed

    def _read(self, prompt: str) -> str:
        """One line from the person; the end of input counts as quitting."""
        try:
            line = self.console.input(prompt, markup=False, stream=self.stream)
        except EOFError as err:
            raise HumanQuit("the terminal closed") from err
        if self.stream is not None and line == "":  # readline() gives "" only at the end
            raise HumanQuit("end of input")
        return line.rstrip("\n")


async def _in_thread(fn: Callable[[], T]) -> T:
    """Run blocking terminal input in a daemon thread (it never holds up interpreter exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def work() -> None:
        try:
            result = fn()
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
