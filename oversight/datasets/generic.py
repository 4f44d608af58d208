"""Any JSON Lines or CSV file of multiple-choice questions, with a field mapping.

With the default mapping, a JSONL line reads::

    {"id": "q1", "question": "...", "answers": ["...", "..."], "correct": 0,
     "context": "...", "source": "story-3"}

and ``[dataset.fields]`` renames any of them (dotted names reach into nested JSON objects).
In CSV files, ``answers`` names either several columns (a list) or one column whose cells
separate the answers with ``answers_separator``. The gold answer may be given as a 0-based
index, a 1-based index, a letter or the answer's text (``correct_format``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from oversight.datasets._common import DatasetOptions, csv_records, keep_answers, resolve
from transcripts import Question
from transcripts.errors import DatasetError

__all__ = ["FieldMap", "GenericSpec", "NamedFields", "load"]


class FieldMap(BaseModel):
    """Which field of a record holds each part of a question."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = "id"
    """Field of the question id; None (or a missing field) numbers the records."""
    text: str = "question"
    """Field of the question text."""
    answers: str | list[str] = "answers"
    """Field holding the list of answers, or a list of fields, one per answer."""
    correct: str | None = "correct"
    """Field of the gold answer; None when the file has no gold."""
    context: str | None = "context"
    """Field of the hidden context (a story, an article); None for none."""
    source: str | None = "source"
    """Field of the cluster key (e.g. the story id); None makes each question its own cluster."""
    given_answer: str | None = "given_answer"
    """Field of an answer to critique (``{answer, justification, flawed, flaw}``, the answer as
    its text or 0-based index), kept in ``metadata["given_answer"]`` for critique with
    ``target = "given"``; None, or a missing field, for none."""


class GenericSpec(DatasetOptions):
    """``loader = "jsonl"`` or ``"csv"``: your own file, with a field mapping."""

    loader: Literal["jsonl", "csv"]
    """Which loader reads the dataset."""
    path: Path
    """The JSON Lines or CSV file."""
    fields: FieldMap = FieldMap()
    """Where each part of a question is (see :class:`FieldMap`)."""
    correct_format: Literal["auto", "index", "index1", "letter", "text"] = "auto"
    """How the gold is written: 0-based index, 1-based index, letter, the answer's text, or
    ``auto`` (an integer is a 0-based index, one capital letter a letter, else text)."""
    answers_separator: str = "|"
    """In CSV files, separator of the answers when ``fields.answers`` names one column."""
    name: str | None = None
    """Dataset name recorded on each question (default: the file name without suffix)."""


def load(spec: GenericSpec, base_dir: Path | None = None) -> list[Question]:
    """Every record of the file, as questions."""
    path = resolve(spec.path, base_dir, spec.loader)
    questions = []
    named = NamedFields(spec.fields, spec.fields.model_fields_set)
    first: dict[str, int] = {}  # question id -> the line it was first given on
    for line, number, record in _records(path, spec.loader):
        named.see(record)
        try:
            question = _question(record, spec, path, number)
        except ValidationError as err:
            problems = "; ".join(_problem(e, spec.fields) for e in err.errors())
            raise DatasetError(f"{path}:{line}: {problems}") from None
        except (KeyError, ValueError, TypeError) as err:
            raise DatasetError(f"{path}:{line}: {err}; check dataset.fields") from err
        if question.id in first:
            raise DatasetError(
                f"{path}:{line}: question id {question.id!r} again (first at line "
                f"{first[question.id]}); give each question its own id"
            )
        first[question.id] = line
        questions.append(keep_answers(question, spec.answers, seed=spec.seed))
    named.check(str(path))
    return questions


class NamedFields:
    """The optional fields a mapping names on purpose (``given``), each until a record has
    a value for it: one that no record has is a typo, not a file without gold, context or
    sources (which would load, and mean nothing)."""

    def __init__(self, fields: FieldMap, given: Iterable[str]) -> None:
        optional = ("id", "correct", "context", "source", "given_answer")
        self.unseen = {
            key: getattr(fields, key)
            for key in optional
            if key in set(given) and getattr(fields, key) is not None
        }
        self.first: dict[str, Any] | None = None

    def see(self, record: dict[str, Any]) -> None:
        """Note the fields ``record`` has a value for."""
        self.first = record if self.first is None else self.first
        for key, field in list(self.unseen.items()):
            if _optional(record, field) is not None:
                del self.unseen[key]

    def check(self, where: str) -> None:
        """Refuse, naming them, the fields no record had (once every record was seen)."""
        if self.unseen and self.first is not None:
            missing = "; ".join(f"dataset.fields.{k} = {f!r}" for k, f in self.unseen.items())
            raise DatasetError(
                f"{where}: no record has a value for {missing}; the records' fields are "
                f"{', '.join(self.first)} (check the spelling, or leave the key out)"
            )


def _records(path: Path, loader: str) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """Each record with its line and its number (which names a record without an id)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        if loader == "csv":
            yield from csv_records(path, csv.DictReader(f))
            return
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                if line.lstrip().startswith("["):
                    raise DatasetError(_array(path, number)) from None
                raise DatasetError(f"{path}:{number}: not valid JSON ({err.msg})") from err
            if isinstance(record, list):
                raise DatasetError(_array(path, number))
            if not isinstance(record, dict):
                raise DatasetError(f"{path}:{number}: expected a JSON object per line")
            yield number, number, record


def _array(path: Path, number: int) -> str:
    return (
        f"{path}:{number}: this looks like a JSON array ([{{...}}, {{...}}]); JSON Lines needs "
        f"one object per line, with no brackets or commas between them: write its objects "
        f"one per line into a new file and give that as dataset.path (e.g. jq -c '.[]' "
        f"{path.name} > {path.stem}.lines.jsonl)"
    )


def _problem(error: Any, fields: FieldMap) -> str:
    """A question's problem, named by the record's field it came from."""
    message = str(error["msg"]).removeprefix("Value error, ")
    key = error["loc"][0] if error["loc"] else None
    named = getattr(fields, key, None) if isinstance(key, str) else None
    if key == "answers" and error["type"] == "too_short":
        count = error["ctx"]["actual_length"]
        where = f"field {named!r}" if isinstance(named, str) else f"fields {named}"
        return f"{where} has {count} answer{'' if count == 1 else 's'}; a question needs at least 2"
    return f"field {named!r}: {message}" if isinstance(named, str) else message


def _get(record: dict[str, Any], field: str) -> Any:
    value: Any = record
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"no field {field!r} in the record (fields: {', '.join(record)})")
        value = value[part]
    return value


def _required(record: dict[str, Any], field: str) -> Any:
    """The record's value of ``field``, which must have one (not null, not a cell missing
    from a short CSV row): read as text it would be "None"."""
    value = _get(record, field)
    if value is None:
        raise ValueError(
            f"field {field!r} has no value (null, or a cell missing from a row shorter than "
            f"the header)"
        )
    return value


def _optional(record: dict[str, Any], field: str | None) -> Any:
    if field is None:
        return None
    try:
        value = _get(record, field)
    except KeyError:
        return None
    return None if value in ("", None) else value


def _question(record: dict[str, Any], spec: GenericSpec, path: Path, number: int) -> Question:
    fields = spec.fields
    if isinstance(fields.answers, list):
        answers = [str(_required(record, f)).strip() for f in fields.answers]
    else:
        raw = _required(record, fields.answers)
        if isinstance(raw, str):
            raw = raw.split(spec.answers_separator)
        if not isinstance(raw, list):
            raise ValueError(f"field {fields.answers!r} is not a list of answers")
        if None in raw:
            raise ValueError(f"answer {raw.index(None)} is empty (null)")
        answers = [str(a).strip() for a in raw]
    qid = _optional(record, fields.id)
    gold = _optional(record, fields.correct)
    return Question(
        id=str(qid) if qid is not None else f"{path.stem}-{number}",
        text=str(_required(record, fields.text)).strip(),
        answers=answers,
        correct=None if gold is None else _correct(gold, answers, spec.correct_format),
        context=_str_or_none(_optional(record, fields.context)),
        source=_str_or_none(_optional(record, fields.source)),
        dataset=spec.name or path.stem,
        metadata=_given(record, fields.given_answer),
    )


def _given(record: dict[str, Any], field: str | None) -> dict[str, Any]:
    """The record's answer to critique, as question metadata (checked by the protocol)."""
    given = _optional(record, field)
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise ValueError(f"field {field!r} is not an object {{answer, justification, ...}}")
    return {"given_answer": given}


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _correct(value: Any, answers: list[str], fmt: str) -> int:
    text = str(value).strip()
    if fmt == "auto":
        if _whole(value, text) is not None:
            fmt = "index"
        elif len(text) == 1 and text.isupper():
            fmt = "letter"
        else:
            fmt = "text"
        read = _correct(value, answers, fmt)
        if isinstance(value, str) and text in answers and answers.index(text) != read:
            raise ValueError(
                f"gold {value!r} is answer {answers.index(text)}'s text but, read as "
                f"{'an index' if fmt == 'index' else 'a letter'}, answer {read}: say which "
                f"with dataset.correct_format (text, index, index1 or letter)"
            )
        return read
    if fmt in ("index", "index1"):
        number = _whole(value, text)
        if number is None:
            raise ValueError(
                f"gold {value!r} is not a whole number, as correct_format = {fmt!r} reads it; "
                f"set dataset.correct_format to what the file holds (index, index1, letter, "
                f"text or auto)"
            )
        return number - (fmt == "index1")
    if fmt == "letter":
        if len(text) != 1 or not text.isalpha():
            raise ValueError(f"gold {value!r} is not a letter")
        return ord(text.upper()) - ord("A")
    if text not in answers:
        raise ValueError(f"gold {value!r} is not one of the answers {answers}")
    return answers.index(text)


def _whole(value: Any, text: str) -> int | None:
    """``value`` as a whole number (``2``, ``"2"``, ``2.0`` as pandas writes an integer
    column with gaps), or None (``True`` is not a number here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, int):
        return value
    return int(text) if text.lstrip("-").isdecimal() else None
