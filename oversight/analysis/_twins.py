"""Which benign condition a planted one is the twin of: the one rule the stress table and the
blue-team copy both follow."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oversight.analysis._data import Data

__all__ = ["benign_twins", "item"]


def _shape(condition: Mapping[str, Any], *, judges: bool) -> str:
    parts = ("protocol", "roles", "options") + (("judge", "judges") if judges else ())
    return json.dumps([condition.get(part) for part in parts], sort_keys=True)


def benign_twins(conditions: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Planted condition label -> its benign twin's label, for the conditions of an
    ``experiment.json`` spec. The twin runs the same protocol, roles and options; among
    several, ``<twin>+<persona>`` (as ``oversight stress`` names it) with the same judges,
    else the first with the same judges, else the first. The judges count because two
    conditions that differ only in them run the same transcripts: each keeps its own twin.
    A planted condition with no benign one alike is left out."""
    benign = [c for c in conditions if not c.get("plant")]
    out: dict[str, str] = {}
    for c in conditions:
        if not c.get("plant"):
            continue
        label = str(c["label"])
        same = [str(b["label"]) for b in benign if _shape(b, judges=True) == _shape(c, judges=True)]
        alike = [
            str(b["label"]) for b in benign if _shape(b, judges=False) == _shape(c, judges=False)
        ]
        named = label.rpartition("+")[0]
        twin = named if named in same else next(iter(same or alike), None)
        if twin is not None:
            out[label] = twin
    return out


def item(data: Data, t: int) -> tuple[Any, ...]:
    """Transcript ``t``'s item, alike in a condition and its twins: question, setup, repeat."""
    row = data.transcripts[t]
    return (
        int(data.t_question[t]),
        tuple(row.answer_order),
        tuple(sorted(row.assignment.items())),
        row.repeat,
    )
