"""Judging the items of a run: each item's judges and their work keys, which judgments are
settled, asking again with fresh calls, and a protocol tree's own decision filed as a
judgment.

A judgment is *settled* when it is ok or handed to a person (:func:`settled`); a resume
asks only for the rest. A failed judgment stays failed until ``retry_failed`` asks again:
the same judge (a person who quit stays gone) is asked on sample indices moved on by
:data:`JUDGE_RETRY_OFFSET` per earlier failure, so no cached reply answers it.
"""

from __future__ import annotations

import asyncio

from rich.console import Console

from judges import HumanQuit, Judge
from judges.terminal import Interrupt
from oversight.endpoints import batchable_calls
from oversight.experiment import Experiment
from oversight.experiment._judges import interactive
from oversight.runner._build import Endpoints, build_judges
from oversight.runner._items import WorkItem, judgment_id, repeat_offset
from oversight.runner._meter import Meter, drawn_apart
from protocols._tree import decision_probabilities
from protocols.live import live_judgment
from transcripts import JsonlLog, JudgeIdentity, JudgeView, Judgment, RunStore, Transcript
from transcripts.errors import CostCapReached
from transcripts.live import JUDGE_SPEAKER

__all__ = ["JUDGE_RETRY_OFFSET", "Judging", "judged_keys", "settled"]

JUDGE_RETRY_OFFSET = 1_000_000
"""Added to a judge's ``sample_index`` per earlier failed judgment when ``retry_failed``
asks again, so the retry's calls are fresh, never the cached failure."""

_OWN_DECISIONS = ("rewards", "estimator")
"""``decide`` options by which a protocol's tree decides the item itself (rrm, rrm-expert-leaves:
the rewards; prover-estimator: the estimator)."""


class Judging:
    """The judging side of one session of a run: which judgments are done, which are
    missing, and each missing one asked for and saved the moment it exists."""

    def __init__(
        self,
        experiment: Experiment,
        store: RunStore,
        *,
        endpoints: Endpoints,
        meter: Meter,
        console: Console,
    ) -> None:
        self.experiment = experiment
        self.store = store
        self.endpoints = endpoints
        self.meter = meter
        self.console = console
        self.interrupt = Interrupt()
        """Set on the session's Ctrl-C: a person's prompt ends, and no person is asked again."""
        self.judges: dict[str, Judge] = build_judges(
            experiment, endpoints, meter, store, console=console, interrupt=self.interrupt
        )
        self.made = 0
        """Judgments written in this session."""
        self.failed = 0
        """Of them, failed (counted as written, so items still in flight at a stop count)."""
        self._done: set[str] = set()
        """Work keys not to ask again: settled, or failed and not to be retried."""
        self._failed_before: dict[str, int] = {}
        """Failed judgments already in the store, per work key."""
        self._failed_keys: set[str] = set()
        """Work keys whose last judgment failed (a retry that succeeds removes its key)."""
        self._deciders: dict[str, list[tuple[Judge | None, str]]] = {}
        """Per condition: its judges (None: the tree's own decision) and their names."""
        self._needs: dict[str, int] | None = None
        """What :meth:`needs` found, once found."""

    def read_index(self, *, retry_failed: bool) -> None:
        """Learn from the judgments index (no judgment is read) what is done and what
        failed; ``retry_failed``: failed judgments are asked again."""
        self._done, self._failed_before = judged_keys(self.store.judgments)
        self._failed_keys = set(self._failed_before) - self._done
        if not retry_failed:
            # A failed judgment stays failed until asked: re-asking would replay it.
            self._done |= set(self._failed_before)

    @property
    def people(self) -> bool:
        """Whether a judge asks a person in this terminal during the session."""
        return any(interactive(config) for config in self.experiment.judges)

    @property
    def unsettled(self) -> int:
        """Judgments whose last try failed."""
        return len(self._failed_keys)

    def keys(self, item: WorkItem) -> list[tuple[Judge | None, str]]:
        """Each judge of the item (None: the tree's own decision) with its work key (the
        transcript's id is the item's)."""
        deciders = self._deciders.get(item.condition.label)
        if deciders is None:  # the same for every item of a condition: found once
            deciders = [(j, j.identity.name) for j in self._judges_for(item)]
            if _rewards_decide(item):
                deciders.append((None, _rewards_name(item)))
            self._deciders[item.condition.label] = deciders
        return [(judge, judgment_id(item.id, name, None)) for judge, name in deciders]

    def needs(self, items: list[WorkItem]) -> dict[str, int]:
        """How many judgments an item of each condition (by label) has when it is done, for
        ``RUN/status.json``: ``oversight show`` counts the items done from the store with
        it while the file lags behind a running (or killed) session."""
        if self._needs is None:  # the same items at every write of the session
            self._needs = {}
            for item in items:
                if item.condition.label not in self._needs:
                    self._needs[item.condition.label] = len(self.keys(item))
        return self._needs

    def missing(self, item: WorkItem) -> bool:
        """Whether a judgment of ``item`` is still to be asked for."""
        return any(key not in self._done for _, key in self.keys(item))

    def _judges_for(self, item: WorkItem) -> list[Judge]:
        names = item.condition.judges
        if names is not None and getattr(item.config, "live_judge", False):
            names = [*names, item.condition.judge or ""]  # the live judge's final belief
        return [j for n, j in self.judges.items() if names is None or n in names]

    async def judge(self, item: WorkItem, transcript: Transcript) -> list[str]:
        """Every missing judgment of ``transcript``, each saved as it comes; the failures."""
        failures = []
        for judge, key in self.keys(item):
            if key in self._done:
                continue
            earlier = self._failed_before.get(key, 0)
            if judge is None:
                judgment = _rewards_judgment(item, transcript)
            else:
                # Each repeat its own draw: the judge alone sees the same view in every
                # repeat of an unassisted item. A retry is the same judge (a person who quit
                # stays gone) on fresh calls, never the cached failure.
                offset = repeat_offset(item.repeat) + earlier * JUDGE_RETRY_OFFSET
                with drawn_apart(offset):
                    judgment = await self._one(judge, transcript)
            if judgment.status == "failed" and self.meter.stop_reason is not None:
                raise CostCapReached(self.meter.cap_message())
            update: dict[str, object] = {"run_id": self.store.run_id, "work_key": key}
            if earlier:  # one record per attempt, same id
                update["metadata"] = {**judgment.metadata, "attempt": earlier + 1}
            if judgment.escalation_id is None:
                # A deferred escalation keeps the id its queue record names, so the person's
                # final judgment can supersede it; every other judgment gets the work key.
                update["id"] = key
            judgment = judgment.model_copy(update=update)
            self.store.judgments.append(judgment)
            self.made += 1
            self._done.add(key)  # settled, or failed: asked again only when told
            if settled(judgment):
                self._failed_keys.discard(key)
            else:
                self._failed_keys.add(key)
                self.failed += 1
                failures.append(f"judge {judgment.judge.name}: {judgment.error}")
        return failures

    async def _one(self, judge: Judge, transcript: Transcript) -> Judgment:
        if transcript.roles.get(JUDGE_SPEAKER) == judge.identity.name:
            live = live_judgment(transcript, judge.identity)  # it judged during the protocol
            if live is not None:
                return live
        view = JudgeView.from_transcript(transcript)
        try:
            with batchable_calls():  # the item's last step: its calls may wait in a batch
                return await judge.judge(view)
        except (CostCapReached, asyncio.CancelledError):
            raise
        except HumanQuit:  # the person stopped: start nothing new; the item stays to be asked
            self.meter.stop_reason = "interrupted"
            raise
        except Exception as err:  # a judge bug must not take the run down
            return Judgment(
                transcript_id=transcript.id,
                judge=judge.identity,
                status="failed",
                error=f"{type(err).__name__}: {err}",
                rounds_seen=view.rounds_shown,
            )


def settled(judgment: Judgment) -> bool:
    """Done for the runner: ok, skipped by a person (their answer, as in ``oversight
    judge``: not a failure, not asked again), or handed to a person (a deferred escalation,
    even of a failed automatic judgment: the person decides it, not another automatic try)."""
    return _settled(judgment.status, judgment.escalated and judgment.escalation_id is not None)


def _settled(status: str | None, handed_over: bool | None) -> bool:
    """:func:`settled`'s rule on a judgment's status and whether it was escalated with an
    escalation id (the judgments index keeps both: ``status`` and ``e``)."""
    return status in ("ok", "skipped") or bool(handed_over)


def judged_keys(judgments: JsonlLog[Judgment]) -> tuple[set[str], dict[str, int]]:
    """From the judgments index (no judgment is read): the work keys :func:`settled`
    counts done, and the failed judgments of each work key."""
    done: set[str] = set()
    failed: dict[str, int] = {}
    for key, status, handed_over in judgments.index_values("k", "status", "e"):
        if not isinstance(key, str):
            continue
        if _settled(status, handed_over):
            done.add(key)
        elif status == "failed":
            failed[key] = failed.get(key, 0) + 1
    return done, failed


def _rewards_decide(item: WorkItem) -> bool:
    return getattr(item.config, "decide", None) in _OWN_DECISIONS


def _rewards_name(item: WorkItem) -> str:
    return f"{item.condition.label}-{getattr(item.config, 'decide', 'rewards')}"


def _rewards_judgment(item: WorkItem, transcript: Transcript) -> Judgment:
    """The tree's own decision (``decide = "rewards"`` or ``"estimator"``), filed as a
    judgment."""
    decide = str(getattr(item.config, "decide", "rewards"))
    model = transcript.roles.get("Evaluator") or transcript.roles.get("Estimator")
    identity = JudgeIdentity(kind="llm", name=_rewards_name(item), model=model)
    try:
        probabilities = decision_probabilities(transcript)
    except Exception as err:
        return Judgment(
            transcript_id=transcript.id,
            judge=identity,
            status="failed",
            error=f"{type(err).__name__}: {err}",
        )
    how = (
        "rewards of the evaluation trees, normalised"
        if decide == "rewards"
        else "the estimator's probability for the prover's answer"
    )
    return Judgment(
        transcript_id=transcript.id,
        judge=identity,
        probabilities=probabilities,
        rationale=how,
        rounds_seen=transcript.rounds,
        metadata={"decided_by": decide},
    )
