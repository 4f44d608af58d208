"""Which judgments count: the final-judgment rule, in one place for the runner, the judges
and the analysis.

Per (transcript, judge name, rounds seen, and annotator for human judges):

* a judgment whose id another names in ``supersedes`` is dropped (a queued
  item's provisional judgment, once a person decided it);
* of the rest the higher :func:`transcripts.scoring.status_rank` wins (``ok`` beats
  ``failed``, which beats ``skipped``), and among equals the last written wins;
* a ``skipped`` judgment is kept only where nothing else exists, and only when asked.

Which queued items are settled (:func:`resolved_escalation_ids`), for the human sessions,
the runner's "item(s) wait for a person" and the report's Escalations table alike: an
escalation is *resolved* by an ``ok`` judgment a person decided (``decided_by="human"``)
that names it in ``escalation_id`` — the final judgment a session writes when the person
gives a verdict. Anything else decides nothing and leaves the item *pending* (offered
again): a skip (the next person is asked; the one who skipped only with
``--include-skipped``), a ``failed`` judgment (to the same person too), or a person's own
judgment without that final judgment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple, Protocol, TypeVar

from transcripts.scoring import status_rank

__all__ = [
    "JudgeKey",
    "JudgmentKey",
    "final_judgments",
    "human_judgments",
    "left_out",
    "resolved_escalation_ids",
]


class _JudgeLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def annotator(self) -> str | None: ...


class _JudgmentLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def transcript_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def rounds_seen(self) -> int | None: ...
    @property
    def supersedes(self) -> str | None: ...
    @property
    def judge(self) -> _JudgeLike: ...


J = TypeVar("J", bound=_JudgmentLike)


class JudgeKey(NamedTuple):
    """Who judged, as the final-judgment rule reads it."""

    name: str
    kind: str
    annotator: str | None


class JudgmentKey(NamedTuple):
    """What the final-judgment rule reads of a judgment: a small stand-in that
    :func:`final_judgments` and :func:`left_out` take in place of the model, for a caller
    that looks at every judgment of a large run without keeping them."""

    id: str
    transcript_id: str
    status: str
    rounds_seen: int | None
    supersedes: str | None
    judge: JudgeKey

    @classmethod
    def of(cls, judgment: _JudgmentLike) -> JudgmentKey:
        """The key of ``judgment`` (a model, or anything that reads like one)."""
        judge = judgment.judge
        return cls(
            judgment.id,
            judgment.transcript_id,
            judgment.status,
            judgment.rounds_seen,
            judgment.supersedes,
            JudgeKey(judge.name, judge.kind, judge.annotator),
        )


_Key = tuple[str, str, int | None, str | None]


def _keys(records: list[J]) -> list[_Key]:
    """What makes two judgments compete, per judgment: transcript, judge, rounds seen
    (annotator for people). One comprehension, no call per judgment: a large run's report
    reads 100,000 and more."""
    return [
        (
            j.transcript_id,
            (g := j.judge).name,
            j.rounds_seen,
            g.annotator if g.kind == "human" else None,
        )
        for j in records
    ]


def final_judgments(judgments: Iterable[J], *, include_skipped: bool = False) -> list[J]:
    """The judgments that count, in the order they were written (see the module)."""
    records = list(judgments)
    superseded = {j.supersedes for j in records}
    superseded.discard(None)
    if not superseded and len({j.transcript_id for j in records}) == len(records):
        # One judgment per transcript (a large LLM-judged run): no two share a key, so
        # each counts; the key is part transcript, so this is the rule's own outcome.
        chosen: Iterable[J] = records
    else:
        best: dict[_Key, tuple[int, int]] = {}
        for i, (j, key) in enumerate(zip(records, _keys(records), strict=True)):
            if j.id in superseded:
                continue
            rank = status_rank(j.status)
            current = best.get(key)
            if current is None or rank >= current[0]:
                best[key] = (rank, i)
        chosen = [records[i] for i in sorted(i for _, i in best.values())]
    if include_skipped:
        return list(chosen)
    return [j for j in chosen if j.status != "skipped"]


class _Nested(_JudgmentLike, Protocol):
    @property
    def components(self) -> list[Any]: ...


N = TypeVar("N", bound=_Nested)


def human_judgments(judgment: N) -> Iterator[N]:
    """``judgment`` and its components, recursively, that a person gave (a fallback judge's
    final judgment holds the person's own judgment as a component)."""
    if judgment.judge.kind == "human":
        yield judgment
    for component in judgment.components:
        yield from human_judgments(component)


def left_out(judgments: Iterable[J]) -> dict[str, str]:
    """Why the final-judgment rule leaves each judgment out, by judgment id (judgments that
    count are absent): superseded by a person's decision, replaced by a better or later
    judgment of the same key, or ``skipped``. ``failed`` final judgments are kept here;
    that they are not scored is for the caller to say."""
    records = list(judgments)
    kept = {j.id for j in final_judgments(records)}
    superseders = {j.supersedes: j.id for j in records if j.supersedes is not None}
    keys = _keys(records)
    winner: dict[_Key, str] = {}
    for j, key in zip(records, keys, strict=True):
        if j.id in kept:
            winner[key] = j.id
    reasons: dict[str, str] = {}
    for j, key in zip(records, keys, strict=True):
        if j.id in kept:
            continue
        if j.id in superseders:
            reasons[j.id] = f"superseded by {superseders[j.id]}"
        elif j.status == "skipped" and key not in winner:
            reasons[j.id] = "skipped"
        else:
            reasons[j.id] = f"replaced by {winner.get(key, 'a later judgment')}"
    return reasons


class _Deciding(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def decided_by(self) -> str | None: ...
    @property
    def escalation_id(self) -> str | None: ...


def resolved_escalation_ids(judgments: Iterable[_Deciding]) -> set[str]:
    """Ids of the queued items (escalations) that ``judgments`` resolve: those an ``ok``
    judgment a person decided names; every other escalation is pending (see the module)."""
    return {
        j.escalation_id
        for j in judgments
        if j.decided_by == "human" and j.status == "ok" and j.escalation_id is not None
    }
