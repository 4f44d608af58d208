"""Choosing transcripts of a run: by condition, by field (``--where``), by id prefix.

``--where FIELD=VALUE`` (or ``FIELD!=VALUE``) knows the built-in transcript fields that
``oversight report`` knows (:data:`transcripts.filters.TRANSCRIPT_FIELDS`: ``condition``,
``protocol``, ``question``, ``gold_position``, ``persona``, ...), and ``status`` (the same as
``transcript_status``), ``id`` and ``setup``; then the transcript's ``metadata`` and the
question's ``metadata``. ``metadata.KEY`` and ``question.KEY`` pick one place. VALUE is
matched exactly as ``oversight report`` matches it (:mod:`transcripts.filters`)."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

import msgspec

from transcripts import SCHEMA_VERSION, Entry, JsonlLog, QuestionFile, RunStore, Transcript
from transcripts._blocks import Unclean, blocks
from transcripts.errors import ConfigError
from transcripts.filters import (
    MISSING,
    TRANSCRIPT_FIELDS,
    Where,
    check_conditions,
    parse_where,
    transcript_field,
)

__all__ = [
    "Candidates",
    "Filter",
    "candidates",
    "index_where",
    "match_id",
    "matching",
    "parse_filters",
    "select_transcripts",
]

Filter = Where
"""One ``FIELD=VALUE`` (or ``FIELD!=VALUE``) clause (matching rules: :mod:`transcripts.filters`)."""
parse_filters = parse_where
"""Filters from ``FIELD=VALUE`` / ``FIELD!=VALUE`` strings."""


BUILTIN = (*TRANSCRIPT_FIELDS, "status", "id", "setup")
"""The built-in fields ``--where`` knows for transcripts; any other name is a metadata key."""


def field_value(t: Transcript, name: str) -> Any:
    """The value of field ``name`` for transcript ``t`` (``MISSING`` when absent)."""
    if name in TRANSCRIPT_FIELDS:
        return transcript_field(t, name)
    if name == "status":
        return t.status
    if name == "id":
        return t.id
    if name == "setup":
        return t.metadata.get("setup")
    place, _, key = name.partition(".")
    if key and place == "metadata":
        return t.metadata.get(key, MISSING)
    if key and place == "question":
        return t.question.metadata.get(key, MISSING)
    if name in t.metadata:
        return t.metadata[name]
    return t.question.metadata.get(name, MISSING)


def match_id(ids: Iterable[str], prefix: str) -> str:
    """The id equal to ``prefix``, else the one id starting with it; a clear error when none
    or several do."""
    found = [i for i in ids if i.startswith(prefix)]
    if prefix in found:
        return prefix
    if not found:
        raise ConfigError(
            f"no transcript id starts with {prefix!r}; `oversight show RUN` lists them"
        )
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise ConfigError(
            f"{prefix!r} matches {len(found)} transcripts ({shown}); give more of the id"
        )
    return found[0]


def select_transcripts(
    store: RunStore,
    *,
    conditions: Sequence[str] | None = None,
    where: Sequence[str] | Sequence[Filter] | None = None,
    ids: Sequence[str] | None = None,
    complete_only: bool = False,
) -> Iterator[Transcript]:
    """The run's transcripts (latest record per id) that pass every filter given.

    ``ids`` are id prefixes (each must match exactly one transcript). A condition that is
    not in the run, or a ``--where`` field that is neither built in nor a metadata key of
    any transcript, is a :class:`ConfigError` naming the ones there are (a typo would
    otherwise select nothing, silently).
    """
    found = candidates(store, conditions, where, ids, complete_only)
    return matching(store, found.entries, found.rest)


def matching(
    store: RunStore, entries: Iterable[Entry], rest: list[Filter]
) -> Generator[Transcript, None, None]:
    """The transcripts of ``entries`` that pass every clause of ``rest``, streamed: one in
    memory at a time, however large the run (each clause the fast read decided is matched
    again on the transcript itself)."""
    for t in store.transcripts.read(entries):
        if all(f.accepts(field_value(t, f.field)) for f in rest):
            yield t


class Candidates(NamedTuple):
    """What a selection knows before reading any transcript (see :func:`candidates`)."""

    entries: list[Entry]
    """The latest transcripts that may pass, in file order: chosen by the index, the ids
    asked for and the fast read of every line."""
    rest: list[Filter]
    """The clauses the index does not answer, matched again on each transcript read."""
    unsure: set[str] | None
    """The ids among ``entries`` whose passing only a read of the transcript settles: an
    id with several records (the fast read decided each, not which one is the latest), or
    whose question the fast read could not find. None: all of them (the fast read gave
    up). Every other entry passes: with no ``rest``, the index decided it exactly; else
    its one record was decided by the fast read, by the rules a transcript is matched by."""


def candidates(
    store: RunStore,
    conditions: Sequence[str] | None = None,
    where: Sequence[str] | Sequence[Filter] | None = None,
    ids: Sequence[str] | None = None,
    complete_only: bool = False,
) -> Candidates:
    """The selection of :func:`select_transcripts` as far as it is known without reading a
    transcript (the same options and errors)."""
    filters = [w if isinstance(w, Filter) else parse_filters([w])[0] for w in where or []]
    wanted: set[str] | None = None
    if ids:
        known = sorted(store.transcripts.ids())  # ids only: no record is validated here
        wanted = {match_id(known, prefix) for prefix in ids}
    if conditions:
        check_conditions(store, conditions)
    chosen, rest = index_where(conditions, filters, complete_only=complete_only)
    passing: set[str] | None = None  # ids with a record that passes every clause
    unsure: set[str] | None = set()
    if rest:
        names = _names(store.transcripts, rest)
        _check_fields(names, rest)
        passing, unsure = names.passing, names.unsure
    entries = store.transcripts.latest_entries(where=chosen or None, extra=False)
    chosen_entries = [
        e
        for e in entries
        if (passing is None or e.id in passing) and (wanted is None or e.id in wanted)
    ]
    return Candidates(chosen_entries, rest, unsure)


_IN_INDEX = {"condition": "c", "status": "status", "transcript_status": "status"}
"""Built-in fields the transcripts index keeps, by the name a query selects them by."""


def index_where(
    conditions: Sequence[str] | None,
    filters: Sequence[Filter],
    *,
    complete_only: bool = False,
) -> tuple[dict[str, tuple[str, ...]], list[Filter]]:
    """The part of a selection the transcripts index answers (for
    :meth:`~transcripts.JsonlLog.latest_entries`' ``where``), and the filters left to
    match on each transcript. A clause goes to the index where it matches exactly as
    :mod:`transcripts.filters` would: ``condition``, ``status`` or ``transcript_status``
    equal to a text (these fields always hold one); ``!=``, ``true``/``false`` and
    ``null`` stay clauses."""
    chosen: dict[str, set[str]] = {}

    def narrow(key: str, values: set[str]) -> None:
        chosen[key] = chosen[key] & values if key in chosen else values

    if conditions:
        narrow("c", set(conditions))
    if complete_only:
        narrow("status", {"complete"})
    rest = []
    for f in filters:
        key = _IN_INDEX.get(f.field)
        text = f.value.strip().lower()
        if key is None or f.negate or text in ("true", "false", "null", "none", ""):
            rest.append(f)
        else:
            narrow(key, {f.value})
    return {key: tuple(sorted(values)) for key, values in chosen.items()}, rest


class _Question(msgspec.Struct):
    """What the fast read takes of a question: the fields :func:`field_value` may read of
    it, typed as the model types them (a value the model would refuse, or read otherwise,
    sends the whole read to the store's reader)."""

    id: str
    answers: list[str] = []
    correct: int | None = None
    source: str | None = None
    dataset: str | None = None
    metadata: dict[str, Any] = {}


class _Planted(msgspec.Struct):
    """What the fast read takes of a planted adversary."""

    persona: str


class _Names(msgspec.Struct):
    """What :func:`_names` reads of a stored transcript: the names its metadata has, and
    the fields :func:`field_value` reads for the clauses the fast read decides (typed and
    defaulted as in :class:`~transcripts.Transcript`)."""

    protocol: str
    id: str = ""
    schema_version: int = SCHEMA_VERSION
    run_id: str = ""
    condition: str = ""
    repeat: int = 0
    status: str = "complete"
    answer_order: list[int] = []
    assignment: dict[str, int] = {}
    planted: _Planted | None = None
    metadata: dict[str, msgspec.Raw] = {}
    question: _Question | None = None
    question_ref: str | None = None


@dataclass(slots=True)
class _Light:
    """A stored transcript as the fast read sees it: the fields :func:`field_value` reads
    of a :class:`~transcripts.Transcript`, under the same names."""

    id: str
    status: str
    condition: str
    protocol: str
    run_id: str
    repeat: int
    answer_order: list[int]
    assignment: dict[str, int]
    planted: _Planted | None
    metadata: dict[str, Any]
    question: _Question

    order = cast(property, Transcript.__dict__["order"])  # the model's own rule


@dataclass
class _RunNames:
    """The metadata keys a run's transcripts have, and which transcripts may pass."""

    any: bool = False
    metadata: set[str] = field(default_factory=set)
    question: set[str] = field(default_factory=set)
    passing: set[str] | None = None
    """Ids of the transcripts with a record that passes every clause (None: no clause, or
    the fast read gave up)."""
    unsure: set[str] | None = None
    """Ids of ``passing`` that only a read of their latest record settles: several records,
    or a question the fast read could not find (None where ``passing`` is)."""


def _names(log: JsonlLog[Transcript], decided: Sequence[Filter] = ()) -> _RunNames:
    """The names of every transcript record of the log, read without validating the records
    (a few fields of each, in blocks: memory and time stay small at 100,000 transcripts),
    or through the store's reader, one record at a time, where the fast read gives up. The
    fast read sees every record, earlier records of an id too: a name only such a record
    has is accepted (and selects nothing), never refused. With ``decided`` (clauses), the
    same read finds the transcripts that pass them, each stored question read once, so only
    those need be read in full."""
    names = _RunNames()
    # Clauses on the question alone are decided once per stored question, not per record.
    on_question = [f for f in decided if _of_question(f.field)]
    on_record = [f for f in decided if not _of_question(f.field)]
    try:
        stored: dict[str, dict[str, Any]] | None = None
        refs: dict[str, _Question | None] = {}  # each question named by hash, as read
        question_passes: dict[str, bool] = {}  # by hash: whether it passes ``on_question``
        passing: set[str] = set()
        seen: set[str] = set()
        unsure: set[str] = set()  # ids with several records, or no question found
        for block in blocks(log.path, _Names):
            for r in block:
                names.any = True
                names.metadata.update(r.metadata)
                question = r.question
                if question is not None:
                    names.question.update(question.metadata)
                elif r.question_ref in refs:
                    question = refs[r.question_ref]
                elif r.question_ref is not None:
                    if stored is None:
                        stored = QuestionFile(log.path.with_name("questions.jsonl")).all()
                    found = stored.get(r.question_ref)
                    if found is not None:  # else the store's reader says what is missing
                        question = msgspec.convert(found, _Question)
                        names.question.update(question.metadata)
                    refs[r.question_ref] = question
                if not decided:
                    continue
                if r.id in seen:
                    unsure.add(r.id)
                seen.add(r.id)
                if question is None:
                    passing.add(r.id)  # (the store's reader will say what is missing)
                    unsure.add(r.id)
                    continue
                if r.question_ref is not None and r.question is None:
                    ok = question_passes.get(r.question_ref)
                    if ok is None:
                        ok = question_passes[r.question_ref] = _passes(r, question, on_question)
                else:
                    ok = _passes(r, question, on_question)
                if ok and (not on_record or _passes(r, question, on_record)):
                    passing.add(r.id)
        if decided:
            names.passing, names.unsure = passing, unsure & passing
        return names
    except (Unclean, msgspec.MsgspecError):
        # A torn tail, an older schema, a value the model would not take or the fast
        # decoder cannot: the store's reader says what to do.
        names = _RunNames()
        for t in log.latest():
            names.any = True
            names.metadata.update(t.metadata)
            names.question.update(t.question.metadata)
        return names


def _of_question(name: str) -> bool:
    """Whether :func:`field_value` reads field ``name`` of the question alone."""
    return name in ("question", "source", "dataset") or name.startswith("question.")


def _passes(r: _Names, question: _Question, clauses: Sequence[Filter]) -> bool:
    if not clauses:
        return True
    metadata = {key: msgspec.json.decode(value) for key, value in r.metadata.items()}
    light = _Light(
        r.id,
        r.status,
        r.condition,
        r.protocol,
        r.run_id,
        r.repeat,
        r.answer_order,
        r.assignment,
        r.planted,
        metadata,
        question,
    )
    # field_value reads of a _Light only what a Transcript has under the same names.
    seen = cast(Transcript, light)
    return all(f.accepts(field_value(seen, f.field)) for f in clauses)


def _check_fields(names: _RunNames, filters: Sequence[Filter]) -> None:
    """Refuse a field no transcript has, naming the valid ones."""
    metadata, question = names.metadata, names.question
    for f in filters:
        place, _, key = f.field.partition(".")
        known = (
            f.field in BUILTIN
            or f.field in metadata
            or f.field in question
            or (place == "metadata" and key in metadata)
            or (place == "question" and key in question)
        )
        if not known and names.any:
            raise ConfigError(
                f"--where {f}: unknown field {f.field!r}; use a built-in field "
                f"({', '.join(BUILTIN)}), a metadata key of this run "
                f"({', '.join(sorted(metadata | question)) or 'none found'}), or "
                f"metadata.KEY / question.KEY"
            )
