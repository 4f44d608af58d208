"""The human escalation queue of a run, and which judgment is final.

A deferred :class:`~judges.FallbackJudge` that escalates an item writes three kinds of
record, all in the run folder:

1. ``P`` — the *provisional* judgment it returns to the runner (``judge.kind="fallback"``,
   ``escalated=True``, ``decided_by`` the primary's kind, ``components=[L]`` where ``L``
   is the primary's own judgment, ``escalation_id``); the runner appends it to
   ``judgments.jsonl`` like any other judgment.
2. ``E`` — an :class:`~transcripts.Escalation` in ``escalations.jsonl`` with ``first = P``.
3. ``F`` — when a person judges the item (``oversight judge RUN``): the *final* judgment,
   appended to ``judgments.jsonl`` as one line, with the same judge name as ``P``,
   ``decided_by="human"``, ``components=[L, H]`` (``H`` the person's judgment, whose
   ``escalated_from`` is ``E.id``), ``escalated_from = L.id``,
   ``escalation_id = E.id`` and ``supersedes = P.id``.

An escalation is *pending* until a final judgment names its id
(:func:`transcripts.final.resolved_escalation_ids`, the one rule, which the report's
Escalations table reads too). Serving is idempotent by escalation id: a second session
never resolves an item twice, and a person who skips an item leaves it pending for others
(the skip is recorded as a ``skipped`` human judgment so the same person is not asked again
unless they ask for skipped items); a ``failed`` judgment decides nothing either, and the
item is offered again, to the same person too.

*Final judgment* rule (what the analysis should use): group judgments by (transcript,
judge name, rounds seen, and the annotator for human judges); drop ``skipped`` ones and
every judgment whose id another names in ``supersedes``; of the rest, an
``ok`` judgment beats a ``failed`` one and among equals the last written wins.
:func:`final_judgments` applies this rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from transcripts import Escalation, JudgeIdentity, Judgment, RunStore
from transcripts.final import final_judgments as shared_final_judgments
from transcripts.final import human_judgments, resolved_escalation_ids

__all__ = [
    "EscalationKey",
    "final_judgments",
    "human_decided",
    "human_judgments",
    "key_of",
    "pending_escalations",
    "resolve",
    "resolved_escalation_ids",
]

PEOPLE: Mapping[str, Any] = MappingProxyType({"h": True})
"""Selects, in a run's judgments index (the ``h`` of ``transcripts._index_fields.judgment_fields``),
the judgments a person gave or took part in: all the escalation queue and human sessions
need, so the run's other judgments are not read."""

EscalationKey = tuple[str, str, int | None]
"""(fallback judge name, transcript id, rounds) — one escalation per key."""


def key_of(escalation: Escalation) -> EscalationKey:
    """The key under which an escalation is unique."""
    return escalation.judge_name, escalation.transcript_id, escalation.rounds


def pending_escalations(
    store: RunStore,
    *,
    judge_name: str | None = None,
    annotator: str | None = None,
    include_skipped: bool = False,
) -> list[Escalation]:
    """Escalations no person has resolved yet, oldest first, one per key.

    With ``annotator``, items that person skipped are left out unless ``include_skipped``.
    """
    judgments = list(store.judgments.latest(where=PEOPLE))
    resolved = resolved_escalation_ids(judgments)
    skipped: set[str] = set()
    if annotator is not None and not include_skipped:
        skipped = {
            h.escalated_from
            for j in judgments
            for h in human_judgments(j)
            if h.status == "skipped" and h.judge.annotator == annotator and h.escalated_from
        }
    seen: set[EscalationKey] = set()
    pending = []
    for escalation in store.escalations.latest():
        key = key_of(escalation)
        if key in seen:
            continue
        seen.add(key)
        if judge_name is not None and escalation.judge_name != judge_name:
            continue
        if escalation.id in resolved or escalation.id in skipped:
            continue
        pending.append(escalation)
    return pending


def human_decided(
    *,
    identity: JudgeIdentity,
    first: Judgment,
    human: Judgment,
    reason: str,
    metadata: dict[str, object] | None = None,
    escalation_id: str | None = None,
    supersedes: str | None = None,
) -> Judgment:
    """The fallback judgment a person decided: components ``[first, human]``."""
    time_s = None
    if first.time_s is not None and human.time_s is not None:
        time_s = first.time_s + human.time_s
    return Judgment(
        transcript_id=first.transcript_id,
        run_id=first.run_id,
        judge=identity.model_copy(update={"annotator": human.judge.annotator}),
        probabilities=human.probabilities,
        rationale=human.rationale,
        rounds_seen=human.rounds_seen,
        time_s=time_s,
        escalated=True,
        escalation_reason=reason,
        escalated_from=first.id,
        decided_by="human",
        components=[first, human],
        metadata=dict(metadata or {}),
        escalation_id=escalation_id,
        supersedes=supersedes,
    )


def resolve(escalation: Escalation, human: Judgment) -> Judgment:
    """The final judgment ``F`` for a queued item that a person judged (status ``ok``)."""
    provisional = escalation.first
    first = provisional.components[0] if provisional.components else provisional
    return human_decided(
        identity=provisional.judge,
        first=first,
        human=human,
        reason=escalation.reason,
        escalation_id=escalation.id,
        supersedes=provisional.id,
    )


def final_judgments(judgments: Iterable[Judgment]) -> list[Judgment]:
    """One final judgment per (transcript, judge name, rounds seen[, annotator]), skipped
    ones left out: the rule of :mod:`transcripts.final`."""
    return shared_final_judgments(judgments)
