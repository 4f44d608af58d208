"""``FIELD=VALUE`` filters — the ``--where`` of ``report``, ``show`` and ``rejudge`` — parsed
and matched in one place, so every command selects the same records for the same clause.

VALUE is compared with the field's value as follows: ``true``/``false`` match booleans
(and the strings ``true``/``false`` in any case); numbers match numerically (``1`` matches
``1.0``); ``null`` or ``none`` (or nothing) matches a missing field or null; text matches
text exactly; lists and objects match their JSON (keys sorted). ``FIELD!=VALUE`` negates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from transcripts.errors import ConfigError

__all__ = ["MISSING", "Where", "canonical", "parse_where", "value_matches"]

MISSING: Any = object()
"""Stands for a field a record does not have (matched like null)."""


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


def _coerce(raw: str) -> Any:
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
