"""Small terminal pieces a person-facing judge is built from (rich console, one line at a time).

Example::

    console = Console()
    show_view(console, view, title="Item 3 of 40")
    entry, shown = read_probabilities(console, len(view.answers))   # shown order; None = skip
    reason = read_line(console, REASON_PROMPT)

What a person types (see :func:`parse_entry`): a probability per answer in the order shown
(``70 30``, ``0.7 0.3``, ``70% 30%``; percentages add up to 100, fractions to 1), or a
letter and a confidence (``A 80``: 80% on A, the rest shared evenly; a letter alone asks
for the confidence; ``s`` there skips the item, the letter unsaved). ``s`` skips (then
:data:`SKIP_PROMPT` asks why), ``q`` quits
(:class:`~judges.HumanQuit`, as does the end of input). A bad entry is explained and asked again.

The person always sees the answers in the view's own presented order — the order the
protocol counterbalanced and the speakers were shown — so every letter in a speech, a
heading or a quote names the answer shown under that letter. (A second, per-person
shuffle would contradict the speeches: "Debater A (for A): answer B is correct".)
"""

from __future__ import annotations

import os
import re
import select
import sys
import threading
import weakref
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.rule import Rule

from judges._common import HumanQuit
from transcripts import JudgeView, answer_label
from transcripts import render_judge_view as _render_view

__all__ = [
    "PROMPT",
    "QUESTION_PROMPT",
    "REASON_PROMPT",
    "SKIP_PROMPT",
    "EntryError",
    "Interrupt",
    "confidence_probabilities",
    "parse_entry",
    "read_line",
    "read_probabilities",
    "show_view",
]

PROMPT = "Probabilities (e.g. 70 30) or letter + confidence (A 80); s skip, q quit: "
REASON_PROMPT = "Reason (optional, Enter to leave empty): "
SKIP_PROMPT = "Why skip? (optional, Enter to leave empty): "
QUESTION_PROMPT = "Your question for the speakers (Enter for none): "


class EntryError(ValueError):
    """An entry the person typed that is not a valid judgment; the message says why."""


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
        return confidence_probabilities(
            letters.index(first), _number(tokens[1]), n, percent=tokens[1].endswith("%")
        )
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


def confidence_probabilities(
    choice: int, confidence: float, n: int, *, percent: bool = False
) -> list[float]:
    """``confidence`` (percent, or a fraction up to 1 unless ``percent``: typed with a
    ``%``) on ``choice``; the rest shared evenly."""
    share = confidence if confidence > 1 or percent else confidence * 100
    floor = 100 / n
    if not floor <= share <= 100:
        raise EntryError(f"confidence must be between {floor:g} and 100 (percent)")
    rest = (100 - share) / (n - 1) / 100
    return [share / 100 if i == choice else rest for i in range(n)]


def show_view(console: Console, view: JudgeView, *, title: str) -> None:
    """A rule titled ``title``, then the view: question, answers, public turns."""
    console.print(Rule(escape(title)))
    console.print(_render_view(view))


class Interrupt:
    """Ctrl-C for prompts read in a thread other than the main one, which Python's Ctrl-C
    never reaches (an async runner reads a person's entries in a thread).

    The main thread's signal handler calls :meth:`set`; from then on the prompt showing, and
    every later one read with this interrupt, ends in :class:`KeyboardInterrupt`, as Ctrl-C
    ends a prompt read in the main thread (``oversight judge``), so the same rule follows
    (see :meth:`judges.human.HumanJudge.judge_now`).
    """

    def __init__(self) -> None:
        self._set = threading.Event()
        self._lock = threading.Lock()
        self._pipe: tuple[int, int] | None = None  # made when first needed: a wake-up for select

    @property
    def is_set(self) -> bool:
        """Whether :meth:`set` was called."""
        return self._set.is_set()

    def set(self) -> None:
        """End the prompt showing (if any) and every later one."""
        self._set.set()
        with self._lock:
            if self._pipe is not None:
                os.write(self._pipe[1], b"!")

    def check(self) -> None:
        """Raise :class:`KeyboardInterrupt` if set."""
        if self._set.is_set():
            raise KeyboardInterrupt

    def wait(self, file: TextIO) -> None:
        """Return once the terminal ``file`` has a line (or its end) to read; raise
        :class:`KeyboardInterrupt` if set first. Other files (a pipe, whose lines Python may
        already hold in its buffer) and other systems are read as they are."""
        self.check()
        try:
            fd = file.fileno()
        except (AttributeError, OSError, ValueError):
            return
        if os.name != "posix" or not os.isatty(fd):
            return
        with self._lock:
            if self._pipe is None:
                self._pipe = os.pipe()
                weakref.finalize(self, _close, *self._pipe)
                if self._set.is_set():
                    os.write(self._pipe[1], b"!")
            wake = self._pipe[0]
        select.select([fd, wake], [], [])
        self.check()


def _close(*fds: int) -> None:
    for fd in fds:
        os.close(fd)


def read_line(
    console: Console,
    prompt: str,
    *,
    stream: TextIO | None = None,
    interrupt: Interrupt | None = None,
) -> str:
    """One line from the person; the end of input counts as quitting (:class:`HumanQuit`).
    With ``interrupt``, the wait ends in :class:`KeyboardInterrupt` once it is set."""
    if interrupt is not None:
        interrupt.check()
        if stream is None:  # the prompt first, then wait for the line (or the interrupt)
            console.print(prompt, markup=False, end="")
            prompt = ""
            interrupt.wait(sys.stdin)
    try:
        line = console.input(prompt, markup=False, stream=stream)
    except EOFError as err:
        raise HumanQuit("the terminal closed") from err
    if stream is not None and line == "":  # readline() gives "" only at the end
        raise HumanQuit("end of input")
    return line.rstrip("\n")


def read_probabilities(
    console: Console,
    n: int,
    *,
    stream: TextIO | None = None,
    who: str = "the person",
    interrupt: Interrupt | None = None,
) -> tuple[str, list[float] | None]:
    """(what was typed, probabilities in shown order), asked until valid; None for a skip.

    ``s`` at the confidence prompt after a letter skips the item (the letter, never
    completed, is no verdict); what was typed is then ``"A s"``, so the record keeps both."""
    while True:
        entry = read_line(console, PROMPT, stream=stream, interrupt=interrupt).strip()
        if _skips(entry, who):
            return entry, None
        try:
            parsed = parse_entry(entry, n)
            if isinstance(parsed, int):
                label = answer_label(parsed)
                more = read_line(
                    console,
                    f"Confidence in {label} ({100 / n:g}-100): ",
                    stream=stream,
                    interrupt=interrupt,
                ).strip()
                if _skips(more, who):
                    # The prompt was still open: the skip counts, the letter was no verdict.
                    return f"{label} {more}", None
                entry = f"{label} {more}"
                parsed = confidence_probabilities(
                    parsed, _number(more), n, percent=more.endswith("%")
                )
        except EntryError as err:
            console.print(f"[bold red]Not accepted:[/bold red] {escape(str(err))}. Try again.")
            continue
        return entry, parsed


def _skips(entry: str, who: str) -> bool:
    """True for ``s`` (skip); raises :class:`~judges.HumanQuit` for ``q``."""
    command = entry.lower()
    if command in ("q", "quit"):
        raise HumanQuit(f"{who} quit")
    return command in ("s", "skip")
