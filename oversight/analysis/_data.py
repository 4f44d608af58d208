"""Reading a run store once into compact arrays.

Each file is read once, through *row* models that keep only the fields the analysis reads
and skip the rest (turn texts, calls, rationales) without building Python objects for them:
pydantic parses each line straight from JSON, several times faster than full records, which
matters at 100,000 judgments. A clean file is read that way; at the first line that is not
clean (a torn tail, a corrupt line, a newer schema) the file is read again through
:class:`transcripts.JsonlLog`, so those cases behave exactly as everywhere else (torn tails
skipped with a warning, corrupt lines and newer schemas refused with a clear error).
Duplicate ids resolve as :meth:`transcripts.JsonlLog.latest` resolves them (a
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
(or per transcript), so every statistic is vectorised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, model_validator

from transcripts import (
    QUESTION_REF,
    SCHEMA_VERSION,
    JsonlLog,
    QuestionFile,
    RunStore,
    status_rank,
    upgrade_v1,
)
from transcripts.final import final_judgments
from transcripts.injection import detect_injection

__all__ = ["Data", "EscalationRow", "JudgmentRow", "TranscriptRow", "load"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]

STATUS_CODES = {"ok": 0, "failed": 1, "skipped": 2}


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = SCHEMA_VERSION


class JudgeRow(_Row):
    """The parts of a :class:`~transcripts.JudgeIdentity` the analysis reads."""

    kind: str
    name: str
    model: str | None = None
    annotator: str | None = None


class JudgmentRow(_Row):
    """The parts of a :class:`~transcripts.Judgment` the analysis reads."""

    id: str
    transcript_id: str
    run_id: str = ""
    judge: JudgeRow
    status: str = "ok"
    probabilities: list[float] | None = None
    rounds_seen: int | None = None
    escalated: bool = False
    escalation_reason: str | None = None
    escalated_from: str | None = None
    decided_by: str | None = None
    components: list[JudgmentRow] = []
    supersedes: str | None = None
    escalation_id: str | None = None
    metadata: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        return upgrade_v1(data)


class QuestionRow(_Row):
    """The parts of a :class:`~transcripts.Question` the analysis reads."""

    id: str
    answers: list[str]
    correct: int | None = None
    source: str | None = None
    dataset: str | None = None
    metadata: dict[str, Any] = {}


class TurnRow(_Row):
    """The parts of a :class:`~transcripts.Turn` the analysis reads."""

    role: str
    round: int
    visibility: str = "public"
    injection: bool = False
    """True when the injection detector flags this speaker's text (never a judge's turn);
    computed from ``content`` as the row is read, the text itself is not kept."""

    @model_validator(mode="before")
    @classmethod
    def _flag(cls, data: Any) -> Any:
        if isinstance(data, dict) and "content" in data and "injection" not in data:
            content = data.get("content")
            flagged = (
                data.get("role") != "judge"
                and isinstance(content, str)
                and bool(detect_injection(content))
            )
            data = {**data, "injection": flagged}
        return data


class TranscriptRow(_Row):
    """The parts of a :class:`~transcripts.Transcript` the analysis reads."""

    id: str
    run_id: str = ""
    protocol: str
    condition: str = ""
    question: QuestionRow
    assignment: dict[str, int] = {}
    answer_order: list[int] = []
    turns: list[TurnRow] = []
    roles: dict[str, str] = {}
    players: dict[str, str] = {}
    repeat: int = 0
    status: str = "complete"
    metadata: dict[str, Any] = {}
    planted: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shared_question(cls, data: Any, info: ValidationInfo) -> Any:
        """A question stored once per run (``question_ref``) comes from the context."""
        if (
            isinstance(data, dict)
            and QUESTION_REF in data
            and "question" not in data
            and isinstance(info.context, dict)
        ):
            data = {**data, "question": info.context["questions"][data[QUESTION_REF]]}
        return data


def _rounds(t: TranscriptRow) -> float:
    """Rounds a judge sees of the whole transcript: the ``judge_turns`` metadata when present,
    else the number of judge turns, else the number of rounds with a public turn."""
    judge_turns = t.metadata.get("judge_turns")
    if isinstance(judge_turns, int | float) and not isinstance(judge_turns, bool):
        return float(judge_turns)
    n_judge = sum(1 for turn in t.turns if turn.role == "judge")
    if n_judge:
        return float(n_judge)
    return float(len({turn.round for turn in t.turns if turn.visibility == "public"}))


class EscalationRow(_Row):
    """The parts of a :class:`~transcripts.Escalation` the analysis reads."""

    id: str
    transcript_id: str
    judge_name: str
    reason: str = ""
    first: JudgmentRow


def _rank(record: TranscriptRow | JudgmentRow | EscalationRow) -> int:
    """The rank :meth:`transcripts.JsonlLog.latest` gives a record: failed/error lose."""
    return status_rank(getattr(record, "status", None))


def _read(log: JsonlLog[Any], model: type[_Row]) -> list[Any]:
    """Every record of the file in order, as iterating ``log`` gives them, parsed fast."""
    if not log.path.exists():
        return []
    context = None
    if model is TranscriptRow:  # questions stored once per run, parsed once
        stored = QuestionFile(log.path.with_name("questions.jsonl")).all()
        context = {"questions": {h: QuestionRow.model_validate(q) for h, q in stored.items()}}
    records: list[Any] = []
    with open(log.path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                return list(log)  # a torn tail: the store warns and skips it
            if not line.strip():
                continue
            try:
                record = model.model_validate_json(line, context=context)
            except (ValidationError, KeyError):
                return list(log)  # the store raises the precise error
            if record.schema_version > SCHEMA_VERSION:
                return list(log)
            records.append(record)
    return records


def _latest(log: JsonlLog[Any], model: type[_Row]) -> list[Any]:
    """``log.latest()`` as a list, in one pass: each id at its first position, best record."""
    records: list[Any] = []
    where: dict[str, tuple[int, int]] = {}  # id -> (rank, index)
    for record in _read(log, model):
        rank = _rank(record)
        current = where.get(record.id)
        if current is None:
            where[record.id] = (rank, len(records))
            records.append(record)
        elif rank >= current[0]:
            where[record.id] = (rank, current[1])
            records[current[1]] = record
    return records


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
    """Per row: the judge."""
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
    orphans: int = 0
    """Judgments whose transcript is not in the store (left out)."""
    replaced: int = 0
    """Judgments superseded or replaced by the final-judgment rule (left out)."""


def load(store: RunStore | str | os.PathLike[str]) -> Data:
    """Read a run store (or its folder) into :class:`Data`, in one pass over each file."""
    if not isinstance(store, RunStore):
        store = RunStore.open(store)
    transcripts: list[TranscriptRow] = _latest(
        JsonlLog(store.transcripts.path, TranscriptRow), TranscriptRow
    )
    index = {t.id: i for i, t in enumerate(transcripts)}
    clusters: dict[str, int] = {}
    questions: dict[str, int] = {}
    n_t = len(transcripts)
    t_cluster = np.zeros(n_t, dtype=np.int64)
    t_question = np.zeros(n_t, dtype=np.int64)
    t_correct = np.full(n_t, -1, dtype=np.int64)
    t_gold_position = np.full(n_t, -1, dtype=np.int64)
    t_first = np.zeros(n_t, dtype=np.int64)
    t_side = np.full(n_t, -1, dtype=np.int64)
    t_rounds = np.zeros(n_t)
    t_width = np.zeros(n_t, dtype=np.int64)
    t_usable = np.zeros(n_t, dtype=bool)
    for i, t in enumerate(transcripts):
        q = t.question
        qkey = f"{q.dataset or ''}\x1f{q.id}"
        t_question[i] = questions.setdefault(qkey, len(questions))
        ckey = f"s\x1f{q.source}" if q.source is not None else f"q\x1f{qkey}"
        t_cluster[i] = clusters.setdefault(ckey, len(clusters))
        order = t.answer_order or list(range(len(q.answers)))
        t_first[i] = order[0]
        t_width[i] = len(q.answers)
        t_rounds[i] = _rounds(t)
        if q.correct is not None:
            t_correct[i] = q.correct
            t_gold_position[i] = order.index(q.correct)
            if len(t.assignment) == 1:
                t_side[i] = int(next(iter(t.assignment.values())) == q.correct)
        t_usable[i] = q.correct is not None and t.status == "complete"

    ids: list[str] = []
    rows_t: list[int] = []
    judge: list[JudgeRow] = []
    meta: list[dict[str, Any]] = []
    status: list[int] = []
    probs_list: list[list[float] | None] = []
    rounds_seen: list[float] = []
    escalated: list[bool] = []
    keep: list[JudgmentRow | None] = []
    orphans = 0
    nan = float("nan")
    latest: list[JudgmentRow] = _latest(JsonlLog(store.judgments.path, JudgmentRow), JudgmentRow)
    final = _final(latest)
    for j in final:
        ti = index.get(j.transcript_id)
        if ti is None:
            orphans += 1
            continue
        ids.append(j.id)
        rows_t.append(ti)
        judge.append(j.judge)
        meta.append(j.metadata)
        status.append(STATUS_CODES.get(j.status, 1))
        probs_list.append(j.probabilities)
        rounds_seen.append(nan if j.rounds_seen is None else float(j.rounds_seen))
        escalated.append(j.escalated)
        special = j.judge.kind in ("fallback", "panel") or j.escalated or j.escalated_from
        keep.append(j if special or j.components else None)

    t_arr = np.asarray(rows_t, dtype=np.int64)
    n = t_arr.size
    width = int(t_width.max(initial=2))
    probs = np.zeros((n, width))
    valid = np.zeros(n, dtype=bool)
    for r, p in enumerate(probs_list):
        if status[r] == 0 and p is not None and len(p) == t_width[rows_t[r]]:
            probs[r, : len(p)] = p
            valid[r] = True
    valid &= np.isfinite(probs).all(axis=1)
    seen = np.asarray(rounds_seen, dtype=np.float64)
    escalations: list[EscalationRow] = _latest(
        JsonlLog(store.escalations.path, EscalationRow), EscalationRow
    )
    return Data(
        path=store.path,
        run_id=store.run_id,
        transcripts=transcripts,
        t_cluster=t_cluster,
        t_question=t_question,
        t_correct=t_correct,
        t_gold_position=t_gold_position,
        t_first=t_first,
        t_side=t_side,
        t_rounds=t_rounds,
        n_clusters=len(clusters),
        n_questions=len(questions),
        judgments=keep,
        ids=ids,
        t=t_arr,
        judge=judge,
        judgment_metadata=meta,
        status=np.asarray(status, dtype=np.int64),
        valid=valid,
        scored=valid & t_usable[t_arr] if n else valid,
        probs=probs,
        rounds=np.where(np.isnan(seen), t_rounds[t_arr] if n else seen, seen),
        escalated=np.asarray(escalated, dtype=bool),
        escalations=escalations,
        orphans=orphans,
        replaced=len(latest) - len(final),
    )
