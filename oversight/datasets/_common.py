"""What every dataset loader shares: the common options, selection, answer reduction."""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from transcripts import Question
from transcripts._validation import Integer
from transcripts.errors import DatasetError

__all__ = ["DatasetOptions", "csv_records", "keep_answers", "resolve", "rng_for", "select"]


class DatasetOptions(BaseModel):
    """Options every loader accepts; each loader adds its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: Integer | None = Field(default=None, ge=1)
    """Most questions to keep, after every filter (None = all)."""
    shuffle: bool = False
    """Shuffle the questions (seeded by ``seed``) before ``max_per_source`` and ``limit``."""
    seed: Integer = 0
    """Seed of the shuffle and of any random answer choice."""
    max_per_source: Integer | None = Field(default=None, ge=1)
    """Most questions per source (QuALITY article, MMLU subject, story), in order."""
    ids: list[str] | None = None
    """Keep only these question ids (None = all)."""
    answers: Integer | None = Field(default=None, ge=2)
    """Keep this many answers per question: the gold and the strongest distractors
    (the annotators' best distractor where the dataset records one, otherwise seeded
    random ones). None keeps all. Two gives the binary questions debate papers use."""


def rng_for(*parts: object) -> random.Random:
    """A random generator seeded by ``parts`` (stable across processes and machines)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def resolve(path: Path | None, base_dir: Path | None, loader: str) -> Path:
    """The dataset file, relative paths read from ``base_dir`` (the experiment file's folder)."""
    if path is None:
        raise DatasetError(f"the {loader} loader needs a path: set dataset.path to the local file")
    full = path if path.is_absolute() or base_dir is None else base_dir / path
    if not full.exists():
        raise DatasetError(
            f"dataset file {full} does not exist: download it once (oversight never downloads "
            f"at run time) and point dataset.path at it"
        )
    return full


def csv_records(
    path: Path, reader: csv.DictReader[str]
) -> Iterator[tuple[int, int, dict[str, str | None]]]:
    """The rows of ``reader`` (of the CSV file at ``path``, with a header row), each with
    the line it ends on (cells that span lines counted) and its number among the rows (2
    for the first, as the ids of unnamed records have always counted). A row of empty
    cells (a spreadsheet's trailing rows) is skipped like a blank line; a row with more
    cells than the header is a :class:`DatasetError` naming its line (a cell would be
    lost). A shorter row has None for the cells it lacks, which a loader may need."""
    for number, row in enumerate(reader, start=2):
        extra = row.pop(None, None) or []  # type: ignore[call-overload]
        if not any(cell.strip() for cell in [*row.values(), *extra] if cell is not None):
            continue
        if extra:
            raise DatasetError(
                f"{path}:{reader.line_num}: {len(row) + len(extra)} cells where the header "
                f"has {len(reader.fieldnames or ())}; fix the row (a cell holding a comma or "
                f"a line break must be in double quotes)"
            )
        yield reader.line_num, number, row


def keep_answers(
    question: Question,
    keep: int | None,
    *,
    seed: int,
    preferred: Iterable[int] = (),
    shuffle: bool = False,
) -> Question:
    """``question`` with only ``keep`` answers: the gold, then ``preferred`` distractors.

    Remaining distractor slots are filled at random (seeded by the question id). With
    ``shuffle`` the kept answers are put in a seeded random order (for datasets whose files
    list the gold first); otherwise they keep their original relative order.
    """
    n = len(question.answers)
    chosen = list(range(n))
    rng = rng_for("answers", seed, question.id)
    if keep is not None and keep < n:
        if question.correct is None:
            raise DatasetError(
                f"question {question.id!r} has no gold answer, so its answers cannot be cut "
                f"to {keep}; drop dataset.answers or use a split with gold labels"
            )
        distractors = [i for i in dict.fromkeys(preferred) if i != question.correct and 0 <= i < n]
        others = [i for i in range(n) if i != question.correct and i not in distractors]
        rng.shuffle(others)
        chosen = sorted([question.correct, *(distractors + others)[: keep - 1]])
    if shuffle:
        rng.shuffle(chosen)
    if chosen == list(range(n)):
        return question
    return question.model_copy(
        update={
            "answers": [question.answers[i] for i in chosen],
            "correct": chosen.index(question.correct) if question.correct is not None else None,
        }
    )


def select(questions: Iterable[Question], options: DatasetOptions) -> list[Question]:
    """Apply ``ids``, ``shuffle``, ``max_per_source`` and ``limit``, in that order."""
    selected = list(questions)
    seen: set[str] = set()
    for q in selected:
        if q.id in seen:
            raise DatasetError(
                f"question id {q.id!r} occurs twice in the {q.dataset or 'dataset'} questions; "
                f"ids must be unique: give each question its own id, or point dataset.fields.id "
                f"at a field that is unique"
            )
        seen.add(q.id)
    if options.ids is not None:
        wanted = set(options.ids)
        missing = sorted(wanted - seen)
        if missing:
            raise DatasetError(
                f"dataset.ids names questions the dataset does not have: {', '.join(missing[:5])}"
            )
        selected = [q for q in selected if q.id in wanted]
    if options.shuffle:
        rng_for("shuffle", options.seed).shuffle(selected)
    if options.max_per_source is not None:
        per_source: dict[str | None, int] = {}
        capped = []
        for q in selected:
            count = per_source.get(q.source, 0)
            if count < options.max_per_source:
                capped.append(q)
                per_source[q.source] = count + 1
        selected = capped
    if options.limit is not None:
        selected = selected[: options.limit]
    return selected
