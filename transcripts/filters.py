"""``FIELD=VALUE`` filters — the ``--where`` of ``report``, ``show`` and ``rejudge`` — parsed
and matched in one place, so every command selects the same records for the same clause.

VALUE is compared with the field's value as follows: ``true``/``false`` match booleans
(and the strings ``true``/``false`` in any case); numbers match numerically (``1`` matches
``1.0``); ``null`` or ``none`` (or nothing) matches a missing field or null; text matches
text exactly; lists and objects match their JSON (keys sorted). ``FIELD!=VALUE`` negates.

:data:`TRANSCRIPT_FIELDS` are the built-in fields of a transcript, known by name to every
command that filters or groups transcripts (``report``, ``show``, ``rejudge``); any other
name is a metadata key.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from transcripts.errors import ConfigError

if TYPE_CHECKING:
    from transcripts._models import Transcript
    from transcripts._store import RunStore

__all__ = [
    "MISSING",
    "TRANSCRIPT_FIELDS",
    "Where",
    "canonical",
    "check_conditions",
    "parse_where",
    "transcript_field",
    "value_matches",
]

MISSING: Any = object()
"""Stands for a field a record does not have (matched like null)."""


TRANSCRIPT_FIELDS: dict[str, str] = {
    "condition": "the condition's label",
    "protocol": "the protocol's name",
    "run_id": "the run session that wrote the transcript",
    "repeat": "the repeat number (0 on)",
    "transcript_status": "the transcript's status (complete, failed, ...)",
    "question": "the question's id",
    "source": "the question's source (e.g. the story it is about)",
    "dataset": "the question's dataset",
    "gold_position": "presented position of the gold answer, 0 = first",
    "side": "correct / incorrect, when a single consultant was assigned an answer",
    "chooser": "right / wrong: whether the first speaker to choose (open variants) chose the gold",
    "persona": "the planted persona that spoke in the transcript; None when benign",
}
"""The built-in fields of a transcript, by name, with what each holds; resolved before any
metadata key of the same name (:func:`transcript_field` reads them)."""


def transcript_field(t: Transcript, name: str) -> Any:
    """The value of the built-in field ``name`` (a key of :data:`TRANSCRIPT_FIELDS`) of ``t``;
    None where the transcript has none (no gold answer, no planted persona, ...)."""
    q = t.question
    if name == "transcript_status":
        return t.status
    if name == "question":
        return q.id
    if name in ("source", "dataset"):
        return getattr(q, name)
    if name == "gold_position":
        return None if q.correct is None else t.order.index(q.correct)
    if name == "side":
        if q.correct is None or len(t.assignment) != 1:
            return None
        return "correct" if next(iter(t.assignment.values())) == q.correct else "incorrect"
    if name == "chooser":
        first = t.metadata.get("first_choice")
        return (
            None
            if first is None or q.correct is None
            else ("right" if first == q.correct else "wrong")
        )
    if name == "persona":
        return t.planted.persona if t.planted is not None else None
    if name not in TRANSCRIPT_FIELDS:
        raise KeyError(f"{name!r} is not a built-in transcript field")
    return getattr(t, name)


def canonical(value: Any) -> str:
    """The JSON text of ``value`` with sorted keys (how lists and objects are compared)."""
    return json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True)
class Where:
    """One filter: ``field`` equals (or, with ``negate``, differs from) ``value``."""

    field: str
    value: str
    negate: bool = False

    def accepts(self, value: Any) -> bool:
        """Whether a record whose field holds ``value`` (or :data:`MISSING`) passes."""
        return value_matches(value, self.value) != self.negate

    def __str__(self) -> str:
        return f"{self.field}{'!=' if self.negate else '='}{self.value}"


def parse_where(clauses: Iterable[str] | Mapping[str, Any] | None) -> list[Where]:
    """Filters from ``FIELD=VALUE`` / ``FIELD!=VALUE`` strings or a ``{field: value}`` map."""
    if not clauses:
        return []
    if isinstance(clauses, Mapping):
        return [
            Where(k, v if isinstance(v, str) else "null" if v is None else canonical(v))
            for k, v in clauses.items()
        ]
    wheres = []
    for clause in clauses:
        negate = "!=" in clause
        name, sep, value = clause.partition("!=" if negate else "=")
        if not sep or not name.strip():
            raise ConfigError(f"--where {clause!r}: write FIELD=VALUE or FIELD!=VALUE")
        wheres.append(Where(name.strip(), value.strip(), negate))
    return wheres


@functools.lru_cache(maxsize=256)
def _coerce(raw: str) -> Any:
    """The clause text as the value it stands for (a clause's text is matched against every
    record, so each is read once)."""
    low = raw.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none"):
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def value_matches(value: Any, raw: str) -> bool:
    """Whether a field holding ``value`` matches the clause text ``raw`` (see the module)."""
    coerced = _coerce(raw)
    if value is MISSING or value is None:
        return coerced is None or raw.strip() == ""
    if isinstance(coerced, bool):
        if isinstance(value, bool):
            return value is coerced
        if isinstance(value, str):
            return value.strip().lower() == raw.strip().lower()
        return False
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and isinstance(coerced, int | float) and not isinstance(coerced, bool):
        return bool(value == coerced)
    if isinstance(value, str):
        return value == raw
    return canonical(value) == raw or str(value) == raw


def check_conditions(
    store: RunStore, conditions: Sequence[str], *, present: Iterable[str] | None = None
) -> None:
    """Refuse a condition the run lacks, naming the ones it has: those of the transcripts
    index (no record is read; every record counts, an earlier record of an id too), or
    ``present`` where a command names its groups otherwise. An empty run refuses nothing."""
    known = sorted(
        set(present) if present is not None else {c for (c,) in store.transcripts.index_values("c")}
    )
    unknown = [c for c in conditions if c not in known]
    if unknown and known:
        raise ConfigError(
            f"--condition {', '.join(map(repr, unknown))}: no such condition in this run; "
            f"its conditions: {', '.join(known)} (in an experiment file: [[conditions]] "
            f'label = "...")'
        )
