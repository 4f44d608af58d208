"""A panel: several judges asked at once, combined by mean probability or majority vote.

Example::

    panel = PanelJudge([LLMJudge(a), LLMJudge(b), LLMJudge(c)], name="trio", combine="majority")

Members are judged concurrently through the bounded-concurrency helper. Members that fail,
or people who skip, are kept in ``components`` but left out of the combination
(``metadata`` ``members_failed``, ``members_skipped``); if none gives a judgment, the
panel's judgment fails, or is ``skipped`` when every member is a person who skipped.
``agreement`` is the share of the members that gave a judgment whose verdict equals the
panel's verdict (a tie counts as the verdict ``None``). ``decided_by`` names the
combination rule.

A panel's member must give its final answer now: a deferred
:class:`~judges.FallbackJudge` is refused (:data:`QUEUED_MEMBER`), and so is an interactive
one with a store, which would queue items after its person quits (a fallback member built by
:func:`~judges.build_judge` gets none: after a quit its automatic judge decides, marked).
A person's later answer to a member's queued item would supersede the member's judgment,
but nothing would combine the panel again: its verdict would stay the automatic one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from judges._common import failed, judge_safely
from judges._probs import Combine, combine
from judges.base import Judge, JudgeOptions, resolve_options
from judges.fallback import FallbackJudge
from oversight.concurrency import bounded_map
from transcripts import JudgeIdentity, JudgeView, Judgment, verdict
from transcripts._validation import Integer
from transcripts.errors import ConfigError

__all__ = ["QUEUED_MEMBER", "PanelJudge", "PanelOptions"]

QUEUED_MEMBER = (
    "a deferred fallback judge cannot be a panel's member (the person's later answer would "
    "not change the panel's verdict); put the fallback around the panel instead: "
    'kind = "fallback" with members = [...]'
)
"""Why a deferred fallback judge cannot be a panel's member: the one rule the experiment
file's validation, :func:`~judges.build_judge` and :class:`PanelJudge` apply."""


class PanelOptions(JudgeOptions):
    """Options of a panel (:class:`PanelJudge`; ``kind = "panel"`` adds its ``members``)."""

    combine: Combine = "mean"
    """Mean probability, or ``majority`` (share of member votes)."""
    concurrency: Integer = Field(default=8, ge=1)
    """Members asked at once."""


class PanelJudge(Judge):
    """Several judges combined by mean probability or majority vote, with their agreement."""

    def __init__(
        self,
        members: Sequence[Judge],
        options: JudgeOptions | None = None,
        /,
        **overrides: Any,
    ) -> None:
        self.options = resolve_options(PanelOptions, options, overrides, what="panel judge")
        name = self.options.name or "panel"
        if not members:
            raise ConfigError(f"panel {name!r} has no members: give it at least one judge")
        names = [m.identity.name for m in members]
        if len(set(names)) != len(names):
            raise ConfigError(
                f"panel {name!r} has members with the same name: {names}; give each member "
                f"its own name (name = ... in its table; for k samples of one model, an llm "
                f"judge with samples = k)"
            )
        for member in members:
            if isinstance(member, FallbackJudge) and member.store is not None:
                raise ConfigError(
                    f"panel {name!r}: member {member.identity.name!r}: {QUEUED_MEMBER}"
                    if member.mode == "deferred"
                    else f"panel {name!r}: member {member.identity.name!r}: an interactive "
                    f"fallback judge in a panel takes no store (after its person quits it "
                    f"would queue items, and their answers would not change the panel's "
                    f"verdict); build it without store="
                )
        self.members = list(members)
        self._identity = JudgeIdentity(kind="panel", name=name)

    @property
    def identity(self) -> JudgeIdentity:
        return self._identity

    async def judge(self, view: JudgeView) -> Judgment:
        started = time.monotonic()
        results = await bounded_map(
            lambda member: judge_safely(member, view), self.members, limit=self.options.concurrency
        )
        good = [j for j in results if j.status == "ok" and j.probabilities is not None]
        skipped = sum(j.status == "skipped" for j in results)
        if not good and skipped == len(results):  # every member a person who skipped
            return Judgment(
                transcript_id=view.transcript_id,
                judge=self.identity,
                status="skipped",
                rounds_seen=view.rounds_shown,
                time_s=time.monotonic() - started,
                components=results,
            )
        if not good:
            errors = "; ".join(
                f"{j.judge.name}: {j.error or j.status}" for j in results if j.status != "skipped"
            )
            return failed(
                view,
                self.identity,
                f"every panel member failed: {errors}",
                components=results,
                time_s=time.monotonic() - started,
            )
        probabilities = combine(
            [j.probabilities for j in good if j.probabilities], self.options.combine
        )
        panel_verdict = verdict(probabilities)
        agreement = sum(1 for j in good if j.verdict == panel_verdict) / len(good)
        return Judgment(
            transcript_id=view.transcript_id,
            judge=self.identity,
            probabilities=probabilities,
            rationale="\n\n".join(f"{j.judge.name}: {j.rationale}" for j in good if j.rationale),
            rounds_seen=view.rounds_shown,
            time_s=time.monotonic() - started,
            decided_by=self.options.combine,
            components=results,
            agreement=agreement,
            metadata={
                "members": len(results),
                "members_failed": len(results) - len(good) - skipped,
                "members_skipped": skipped,
            },
        )

    async def ask(self, view: JudgeView) -> str | None:
        """The first question any member asks (members are asked in order)."""
        for member in self.members:
            question = await member.ask(view)
            if question:
                return question
        return None
