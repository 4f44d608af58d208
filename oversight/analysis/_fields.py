"""Fields to group and filter by (``--by``, ``--where``).

A field name resolves, per judgment, in this order:

1. a built-in field: ``condition``, ``protocol``, ``run_id``, ``repeat``,
   ``transcript_status`` (of the transcript); ``question``, ``source``, ``dataset`` (of its
   question); ``gold_position`` (presented position of the gold answer, 0 = first) and
   ``side`` (``correct`` / ``incorrect`` when a single consultant was assigned an answer);
   ``chooser`` (``right`` / ``wrong``: whether the first speaker to choose in an open
   variant chose the gold); ``persona`` (the planted persona that spoke in the transcript,
   None when benign); and
   ``judge`` (the judge's name), ``judge_kind``, ``judge_model``, ``annotator`` (of the
   judgment);
2. the transcript's ``metadata`` (e.g. ``setting``, ``included_in_paper`` of imported data);
3. the question's ``metadata``;
4. the judgment's ``metadata``.

A prefix picks one place explicitly: ``metadata.KEY`` (transcript), ``question.KEY``,
``judgment.KEY``. A judgment that lacks a field has the value None.

``--where FIELD=VALUE`` keeps judgments whose field equals VALUE, ``FIELD!=VALUE`` those whose
field differs. VALUE is read as JSON-ish: ``true``/``false`` match booleans (and the strings
"true"/"false" in any case), ``null``/``none`` match a missing field, numbers match numbers;
any value also matches a field whose text is exactly VALUE (so ``question=7`` finds the
question with id ``"7"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from oversight.analysis._data import Data, JudgeRow
from oversight.analysis._types import Bools, Ints
from transcripts import JudgeIdentity
from transcripts.errors import ConfigError
from transcripts.filters import TRANSCRIPT_FIELDS, Where, canonical, parse_where

__all__ = [
    "BUILTIN_FIELDS",
    "Where",
    "field_codes",
    "judgment_passes",
    "parse_where",
    "where_mask",
]


_TRANSCRIPT_FIELDS = set(TRANSCRIPT_FIELDS)  # the one list, shared with `show` / `rejudge`
_JUDGMENT_FIELDS = {"judge", "judge_kind", "judge_model", "annotator"}
BUILTIN_FIELDS = tuple(sorted(_TRANSCRIPT_FIELDS | _JUDGMENT_FIELDS))
"""Names that resolve before any metadata key."""

_MISSING = object()


_SPECIAL = {"transcript_status", "question", "source", "dataset", "gold_position", "side"}
_ATTRIBUTES = _TRANSCRIPT_FIELDS - _SPECIAL - {"chooser", "persona"}  # the rest of the ifs
"""The transcript fields that :func:`_transcript_value` reads as the row's attribute."""


def _transcript_value(data: Data, i: int, name: str) -> Any:
    t = data.transcripts[i]
    if name == "transcript_status":
        return t.status
    if name == "question":
        return t.question.id
    if name in ("source", "dataset"):
        return getattr(t.question, name)
    if name == "gold_position":
        position = int(data.t_gold_position[i])
        return position if position >= 0 else None
    if name == "side":
        return {1: "correct", 0: "incorrect"}.get(int(data.t_side[i]))
    if name == "chooser":  # open variants: did the first to choose take the gold?
        first, gold = t.metadata.get("first_choice"), t.question.correct
        return None if first is None or gold is None else ("right" if first == gold else "wrong")
    if name == "persona":
        return t.planted.get("persona") if t.planted else None
    return getattr(t, name)


def _judge_value(judge: JudgeIdentity | JudgeRow, name: str) -> Any:
    return {
        "judge": judge.name,
        "judge_kind": judge.kind,
        "judge_model": judge.model,
        "annotator": judge.annotator,
    }[name]


_canonical = canonical


def _encode(values: list[Any]) -> tuple[Ints, list[Any]]:
    codes: dict[str, int] = {}
    uniques: list[Any] = []
    out = []  # a list: a numpy array written one element at a time costs more
    for v in values:
        key = v if type(v) is str else "\x00" + _canonical(v)
        code = codes.get(key)
        if code is None:
            code = codes[key] = len(uniques)
            uniques.append(v)
        out.append(code)
    return np.array(out, dtype=np.int64), uniques


def field_codes(data: Data, name: str) -> tuple[Ints, list[Any]]:
    """Per row, a code of the field's value; and the value of each code (None = missing).
    Computed once per field and ``data`` (the codes come back read-only)."""
    found = data.field_cache.get(name)
    if found is None:
        codes, uniques = _field_codes(data, name)
        codes.flags.writeable = False
        found = data.field_cache[name] = (codes, uniques)
    return found[0], list(found[1])


def _field_codes(data: Data, name: str) -> tuple[Ints, list[Any]]:
    prefix, _, key = name.partition(".")
    if not key:
        prefix, key = "", name
    if prefix not in ("", "metadata", "question", "judgment"):
        prefix, key = "", name  # a dotted metadata key such as "a.b"
    if not prefix and name in _TRANSCRIPT_FIELDS:
        per_t = (
            [getattr(t, name) for t in data.transcripts]  # a plain attribute: read at once
            if name in _ATTRIBUTES
            else [_transcript_value(data, i, name) for i in range(len(data.transcripts))]
        )
        t_codes, uniques = _encode(per_t)
        return t_codes[data.t], uniques
    if not prefix and name in _JUDGMENT_FIELDS:
        # Each distinct judge (Data.judge_code) is read and encoded once, in the order of
        # first appearance (so the codes are those of encoding every row).
        # Judge k first appears where the running maximum of the numbers first reaches k.
        rises = np.diff(np.maximum.accumulate(data.judge_code), prepend=-1) > 0
        first = [data.judge[r] for r in np.flatnonzero(rises).tolist()]
        codes, uniques = _encode([_judge_value(j, name) for j in first])
        return codes[data.judge_code], uniques

    lookups: list[Callable[[int], Any]] = []
    if prefix in ("", "metadata"):
        lookups.append(lambda r: data.transcripts[data.t[r]].metadata.get(key, _MISSING))
    if prefix in ("", "question"):
        lookups.append(lambda r: data.transcripts[data.t[r]].question.metadata.get(key, _MISSING))
    if prefix in ("", "judgment"):
        lookups.append(lambda r: data.judgment_metadata[r].get(key, _MISSING))
    values: list[Any] = []
    found = False
    for r in range(data.t.size):
        value: Any = _MISSING
        for lookup in lookups:
            value = lookup(r)
            if value is not _MISSING:
                found = True
                break
        values.append(None if value is _MISSING else value)
    if not found and data.t.size:
        raise ConfigError(f"unknown field {name!r}: {_known_fields(data)}")
    return _encode(values)


def _known_fields(data: Data) -> str:
    keys: set[str] = set()
    for t in data.transcripts[:2000]:
        keys.update(t.metadata)
        keys.update(t.question.metadata)
    return (
        f"use a built-in field ({', '.join(BUILTIN_FIELDS)}) or a metadata key of this run "
        f"({', '.join(sorted(keys)) or 'none found'})"
    )


def judgment_passes(
    wheres: Sequence[Where],
    data: Data,
    transcript_id: str,
    judge: JudgeIdentity | JudgeRow,
    metadata: Mapping[str, Any],
) -> bool:
    """Whether one judgment (of the transcript ``transcript_id``, by ``judge``, with its
    ``metadata``) passes every ``where``, a field resolving as in :func:`field_codes`; a
    transcript not in ``data`` (e.g. an attention-check item) has no transcript fields."""
    i = _transcript_index(data).get(transcript_id)
    for where in wheres:
        name = where.field
        prefix, _, key = name.partition(".")
        if not key or prefix not in ("metadata", "question", "judgment"):
            prefix, key = "", name
        value: Any = _MISSING
        if not prefix and name in _TRANSCRIPT_FIELDS:
            value = None if i is None else _transcript_value(data, i, name)
        elif not prefix and name in _JUDGMENT_FIELDS:
            value = _judge_value(judge, name)
        else:
            t = None if i is None else data.transcripts[i]
            places = [
                t.metadata if t and prefix in ("", "metadata") else {},
                t.question.metadata if t and prefix in ("", "question") else {},
                metadata if prefix in ("", "judgment") else {},
            ]
            value = next((p[key] for p in places if key in p), None)
        if not where.accepts(value):
            return False
    return True


def _transcript_index(data: Data) -> dict[str, int]:
    return {t.id: i for i, t in enumerate(data.transcripts)}


def where_mask(where: Where, data: Data) -> Bools:
    """Per row, whether the row passes ``where`` (matching rules: :mod:`transcripts.filters`)."""
    codes, uniques = field_codes(data, where.field)
    ok = np.array([where.accepts(v) for v in uniques], dtype=bool)
    return ok[codes] if codes.size else np.zeros(0, dtype=bool)
