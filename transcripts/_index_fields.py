"""What the indexes of a run's logs keep of each record beyond id and status.

Each function is given a record's JSON object (when the index is built from the log) or a
written model's field dict (when a record is appended), so it reads both shapes. A layout
string names what a log's function keeps: change it when that changes, and every index
written under the old layout is rebuilt from the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from transcripts.injection import FLAGGED_FIELD, flagged_turns

__all__ = [
    "INDEXED",
    "Indexed",
    "judgment_fields",
    "sent_fields",
    "spend_fields",
    "transcript_fields",
]


def _get(record: Any, name: str) -> Any:
    """A field of a JSON object or of a model."""
    if type(record) is dict or isinstance(record, Mapping):  # a dict: no ABC check
        return record.get(name)
    return getattr(record, name, None)


def _calls(record: Any) -> Iterator[Any]:
    """The model calls of a transcript (its turns') or judgment (its own and its
    components', recursively)."""
    for turn in _get(record, "turns") or ():
        call = _get(turn, "call")
        if call is not None:
            yield call
    yield from _get(record, "calls") or ()
    for component in _get(record, "components") or ():
        yield from _calls(component)


def _priced_apart(record: Any) -> bool:
    """Whether a call of the record, sent to a provider, read or wrote its prompt cache or
    went through a batch (what the run summary's usage table is shown for)."""
    for call in _calls(record):
        if _get(call, "cached"):
            continue
        usage = _get(call, "usage")
        if _get(call, "batched") or (
            usage is not None
            and (_get(usage, "cached_tokens") or _get(usage, "cache_write_tokens"))
        ):
            return True
    return False


def _by_a_person(judgment: Any) -> bool:
    """Whether a judgment or one of its components, recursively, was given by a person."""
    judge = _get(judgment, "judge")
    return _get(judge, "kind") == "human" or any(
        _by_a_person(c) for c in _get(judgment, "components") or ()
    )


def transcript_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the transcripts index keeps: the condition (``c``: ``show --condition`` and
    the commands that choose transcripts by condition read only that condition's), whether
    a call used a prompt cache or a batch (``u``), and how many of its speakers' turns the
    injection detector flags (under :data:`~transcripts.injection.FLAGGED_FIELD`, when any:
    the report reads the count there instead of running the detector over every turn of
    the run)."""
    fields: dict[str, Any] = {"c": _get(data, "condition") or ""}
    if _priced_apart(data):
        fields["u"] = True
    turns = _get(data, "turns") or ()
    flagged = flagged_turns((_get(t, "role"), _get(t, "content") or "") for t in turns)
    if flagged:
        fields[FLAGGED_FIELD] = flagged
    return fields


def judgment_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the judgments index keeps of a judgment: its transcript (``t``), the runner's
    work key (``k``), whether it was handed to a person (``e``: escalated with an
    escalation id), whether a person gave it or one of its components (``h``: what the
    escalation queue and human sessions read, without reading every judgment) and whether
    a call used a prompt cache or a batch (``u``)."""
    # Schema 2 keeps work_key and escalation_id as fields; version 1 kept them in metadata.
    metadata = data.get("metadata") or {}
    fields: dict[str, Any] = {"t": data.get("transcript_id")}
    key = data.get("work_key") or metadata.get("work_key")
    if isinstance(key, str):
        fields["k"] = key
    escalation = data.get("escalation_id") or metadata.get("escalation_id")
    if data.get("escalated") and escalation is not None:
        fields["e"] = True
    if _by_a_person(data):
        fields["h"] = True
    if _priced_apart(data):
        fields["u"] = True
    return fields


def spend_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the spend ledger's index keeps of a paid call: all a resumed run's meter needs
    (cost ``c``, input and output tokens ``i`` and ``o``, the ``sent.jsonl`` line it
    closes ``s``, the request's cache key ``h``, the estimate of a reply without token
    counts ``x``), so no ledger line is parsed and validated at a resume."""
    return {
        "c": data.get("cost_usd"),
        "i": data.get("input_tokens") or 0,
        "o": data.get("output_tokens") or 0,
        "s": data.get("sent_id"),
        "h": data.get("request_hash"),
        "x": data.get("estimated_usd"),
    }


def sent_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the index of ``sent.jsonl`` keeps: the line's ``event`` (``v``)."""
    return {"v": data.get("event", "sent")}


Extract = Callable[[Mapping[str, Any]], dict[str, Any] | None]


class Indexed(NamedTuple):
    """What the index of one of a run's logs keeps."""

    extract: Extract
    """The fields it keeps of a record (given the record's JSON object or field dict)."""
    lookups: tuple[str, ...]
    """The fields queries select by (each gets a B-tree)."""
    layout: str
    """Names the fields kept (``name:field,field,...``): an index of another layout is
    rebuilt by the first command that reads it."""
    required: tuple[str, ...] = ()
    """Lookups every row of this layout has: a row without one was added by code of
    another layout (an older oversight appending to the run while a newer one reads it),
    and the index is rebuilt."""


INDEXED: dict[str, Indexed] = {
    "transcripts.jsonl": Indexed(
        transcript_fields, ("u", "c"), f"transcript:c,u,{FLAGGED_FIELD}", required=("c",)
    ),
    "judgments.jsonl": Indexed(judgment_fields, ("t", "h", "u"), "judgment:t,k,e,h,u"),
    "spend.jsonl": Indexed(spend_fields, (), "spend:c,i,o,s,h,x"),
    "sent.jsonl": Indexed(sent_fields, (), "sent:v"),
}
"""By log name (the run folder's logs): what its index keeps."""
