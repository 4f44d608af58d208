"""What the run store's index tests share: a run of debates on a few long stored questions, and
the rows an index holds on disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from transcripts import RunStore, Transcript

from .factories import GOLD_CONTEXT, debate, question

STORY = GOLD_CONTEXT + " " + "A long hidden story that must not be copied. " * 200


def _rows(index: Path) -> list[tuple[int, int, str, str | None]]:
    """The index's rows as stored on disk: offset, length, id, status."""
    with sqlite3.connect(index) as db:
        return list(db.execute("SELECT offset, length, id, status FROM entries ORDER BY offset"))


def _write(store: RunStore, n: int, *, questions: int = 2) -> list[Transcript]:
    written = []
    shared = [question(id=f"q{k}", context=STORY + str(k)) for k in range(questions)]
    for i in range(n):
        t = debate(
            id=f"t{i:03d}", question=shared[i % questions], status="complete" if i % 5 else "error"
        )
        store.transcripts.append(t)
        written.append(t)
    return written
