"""Reading a run store once into compact arrays.

Each file is read once, in blocks of lines decoded straight into compact *rows*
(:mod:`oversight.analysis._rows`): only the fields the analysis reads are kept, so memory
holds the rows and arrays, never the transcripts' text. How many turns of each transcript
the injection detector flags is read from the transcripts index, which counted them when
each transcript was written (the detector over every turn was a third of the report at
100,000 transcripts), and the turns' texts are then not decoded at all. A record the index
does not show (appended after it was read: the log is read again, with the texts) and a run
whose index lives in memory (a read-only folder's, built by parsing every line) are counted
here from the texts, which are dropped once counted.

A clean file is read that way; at anything unusual (a torn tail, a corrupt line, an older
or newer schema) the file is read again through
:class:`transcripts.JsonlLog`, so those cases behave exactly as everywhere else (torn tails
skipped with a warning, v1 records upgraded, corrupt lines and newer schemas refused with a
clear error). Duplicate ids resolve as :meth:`transcripts.JsonlLog.latest` resolves them (a
complete/ok/skipped record beats a failed/error one; among equals the last written wins);
``tests/analysis`` checks the two agree.

Then the *final-judgment rule* of :mod:`transcripts.final` picks the judgments that count: a
judgment whose id another names in ``supersedes`` (a queued item's provisional
judgment, once a person decided it) is dropped; of the judgments with the same transcript,
judge name, rounds seen (and annotator, for human judges), an ok one beats a failed one and
among equals the last written wins; ``skipped`` judgments count only where the key has
nothing else (they are reported as skipped, never scored). ``Data.replaced`` counts the
judgments this leaves out.

After the pass everything the statistics need is a numpy array with one entry per judgment
(or per transcript), so every statistic is vectorised. The whole report (the analysis, the
annotator table, the GDC, tree and stress tables) works from one :class:`Data`; only the
few records with a critique outcome, a tree or a planted persona are read again in full.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import numpy as np
from pydantic import BaseModel

from oversight._gc import gc_paused
from oversight.analysis._rows import (
    EscalationRow,
    JudgeRow,
    JudgmentRow,
    QuestionRow,
    Shared,
    TextTranscriptRecord,
    TranscriptRecord,
    TranscriptRow,
    Unclean,
    blocks,
)
from oversight.analysis._types import Bools, Floats, Ints
from transcripts import (
    Escalation,
    JsonlLog,
    Judgment,
    QuestionFile,
    RunStore,
    Transcript,
    status_rank,
)
from transcripts.final import final_judgments, human_judgments
from transcripts.injection import FLAGGED_FIELD

__all__ = [
    "Data",
    "EscalationRow",
    "JudgeRow",
    "JudgmentRow",
    "QuestionRow",
    "TranscriptRow",
    "full_transcripts",
    "load",
]

S = TypeVar("S", bound=msgspec.Struct)

STATUS_CODES = {"ok": 0, "failed": 1, "skipped": 2}


def _rank(record: Any) -> int:
    """The rank :meth:`transcripts.JsonlLog.latest` gives a record: failed/error lose."""
    return status_rank(getattr(record, "status", None))


def _latest(records: Iterable[Any]) -> list[Any]:
    """The records ``log.latest()`` keeps, in its order, in one pass: each id's best record
    (a complete/ok/skipped one beats a failed/error one; among equals the last), at that
    record's place in the file, so the final-judgment rule, whose "last written" is the
    order it is given, picks what it picks from ``log.latest()``."""
    records = list(records)
    if len({r.id for r in records}) == len(records):
        return records  # no id written twice: nothing to resolve
    best: dict[str, tuple[int, int]] = {}  # id -> (rank, index)
    for i, record in enumerate(records):
        rank = _rank(record)
        current = best.get(record.id)
        if current is None or rank >= current[0]:
            best[record.id] = (rank, i)
    return [records[i] for i in sorted(i for _, i in best.values())]


_encode = msgspec.json.Encoder().encode


def _careful(path: Path, model: type[BaseModel], row: type[S]) -> list[S]:
    """The records of a file that is not clean, through the store's own reader and model
    (torn tails skipped with a warning, v1 records upgraded, corrupt lines and newer schemas
    refused), as ``row``: each record is written out and decoded as a clean line reads."""
    decoder = msgspec.json.Decoder(row)
    return [decoder.decode(_encode(r.model_dump(mode="json"))) for r in JsonlLog(path, model)]


def _judgments(path: Path, row: type[S], model: type[BaseModel]) -> list[S]:
    """Every judgment (or escalation) record of the file, in order."""
    try:
        return [r for block in blocks(path, row) for r in block]
    except Unclean:
        return _careful(path, model, row)


class _Recount(Exception):
    """A record the transcripts index does not show, read without its turns' texts."""


def _transcripts(log: JsonlLog[Transcript]) -> list[TranscriptRow]:
    """Every transcript record of the log, in order, as compact rows; a question stored
    once per run (``question_ref``) is read once and shared by its transcripts. The turns'
    texts are read only where the index keeps no count of their flagged turns."""
    path = log.path
    stored = QuestionFile(path.with_name("questions.jsonl")).all() if path.exists() else {}
    questions = {h: msgspec.convert(q, QuestionRow) for h, q in stored.items()}
    flagged = _flagged(log)
    try:
        if flagged:
            try:
                return _rows(blocks(path, TranscriptRecord), questions, flagged)
            except _Recount:
                pass  # appended after the index was read: read again, with the texts
        return _rows(blocks(path, TextTranscriptRecord), questions, flagged)
    except (Unclean, KeyError, msgspec.ValidationError):
        shared = Shared()
        records = _careful(path, Transcript, TextTranscriptRecord)
        return [r.row(r.question, shared, r.flagged()) for r in records if r.question is not None]


def _rows(
    records: Iterable[list[TranscriptRecord]],
    questions: dict[str, QuestionRow],
    flagged: list[tuple[Any, ...]],
) -> list[TranscriptRow]:
    """The rows of ``records``, their flagged turns counted by the index where its row is
    the record's, else from the texts (:class:`_Recount` where they were not read)."""
    shared = Shared()
    rows = []
    known = len(flagged)
    for n, r in enumerate(chain.from_iterable(records)):
        if n < known and flagged[n][0] == r.id:
            count = flagged[n][1] or 0
        elif isinstance(r, TextTranscriptRecord):
            count = r.flagged()
        else:
            raise _Recount
        question = r.question if r.question is not None else questions[r.question_ref or ""]
        rows.append(r.row(question, shared, count))
    return rows


def _flagged(log: JsonlLog[Transcript]) -> list[tuple[Any, ...]]:
    """``(id, flagged turns or None)`` of every record, in file order, from the transcripts
    index (nothing where the index keeps no count, or where it lives in memory: a
    read-only folder's, built by parsing every line, dearer than counting from the text)."""
    if not log.path.exists() or FLAGGED_FIELD not in log.kept or log.index_in_memory:
        return []
    return log.index_values("id", FLAGGED_FIELD)


def _final(rows: list[JudgmentRow]) -> list[JudgmentRow]:
    """The judgments that count, by the final-judgment rule of :mod:`transcripts.final`;
    skipped ones stay where nothing else exists, so they are reported as skipped."""
    return final_judgments(rows, include_skipped=True)


@dataclass
class Data:
    """A run store as arrays. Rows are judgments whose transcript is in the store."""

    path: Path
    run_id: str
    transcripts: list[TranscriptRow]
    """Per transcript (index ``t``)."""
    t_cluster: Ints
    """Per transcript: cluster code (question source, or the question itself without one)."""
    t_question: Ints
    """Per transcript: question code (dataset and question id)."""
    t_correct: Ints
    """Per transcript: gold answer, -1 when unknown."""
    t_gold_position: Ints
    """Per transcript: presented position of the gold answer, -1 when unknown."""
    t_first: Ints
    """Per transcript: original index of the answer presented first."""
    t_side: Ints
    """Per transcript with a single assigned speaker: 1 if it argued gold, 0 if not; else -1."""
    t_rounds: Floats
    """Per transcript: rounds a judge sees in full (``judge_turns`` metadata, else judge
    turns, else rounds with a public turn)."""
    n_clusters: int
    n_questions: int
    judgments: list[JudgmentRow | None]
    """Per row: the full row for fallback, panel and escalated judgments, else None."""
    ids: list[str]
    """Per row: judgment id."""
    t: Ints
    """Per row: transcript index."""
    judge: list[JudgeRow]
    """Per row: the judge (one object per distinct judge, shared by its rows)."""
    judge_code: Ints
    """Per row: which distinct judge, numbered in order of first appearance."""
    judgment_metadata: list[dict[str, Any]]
    """Per row: the judgment's metadata."""
    status: Ints
    """Per row: 0 ok, 1 failed, 2 skipped."""
    valid: Bools
    """Per row: ok, with one probability per answer."""
    scored: Bools
    """Per row: valid, on a complete transcript whose question has a gold answer."""
    probs: Floats
    """Per row: probabilities (original order), zero-padded to the widest question."""
    rounds: Floats
    """Per row: rounds seen (``rounds_seen``, else the transcript's rounds)."""
    escalated: Bools
    """Per row: the judgment was escalated to a human."""
    escalations: list[EscalationRow] = field(default_factory=list)
    """The run's escalation queue."""
    people: list[JudgmentRow] = field(default_factory=list)
    """Every judgment a person gave (also inside a fallback judge's), of the latest records,
    before the final-judgment rule (for :func:`oversight.analysis.annotators`)."""
    orphans: int = 0
    """Judgments whose transcript is not in the store (left out)."""
    replaced: int = 0
    """Judgments superseded or replaced by the final-judgment rule (left out)."""
    field_cache: dict[str, tuple[Ints, list[Any]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Per field name, its codes and values (:func:`oversight.analysis.field_codes`),
    computed once: the report resolves ``condition`` and the grouping fields repeatedly."""


def _whole(rows: list[JudgmentRow]) -> list[JudgmentRow | None]:
    """Per row, the row where the analysis reads more of the judgment than its columns
    (fallback and panel judgments, escalated ones and those with components), else None.
    One comprehension, no call per row."""
    return [
        j
        if j.judge.kind in ("fallback", "panel") or j.escalated or j.escalated_from or j.components
        else None
        for j in rows
    ]


def _probabilities(rows: list[JudgmentRow], status: Ints, widths: Ints) -> tuple[Floats, Bools]:
    """Per row, the probabilities zero-padded to the widest question, and whether they are
    valid: an ok judgment with one finite probability per answer of its question."""
    width = int(widths.max(initial=2))
    probs = np.zeros((len(rows), width))
    valid = np.zeros(len(rows), dtype=bool)
    # Each row's length compared at once; the lists of each width gathered in C.
    given = [j.probabilities for j in rows]
    lengths = np.array([-1 if p is None else len(p) for p in given], dtype=np.int64)
    fits = (status == 0) & (lengths == widths)
    for length in np.unique(lengths[fits]).tolist():  # the few widths of the run
        at = np.flatnonzero(fits & (lengths == length))
        values: Any = itemgetter(*at.tolist())(given) if at.size > 1 else [given[int(at[0])]]
        flat = np.fromiter(chain.from_iterable(values), np.float64, at.size * length)
        probs[at, :length] = flat.reshape(at.size, length)
        valid[at] = True
    valid &= np.isfinite(probs).all(axis=1)
    return probs, valid


@dataclass
class _Columns:
    """The per-transcript arrays of :class:`Data` (see its ``t_*`` fields), and each
    transcript's number of answers and whether it can be scored (complete, with gold)."""

    cluster: Ints
    question: Ints
    correct: Ints
    gold_position: Ints
    first: Ints
    side: Ints
    rounds: Floats
    width: Ints
    usable: Bools
    n_clusters: int
    n_questions: int


def _columns(transcripts: list[TranscriptRow]) -> _Columns:
    """The per-transcript columns. Most depend only on a transcript's question, answer
    order, assignment and status, objects that transcripts storing the same ones share
    (see _rows.Shared): each such combination is worked out once, and a transcript keeps
    its combination's code (a numpy array written one element at a time costs more)."""
    clusters: dict[str, int] = {}
    questions: dict[str, int] = {}
    classes: dict[tuple[int, int, int, str], int] = {}
    # Per class: question, cluster, first, width, correct, gold position, side, usable.
    table: list[tuple[int, int, int, int, int, int, int, int]] = []
    per_t: list[int] = []
    for t in transcripts:
        q = t.question
        key = (id(q), id(t.answer_order), id(t.assignment), t.status)
        c = classes.get(key)  # the transcripts keep these objects alive
        if c is None:
            c = classes[key] = len(table)
            table.append(_class_columns(t, questions, clusters))
        per_t.append(c)
    cls = np.array(per_t, dtype=np.int64)
    by_class = np.array(table, dtype=np.int64).reshape(len(table), 8)
    cols = [by_class[:, k][cls] for k in range(8)]
    question, cluster, first, width, correct, gold_position, side, usable = cols
    return _Columns(
        cluster=cluster,
        question=question,
        correct=correct,
        gold_position=gold_position,
        first=first,
        side=side,
        rounds=np.array([t.rounds for t in transcripts], dtype=np.float64),
        width=width,
        usable=usable.astype(bool),
        n_clusters=len(clusters),
        n_questions=len(questions),
    )


def _class_columns(
    t: TranscriptRow, questions: dict[str, int], clusters: dict[str, int]
) -> tuple[int, int, int, int, int, int, int, int]:
    """One transcript's question and cluster codes, first answer presented, answers, gold,
    gold position, side (see :class:`Data`) and whether it can be scored."""
    q = t.question
    qkey = f"{q.dataset or ''}\x1f{q.id}"
    ckey = f"s\x1f{q.source}" if q.source is not None else f"q\x1f{qkey}"
    question = questions.setdefault(qkey, len(questions))
    cluster = clusters.setdefault(ckey, len(clusters))
    order = t.answer_order or list(range(len(q.answers)))
    gold = q.correct
    if gold is None:
        return question, cluster, order[0], len(q.answers), -1, -1, -1, 0
    assigned = t.assignment
    side = int(next(iter(assigned.values())) == gold) if len(assigned) == 1 else -1
    usable = int(t.status == "complete")
    return question, cluster, order[0], len(q.answers), gold, order.index(gold), side, usable


def load(store: RunStore | str | os.PathLike[str]) -> Data:
    """Read a run store (or its folder) into :class:`Data`, in one pass over each file."""
    if not isinstance(store, RunStore):
        store = RunStore.open(store)
    with gc_paused():
        return _load(store)


def _load(store: RunStore) -> Data:
    transcripts: list[TranscriptRow] = _latest(_transcripts(store.transcripts))
    index = {t.id: i for i, t in enumerate(transcripts)}
    columns = _columns(transcripts)

    latest: list[JudgmentRow] = _latest(_judgments(store.judgments.path, JudgmentRow, Judgment))
    final = _final(latest)
    found = [index.get(j.transcript_id) for j in final]
    rows, rows_t = final, found
    if None in found:  # judgments of transcripts not in the store: left out
        rows = [j for j, ti in zip(final, found, strict=True) if ti is not None]
        rows_t = [ti for ti in found if ti is not None]
    orphans = len(final) - len(rows)
    judges: dict[JudgeRow, int] = {}  # each judge's number, in order of first appearance
    judge_code = [judges.setdefault(j.judge, len(judges)) for j in rows]
    distinct = list(judges)
    t_arr = np.asarray(rows_t, dtype=np.int64)
    n = t_arr.size
    status = np.fromiter((STATUS_CODES.get(j.status, 1) for j in rows), np.int64, n)
    probs, valid = _probabilities(rows, status, columns.width[t_arr])
    nan = float("nan")
    seen = np.fromiter(
        (nan if j.rounds_seen is None else float(j.rounds_seen) for j in rows), np.float64, n
    )
    escalations: list[EscalationRow] = _latest(
        _judgments(store.escalations.path, EscalationRow, Escalation)
    )
    return Data(
        path=store.path,
        run_id=store.run_id,
        transcripts=transcripts,
        t_cluster=columns.cluster,
        t_question=columns.question,
        t_correct=columns.correct,
        t_gold_position=columns.gold_position,
        t_first=columns.first,
        t_side=columns.side,
        t_rounds=columns.rounds,
        n_clusters=columns.n_clusters,
        n_questions=columns.n_questions,
        judgments=_whole(rows),
        ids=[j.id for j in rows],
        t=t_arr,
        judge=[distinct[c] for c in judge_code],
        judge_code=np.asarray(judge_code, dtype=np.int64),
        judgment_metadata=[j.metadata for j in rows],
        status=status,
        valid=valid,
        scored=valid & columns.usable[t_arr] if n else valid,
        probs=probs,
        rounds=np.where(np.isnan(seen), columns.rounds[t_arr] if n else seen, seen),
        escalated=np.fromiter((j.escalated for j in rows), bool, n),
        escalations=escalations,
        # Only a person's judgment or one with components can hold a person's (the check
        # spares a generator per judgment).
        people=[
            h for j in latest if j.components or j.judge.kind == "human" for h in human_judgments(j)
        ],
        orphans=orphans,
        replaced=len(latest) - len(final),
    )


def full_transcripts(data: Data, wanted: Iterable[int]) -> Iterator[Transcript]:
    """The full stored records of the transcripts ``wanted`` (indexes into
    ``data.transcripts``), read by offset through the store's index, in file order."""
    ids = {data.transcripts[i].id for i in wanted}
    if not ids:
        return iter(())
    log = RunStore.open(data.path).transcripts
    return log.read([e for e in log.latest_entries(extra=False) if e.id in ids])
