"""MMLU (Hendrycks et al., 2021): four-choice questions in 57 subjects, as CSV or parquet.

Accepted files:

* the original CSVs (``data/test/<subject>_test.csv``): no header, columns question, four
  answers, answer letter; the subject comes from the file name;
* a folder of those CSVs (every ``*.csv`` in it, sorted);
* CSVs with a header ``question,A,B,C,D,answer[,subject]``;
* parquet files as published on the Hugging Face hub (``question``, ``subject``,
  ``choices``, ``answer`` as an index); reading parquet needs ``pyarrow``
  (``pip install 'oversight[export]'``).

The subject is the cluster key. There is no hidden context.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from oversight.datasets._common import DatasetOptions, keep_answers, resolve
from transcripts import Question
from transcripts.errors import DatasetError

__all__ = ["MMLUSpec", "load"]

_LETTERS = "ABCD"


class MMLUSpec(DatasetOptions):
    """``loader = "mmlu"``: MMLU as CSV file(s), a folder of CSVs, or parquet."""

    loader: Literal["mmlu"] = "mmlu"
    """Which loader reads the dataset."""
    path: Path
    """A CSV file, a folder of ``<subject>_<split>.csv`` files, or a parquet file."""
    subjects: list[str] | None = None
    """Keep only these subjects (e.g. ``college_physics``); None keeps all."""


def load(spec: MMLUSpec, base_dir: Path | None = None) -> list[Question]:
    """Every question in the chosen subjects."""
    path = resolve(spec.path, base_dir, "mmlu")
    files = sorted(path.glob("*.csv")) + sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise DatasetError(f"{path}: folder holds no .csv or .parquet files")
    questions = []
    for file in files:
        rows = _parquet_rows(file) if file.suffix == ".parquet" else _csv_rows(file)
        for index, (subject, text, answers, correct) in enumerate(rows):
            if spec.subjects is not None and subject not in spec.subjects:
                continue
            question = Question(
                id=f"{subject}-{file.stem}-{index}",
                text=text,
                answers=answers,
                correct=correct,
                source=subject,
                dataset="mmlu",
                metadata={"subject": subject},
            )
            questions.append(keep_answers(question, spec.answers, seed=spec.seed))
    return questions


Row = tuple[str, str, list[str], int]


def _subject_from_name(file: Path) -> str:
    stem = file.stem
    for split in ("_test", "_dev", "_val", "_validation", "_train", "_auxiliary_train"):
        if stem.endswith(split):
            return stem[: -len(split)]
    return stem


def _letter(value: str, file: Path, number: int) -> int:
    value = value.strip()
    if len(value) == 1 and value.upper() in _LETTERS:
        return _LETTERS.index(value.upper())
    if value.isdecimal() and int(value) < 4:
        return int(value)
    raise DatasetError(f"{file}:{number}: answer {value!r} is not a letter A-D or an index 0-3")


def _csv_rows(file: Path) -> Iterator[Row]:
    """The file's questions; blank lines are skipped, and a problem names the line its row
    ends on (the original files' questions span lines)."""
    with open(file, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        rows: Iterator[tuple[int, list[str]]] = (
            (reader.line_num, row) for row in reader if any(c.strip() for c in row)
        )
        first = next(rows, None)
        if first is None:
            return
        names = [c.strip() for c in first[1]]
        if "question" not in [n.lower() for n in names]:  # the original files: no header
            names = ["question", "A", "B", "C", "D", "answer"]
            rows = itertools.chain([first], rows)
        cols = {name.lower(): i for i, name in reversed(list(enumerate(names)))}
        missing = [n for n in ("question", "a", "b", "c", "d", "answer") if n not in cols]
        if missing:
            raise DatasetError(f"{file}: header lacks column(s) {', '.join(missing)}")
        for number, row in rows:
            if len(row) != len(names):
                raise DatasetError(
                    f"{file}:{number}: expected {len(names)} columns ({', '.join(names)}), "
                    f"got {len(row)}"
                )
            subject = row[cols["subject"]] if "subject" in cols else _subject_from_name(file)
            yield (
                subject,
                row[cols["question"]].strip(),
                [row[cols[c]].strip() for c in "abcd"],
                _letter(row[cols["answer"]], file, number),
            )


def _parquet_rows(file: Path) -> Iterator[Row]:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise DatasetError(
            f"{file}: reading parquet needs pyarrow: pip install 'oversight[export]'"
        ) from err
    table: Any = pq.read_table(file)
    missing = [c for c in ("question", "choices", "answer") if c not in table.column_names]
    if missing:
        raise DatasetError(f"{file}: parquet lacks column(s) {', '.join(missing)}")
    for number, row in enumerate(table.to_pylist(), start=1):
        subject = str(row.get("subject") or _subject_from_name(file))
        correct = _letter(str(row["answer"]), file, number)
        answers = [str(c).strip() for c in row["choices"]]
        yield subject, str(row["question"]).strip(), answers, correct
