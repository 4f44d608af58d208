"""An automatic judge first, a person when it is unsure, disagrees with itself or fails.

Example::

    judge = FallbackJudge(
        LLMJudge(endpoint("openai/gpt-4o-mini")),
        threshold=0.7,
        mode="deferred",
        store=store,
        name="weak+human",
    )

Modes:

* ``interactive`` — the person (``human``, e.g. a :class:`~judges.HumanJudge`) is asked at
  once; the call waits for them while the runner goes on with other items. The returned
  judgment has ``decided_by="human"`` and ``components=[primary, human]``. If the person
  skips, the primary decides (``metadata["human"]="skipped"``). If the person quits, items
  go to the queue from then on when a ``store`` is given, otherwise the primary decides
  (as a panel's member it has no store: see :mod:`judges.panel`).
  Ctrl-C at their prompt (:class:`~judges._common.HumanInterrupted`) is raised, not queued:
  the caller stops, and asks the item again when it resumes.
* ``deferred`` — an :class:`~transcripts.Escalation` is appended to the run's
  ``escalations.jsonl`` and the primary's decision is returned at once, marked
  ``escalated=True``; ``oversight judge RUN`` serves the queue later and appends the final
  judgment that supersedes it (see :mod:`judges.queue` for the records and the rule for
  which judgment is final). Escalation is idempotent per (judge name, transcript, rounds):
  judging the same item again after a restart returns the queued provisional judgment
  without asking the primary again or queueing a second time.

Judgments that were not escalated have ``decided_by`` equal to the primary's kind (``llm``
or ``panel``) and ``components=[primary's judgment]``.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judges._common import HumanInterrupted, HumanQuit, judge_safely
from judges.base import Judge, JudgeOptions, resolve_options
from judges.queue import EscalationKey, human_decided, key_of
from transcripts import Escalation, JudgeIdentity, JudgeView, Judgment, RunStore
from transcripts._validation import Number
from transcripts.errors import ConfigError

__all__ = ["EscalationPolicy", "FallbackJudge", "FallbackMode", "FallbackOptions"]

FallbackMode = Literal["interactive", "deferred"]
"""Ask the person now (``interactive``) or queue the item for a later session (``deferred``)."""


class EscalationPolicy(BaseModel):
    """When an automatic judgment goes to a person."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: Number | None = Field(default=None, ge=0.0, le=1.0)
    """Escalate when the largest probability is below this (e.g. 0.7); None: never on confidence."""
    on_failure: bool = True
    """Escalate when the automatic judge failed."""
    on_disagreement: bool = False
    """Escalate when a panel's ``agreement`` is below ``min_agreement``."""
    min_agreement: Number = Field(default=1.0, ge=0.0, le=1.0)
    """With ``on_disagreement``: the share of members that must agree (1.0 = unanimous)."""

    def reason(self, judgment: Judgment) -> str | None:
        """Why ``judgment`` should go to a person, in words; None when it should not."""
        if judgment.status != "ok" or judgment.probabilities is None:
            return f"the automatic judge failed: {judgment.error}" if self.on_failure else None
        top = max(judgment.probabilities)
        if self.threshold is not None and top < self.threshold:
            return "low confidence: {} < threshold {}".format(*_apart(top, self.threshold))
        if (
            self.on_disagreement
            and judgment.agreement is not None
            and judgment.agreement < self.min_agreement
        ):
            shown = _apart(judgment.agreement, self.min_agreement)
            return "disagreement: agreement {} < {}".format(*shown)
        return None


def _apart(low: float, high: float) -> tuple[str, str]:
    """``low`` and ``high`` to 2 decimals, or as many more as show that ``low`` is lower."""
    digits = 2
    while f"{low:.{digits}f}" == f"{high:.{digits}f}" and digits < 17:
        digits += 1
    return f"{low:.{digits}f}", f"{high:.{digits}f}"


class FallbackOptions(JudgeOptions, EscalationPolicy):
    """Options of a fallback judge (:class:`FallbackJudge`; ``kind = "fallback"`` adds what
    the automatic judge is): its escalation policy, and how a person is reached."""

    mode: FallbackMode = "deferred"
    """``deferred``: queue for ``oversight judge RUN``; ``interactive``: ask a person now."""


class FallbackJudge(Judge):
    """An automatic judge first; a person when the escalation policy says so."""

    def __init__(
        self,
        primary: Judge,
        options: JudgeOptions | None = None,
        /,
        *,
        human: Judge | None = None,
        store: RunStore | None = None,
        **overrides: Any,
    ) -> None:
        self.options = resolve_options(FallbackOptions, options, overrides, what="fallback judge")
        name, mode = self.options.name or "fallback", self.options.mode
        if mode == "interactive" and human is None:
            raise ConfigError(
                f"fallback judge {name!r} is interactive but has no human judge; "
                f"give it one (e.g. HumanJudge(annotator=...)) or use deferred"
            )
        if mode == "deferred" and store is None:
            raise ConfigError(
                f"fallback judge {name!r} is deferred but has no run store to "
                f"queue items in; pass store=RunStore.open(run_folder)"
            )
        self.primary = primary
        self.human = human
        self.store = store
        self._identity = JudgeIdentity(kind="fallback", name=name, model=primary.identity.model)
        self._queued: dict[EscalationKey, Escalation] | None = None
        self._human_gone = False

    @property
    def policy(self) -> EscalationPolicy:
        """When an automatic judgment goes to a person (part of the options)."""
        return self.options

    @property
    def mode(self) -> FallbackMode:
        """``interactive`` or ``deferred`` (see the module)."""
        return self.options.mode

    @property
    def identity(self) -> JudgeIdentity:
        return self._identity

    async def judge(self, view: JudgeView) -> Judgment:
        queued = self._already_queued(view)
        if queued is not None:
            return queued.first
        started = time.monotonic()
        first = await judge_safely(self.primary, view)
        reason = self.policy.reason(first)
        if reason is None:
            return self._decided_by_primary(first, time.monotonic() - started)
        if self.mode == "interactive" and not self._human_gone:
            return await self._ask_now(view, first, reason, started)
        if self.store is None:  # interactive, and the person has quit
            return self._decided_by_primary(
                first,
                time.monotonic() - started,
                escalated=True,
                escalation_reason=reason,
                metadata={"human": "unavailable: the person quit earlier"},
            )
        return self._queue(view, first, reason, time.monotonic() - started)

    async def ask(self, view: JudgeView) -> str | None:
        """The primary's question (the person is not disturbed between rounds)."""
        return await self.primary.ask(view)

    # -- outcomes --------------------------------------------------------------------------

    def _decided_by_primary(self, first: Judgment, time_s: float, **fields: object) -> Judgment:
        return Judgment.model_validate(
            {
                "transcript_id": first.transcript_id,
                "judge": self.identity,
                "status": first.status,
                "probabilities": first.probabilities,
                "rationale": first.rationale,
                "rounds_seen": first.rounds_seen,
                "time_s": time_s,
                "decided_by": first.judge.kind,
                "components": [first],
                "error": first.error,
                **fields,
            }
        )

    async def _ask_now(
        self, view: JudgeView, first: Judgment, reason: str, started: float
    ) -> Judgment:
        assert self.human is not None
        try:
            human = await self.human.judge(view)
        except HumanInterrupted:
            raise  # Ctrl-C: the caller stops, and asks this item again when it resumes
        except HumanQuit as err:
            self._human_gone = True
            if self.store is not None:
                return self._queue(view, first, reason, time.monotonic() - started)
            return self._decided_by_primary(
                first,
                time.monotonic() - started,
                escalated=True,
                escalation_reason=reason,
                metadata={"human": f"unavailable: {err}"},
            )
        if human.status != "ok":
            fields: dict[str, object] = {}
            if first.status != "ok":
                fields["error"] = (
                    f"the automatic judge failed ({first.error}) and the person "
                    f"gave no judgment ({human.status})"
                )
            return self._decided_by_primary(
                first,
                time.monotonic() - started,
                escalated=True,
                escalation_reason=reason,
                metadata={"human": human.status},
                components=[first, human],
                **fields,
            )
        final = human_decided(identity=self.identity, first=first, human=human, reason=reason)
        return final.model_copy(update={"time_s": time.monotonic() - started})

    def _queue(self, view: JudgeView, first: Judgment, reason: str, time_s: float) -> Judgment:
        assert self.store is not None
        # Ids derived from what is escalated, so a rerun of the same experiment (not only a
        # resume) files the same escalation and provisional judgment under the same ids.
        escalation_id = _stable_id(self.identity.name, view.transcript_id, view.rounds_shown)
        provisional = self._decided_by_primary(
            first,
            time_s,
            escalated=True,
            escalation_reason=reason,
            escalation_id=escalation_id,
        ).model_copy(update={"id": _stable_id("provisional", escalation_id)})
        escalation = Escalation(
            id=escalation_id,
            transcript_id=view.transcript_id,
            judge_name=self.identity.name,
            reason=reason,
            first=provisional,
            rounds=view.rounds_shown,
        )
        self.store.escalations.append(escalation)
        self._known()[key_of(escalation)] = escalation
        return provisional

    # -- idempotency -----------------------------------------------------------------------

    def _known(self) -> dict[EscalationKey, Escalation]:
        """Escalations already in the store, read once (first one per key wins)."""
        if self._queued is None:
            self._queued = {}
            if self.store is not None:
                for escalation in self.store.escalations.latest():
                    self._queued.setdefault(key_of(escalation), escalation)
        return self._queued

    def _already_queued(self, view: JudgeView) -> Escalation | None:
        if self.store is None:
            return None
        return self._known().get((self.identity.name, view.transcript_id, view.rounds_shown))


def _stable_id(*parts: object) -> str:
    """A 32-hex-digit id determined by ``parts``."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
