"""The rows of a run's tables, one per judgment, one per transcript or one per answer to an
attention check, as lists of dictionaries: what :mod:`transcripts.export` exports (and
re-exports; see its docstring for the columns). Its streaming writers build the same rows
from the helpers here."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, NamedTuple

from transcripts._judgments import Judgment
from transcripts._models import Transcript
from transcripts._store import RunStore
from transcripts.errors import ConfigError
from transcripts.filters import check_conditions
from transcripts.final import JudgmentKey, left_out
from transcripts.scoring import score
from transcripts.study import Study, attention_log, attention_passed, read_study

TableKind = Literal["judgments", "transcripts", "attention"]
KINDS: tuple[TableKind, ...] = ("judgments", "transcripts", "attention")
"""The tables a run exports: one row per judgment, per transcript, or per answer to an
attention check of a human study (``RUN/attention.jsonl``, never among the judgments)."""

_SCALAR = (str, int, float, bool)


def _open(store: RunStore | str | os.PathLike[str]) -> RunStore:
    return store if isinstance(store, RunStore) else RunStore.open(store)


def _scalars(metadata: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Metadata values that fit in a cell (strings, numbers, booleans, None)."""
    return {
        f"{prefix}{key}": value
        for key, value in metadata.items()
        if value is None or isinstance(value, _SCALAR)
    }


def _transcript_facts(transcript: Transcript) -> dict[str, Any]:
    """What a judgment row takes from its transcript."""
    question = transcript.question
    return {
        "protocol": transcript.protocol,
        "condition": transcript.condition,
        "question_id": question.id,
        "source": question.source,
        "dataset": question.dataset,
        "correct": question.correct,
        "n_answers": len(question.answers),
        "repeat": transcript.repeat,
        "transcript_status": transcript.status,
        "rounds": transcript.rounds,
        **_scalars(transcript.metadata, "meta_"),
    }


class _StudyPlaces(NamedTuple):
    """What the export reads of the run's study."""

    judge_name: str
    """The judge name the study's judgments are filed under."""
    places: dict[tuple[str, str], int]
    """(annotator, transcript id) -> its place in that person's list, from 1, counted as
    the person saw it ("Item 14 of 40", attention checks included)."""


def _study_places(run: RunStore) -> _StudyPlaces | None:
    """The run's study as the export reads it; None when the run has none."""
    study = read_study(run)
    if study is None:
        return None
    return _StudyPlaces(study.design.judge_name, _places(study, attention=False))


def _places(study: Study | None, *, attention: bool) -> dict[tuple[str, str], int]:
    """(annotator, item id) -> its place in that person's list (:meth:`Study.places`), for
    the attention checks (``attention``) or the transcripts; empty without a study."""
    if study is None:
        return {}
    return {
        (annotator, slot.transcript_id): n
        for annotator in study.assignments
        for n, slot in study.places(annotator)
        if slot.attention == attention
    }


def _study_position(judgment: Judgment, study: _StudyPlaces) -> int | None:
    """Where ``judgment``'s transcript stood in its annotator's study list; None when it is
    not a study judgment (another judge, or a transcript not in that person's list)."""
    judge = judgment.judge
    if judge.kind != "human" or judge.name != study.judge_name or judge.annotator is None:
        return None
    return study.places.get((judge.annotator, judgment.transcript_id))


def _judgment_row(
    judgment: Judgment, facts: dict[str, Any] | None, study: _StudyPlaces | None = None
) -> dict[str, Any]:
    facts = facts or {}
    shown = judgment.metadata.get("presented_order")
    probabilities = judgment.probabilities or []
    correct = facts.get("correct")
    row: dict[str, Any] = {
        "judgment_id": judgment.id,
        "transcript_id": judgment.transcript_id,
        "run_id": judgment.run_id,
        "judge_kind": judgment.judge.kind,
        "judge_name": judgment.judge.name,
        "judge_model": judgment.judge.model,
        "annotator": judgment.judge.annotator,
        "status": judgment.status,
        "error": judgment.error,
        "verdict": judgment.verdict,
        **{f"p_{i}": p for i, p in enumerate(probabilities)},
        "p_correct": (
            probabilities[correct]
            if correct is not None and 0 <= correct < len(probabilities)
            else None
        ),
        "judge_correct": (
            score(probabilities, correct)
            if judgment.probabilities and correct is not None and 0 <= correct < len(probabilities)
            else None
        ),
        "rounds_seen": judgment.rounds_seen,
        "time_s": judgment.time_s,
        "rationale": judgment.rationale,
        "presented_order": json.dumps(shown) if isinstance(shown, list) else None,
        "escalated": judgment.escalated,
        "cost_usd": judgment.cost_usd,
        "created_at": judgment.created_at.isoformat(),
    }
    if study is not None:
        row["study_position"] = _study_position(judgment, study)
    row.update(facts)
    row.update(_scalars(judgment.metadata, "judgment_meta_"))
    return row


def not_scored(judgment: Judgment, transcript: Transcript | None) -> str | None:
    """Why the analysis does not score ``judgment`` of ``transcript`` (None: its transcript
    is not in the run), whatever else was judged; None when it does."""
    return _not_scored(judgment, None if transcript is None else _transcript_facts(transcript))


def not_counted(transcript: Transcript, judgments: Sequence[Judgment]) -> list[str | None]:
    """Why the analysis does not count each of ``transcript``'s judgments (all of them, the
    latest record per id), as the export's ``not_counted`` column says it (None: it is
    counted). The final-judgment rule compares judgments of one transcript only, so its
    judgments alone give what the whole run's give."""
    facts = _transcript_facts(transcript)
    keys = [JudgmentKey.of(j) for j in judgments]
    return _not_counted(keys, [_not_scored(j, facts) for j in judgments])


def _not_scored(judgment: Judgment, facts: dict[str, Any] | None) -> str | None:
    """Why a final judgment is not scored by the analysis; None when it is."""
    if facts is None:
        return "its transcript is not in the run"
    if judgment.status != "ok":
        return judgment.status
    if facts["transcript_status"] != "complete":
        return "its transcript failed"
    if facts["correct"] is None:
        return "the question has no gold answer"
    if len(judgment.probabilities or []) != facts["n_answers"]:
        return "one probability per answer is missing"
    return None


def _transcripts(run: RunStore, conditions: Sequence[str] | None) -> Iterator[Transcript]:
    """The run's transcripts (latest record per id), only those of ``conditions`` (chosen
    in the index) when given; a condition the run lacks is a :class:`ConfigError` naming
    those it has."""
    if not conditions:
        return run.transcripts.latest()
    check_conditions(run, conditions)
    return run.transcripts.latest(where={"c": tuple(conditions)})


def _judgments(
    run: RunStore, conditions: Sequence[str] | None = None
) -> Iterator[tuple[dict[str, Any], str | None, JudgmentKey]]:
    """Each judgment (latest record per id) as its row without ``counted``, why the analysis
    would not score it whatever else was judged, and what the final-judgment rule reads of
    it. Each judgment is made its row as it is read: the models are not kept."""
    shared = _Shared()
    study = _study_places(run)
    facts = {t.id: shared.facts(_transcript_facts(t)) for t in _transcripts(run, conditions)}
    # With conditions, only the judgments of their transcripts are read.
    for j in run.judgments.read(run.judgment_entries(facts if conditions else None)):
        key = JudgmentKey.of(j)
        key = key._replace(judge=shared.one(key.judge))
        kept = facts.get(j.transcript_id)
        found = None if kept is None else dict(zip(*kept, strict=True))
        yield _judgment_row(j, found, study), _not_scored(j, found), key


class _Shared:
    """One object for equal values held once per transcript or judgment (a condition's
    name, a question's id, a judge): what an export keeps of a 100,000-item run is then
    a few tuples an item, not a dictionary of strings each."""

    def __init__(self) -> None:
        self._seen: dict[Any, Any] = {}

    def one(self, value: Any) -> Any:
        """The first value seen equal to ``value`` and of its type (``value`` itself the
        first time)."""
        return self._seen.setdefault((type(value), value), value)

    def facts(self, facts: dict[str, Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        """A transcript's facts as its column names (shared by every transcript with the
        same metadata keys) and values (each string shared)."""
        values = tuple(self.one(v) if isinstance(v, str) else v for v in facts.values())
        return self.one(tuple(facts)), values


def _not_counted(keys: list[JudgmentKey], not_scored: list[str | None]) -> list[str | None]:
    """Why each judgment is not counted (None: it is): the final-judgment rule's reason,
    else its own."""
    dropped = left_out(keys)
    return [dropped.get(key.id) or reason for key, reason in zip(keys, not_scored, strict=True)]


def _marked(
    table: Iterable[dict[str, Any]], not_counted: Iterable[str | None], counted_only: bool
) -> Iterator[dict[str, Any]]:
    """The rows with ``counted`` and ``not_counted`` (only the counted: ``counted_only``)."""
    for row, reason in zip(table, not_counted, strict=True):
        if counted_only and reason is not None:
            continue
        row["counted"] = reason is None
        row["not_counted"] = reason
        yield row


def judgment_rows(
    store: RunStore | str | os.PathLike[str],
    *,
    counted_only: bool = False,
    conditions: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per judgment (latest record per id), joined with its transcript.

    ``counted`` says whether the analysis (``oversight report``) scores the judgment, and
    ``not_counted`` why not: superseded by a person's decision, replaced by a better or
    later judgment of the same transcript, judge and rounds (:mod:`transcripts.final`),
    skipped, failed, or its transcript failed or has no gold answer. With
    ``counted_only`` only the counted rows are returned, so their ``judge_correct`` mean is
    the report's accuracy. With ``conditions``, only the judgments of those conditions'
    transcripts (the rule compares judgments of one transcript only, so each is counted
    as in the whole table).
    """
    made = list(_judgments(_open(store), conditions))
    reasons = _not_counted([key for _, _, key in made], [reason for _, reason, _ in made])
    return list(_marked((row for row, _, _ in made), reasons, counted_only))


def _transcript_row(transcript: Transcript) -> dict[str, Any]:
    question = transcript.question
    public = [t for t in transcript.turns if t.visibility == "public"]
    quotes = [q for t in transcript.turns for q in t.quotes]
    return {
        "transcript_id": transcript.id,
        "run_id": transcript.run_id,
        "protocol": transcript.protocol,
        "condition": transcript.condition,
        "question_id": question.id,
        "question": question.text,
        "answers": json.dumps(question.answers),
        "source": question.source,
        "dataset": question.dataset,
        "correct": question.correct,
        "n_answers": len(question.answers),
        "answer_order": json.dumps(transcript.order),
        "assignment": json.dumps(transcript.assignment),
        "roles": json.dumps(transcript.roles),
        "repeat": transcript.repeat,
        "status": transcript.status,
        "error": transcript.error,
        "rounds": transcript.rounds,
        "turns": len(transcript.turns),
        "public_turns": len(public),
        "judge_turns": sum(1 for t in public if t.role == "judge"),
        "quotes": len(quotes),
        "verified_quotes": sum(1 for q in quotes if q.verified),
        "cost_usd": transcript.cost_usd,
        "created_at": transcript.created_at.isoformat(),
        **_scalars(transcript.metadata, "meta_"),
    }


def transcript_rows(
    store: RunStore | str | os.PathLike[str], *, conditions: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """One row per transcript (latest record per id), without turns or context; only those
    of ``conditions`` when given."""
    return [_transcript_row(t) for t in _transcripts(_open(store), conditions)]


def attention_rows(
    store: RunStore | str | os.PathLike[str],
    *,
    counted_only: bool = False,
    conditions: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per answer to an attention check (latest record per id; skips included),
    for joining with the judgments by ``annotator``: the check (``item_id``, its question
    and obvious answer ``correct``), the probabilities given, ``passed`` (more than half on
    the obvious answer, the annotator table's rule; None for a skip), its place in the
    person's study list, and ``counted``/``not_counted``: whether the annotator table
    counts it among the person's checks (one per check and person, by the final-judgment
    rule), and why not. ``counted_only`` keeps the counted rows. Attention checks have no
    condition: ``conditions`` is refused."""
    if conditions:
        raise ConfigError(
            f"conditions {list(conditions)}: attention checks have no condition (they are "
            f"items of a study, not transcripts of the run); drop the conditions to export "
            f"them"
        )
    run = _open(store)
    study = read_study(run)
    items = {t.id: t.question for t in (study.attention_items if study else [])}
    places = _places(study, attention=True)
    log = attention_log(run)
    try:
        answers = list(log.latest())
    finally:
        log.close()
    made = []
    for j in answers:
        question = items.get(j.transcript_id)
        correct = None if question is None else question.correct
        row = _judgment_row(j, {"correct": correct})
        answered = j.status == "ok" and j.probabilities is not None
        made.append(
            {
                "judgment_id": j.id,
                "run_id": j.run_id,
                "annotator": j.judge.annotator,
                "judge_name": j.judge.name,
                "item_id": j.transcript_id,
                "question": None if question is None else question.text,
                "answers": None if question is None else json.dumps(question.answers),
                "correct": correct,
                "status": j.status,
                **{k: v for k, v in row.items() if k.startswith("p_")},
                "passed": attention_passed(j.probabilities, correct) if answered else None,
                "study_position": places.get((j.judge.annotator or "", j.transcript_id)),
                **{k: row[k] for k in ("rounds_seen", "time_s", "rationale", "presented_order")},
                "created_at": row["created_at"],
                **_scalars(j.metadata, "judgment_meta_"),
            }
        )
    keys = [JudgmentKey.of(j) for j in answers]
    reasons = _not_counted(keys, [None if j.status == "ok" else j.status for j in answers])
    return list(_marked(made, reasons, counted_only))


def rows(
    store: RunStore | str | os.PathLike[str],
    kind: TableKind = "judgments",
    *,
    counted_only: bool = False,
    conditions: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The rows of one table of the run (``counted_only``, ``conditions``: see
    :func:`judgment_rows`)."""
    if kind == "judgments":
        return judgment_rows(store, counted_only=counted_only, conditions=conditions)
    if kind == "attention":
        return attention_rows(store, counted_only=counted_only, conditions=conditions)
    _check_kind(kind)
    return transcript_rows(store, conditions=conditions)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ConfigError(f"unknown table {kind!r}: choose one of {', '.join(KINDS)}")
