"""Fallback: escalation now (interactive) or to the queue (deferred), nothing lost or doubled."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from rich.console import Console

from judges import (
    FallbackJudge,
    HumanJudge,
    PanelJudge,
    final_judgments,
    pending_escalations,
)
from judges.session import plan, serve
from transcripts import JudgeView, Judgment, RunStore
from transcripts.errors import ConfigError

from .helpers import Scripted, saved_run, transcript


def _human(name: str = "alice", answers: list[list[float] | str | None] | None = None) -> Scripted:
    return Scripted("human", answers or [], kind="human", annotator=name)


def _terminal(entries: str, annotator: str = "alice") -> HumanJudge:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    return HumanJudge(annotator=annotator, console=console, stream=io.StringIO(entries))


async def test_a_confident_judgment_is_not_escalated() -> None:
    human = _human()
    judge = FallbackJudge(
        Scripted("weak", [[0.9, 0.1]]),
        human=human,
        threshold=0.7,
        mode="interactive",
        name="weak+human",
    )
    judgment = await judge.judge(JudgeView.from_transcript(transcript()))
    assert judgment.probabilities == [0.9, 0.1]
    assert judgment.judge.kind == "fallback" and judgment.judge.name == "weak+human"
    assert judgment.decided_by == "llm" and not judgment.escalated
    assert [c.judge.name for c in judgment.components] == ["weak"]
    assert human.seen == []


async def test_interactive_low_confidence_asks_the_person_now() -> None:
    human = _human(answers=[[0.2, 0.8]])
    judge = FallbackJudge(
        Scripted("weak", [[0.6, 0.4]]), human=human, threshold=0.7, mode="interactive"
    )
    view = JudgeView.from_transcript(transcript(order=[1, 0]))
    judgment = await judge.judge(view)
    assert human.seen == [view]
    assert judgment.status == "ok" and judgment.probabilities == [0.2, 0.8]
    assert judgment.decided_by == "human" and judgment.escalated
    assert (
        judgment.escalation_reason
        and "low confidence: 0.60 < threshold 0.70" in judgment.escalation_reason
    )
    first, person = judgment.components
    assert first.probabilities == [0.6, 0.4] and person.judge.annotator == "alice"
    assert judgment.escalated_from == first.id
    assert judgment.judge.annotator == "alice"


@pytest.mark.parametrize("on_failure", [True, False])
async def test_failure_escalates_when_the_policy_says_so(on_failure: bool) -> None:
    human = _human(answers=[[0.3, 0.7]])
    judge = FallbackJudge(
        Scripted("weak", [None]), human=human, mode="interactive", on_failure=on_failure
    )
    judgment = await judge.judge(JudgeView.from_transcript(transcript()))
    if on_failure:
        assert judgment.decided_by == "human" and judgment.probabilities == [0.3, 0.7]
        assert judgment.escalation_reason and "failed" in judgment.escalation_reason
    else:
        assert judgment.status == "failed" and judgment.probabilities is None
        assert judgment.error == "scripted failure" and human.seen == []


async def test_panel_disagreement_escalates() -> None:
    panel = PanelJudge([Scripted("a", [[0.9, 0.1]]), Scripted("b", [[0.2, 0.8]])])
    human = _human(answers=[[1.0, 0.0]])
    judge = FallbackJudge(panel, human=human, mode="interactive", on_disagreement=True)
    judgment = await judge.judge(JudgeView.from_transcript(transcript()))
    assert judgment.decided_by == "human"
    assert (
        judgment.escalation_reason and "disagreement: agreement 0.50" in judgment.escalation_reason
    )
    assert judgment.components[0].judge.kind == "panel"


async def test_interactive_skip_and_quit() -> None:
    view = JudgeView.from_transcript(transcript())
    judge = FallbackJudge(
        Scripted("weak", [[0.6, 0.4]]),
        human=_human(answers=["skip"]),
        threshold=0.7,
        mode="interactive",
    )
    judgment = await judge.judge(view)
    assert judgment.decided_by == "llm" and judgment.probabilities == [0.6, 0.4]
    assert judgment.escalated and judgment.metadata["human"] == "skipped"

    judge = FallbackJudge(
        Scripted("weak", [None]), human=_human(answers=["skip"]), mode="interactive"
    )
    judgment = await judge.judge(view)
    assert (
        judgment.status == "failed"
        and judgment.error
        and "person gave no judgment" in judgment.error
    )

    human = _human(answers=["quit"])
    judge = FallbackJudge(
        Scripted("weak", [[0.6, 0.4], [0.55, 0.45]]), human=human, threshold=0.7, mode="interactive"
    )
    judgment = await judge.judge(view)
    assert judgment.decided_by == "llm" and "unavailable" in judgment.metadata["human"]
    await judge.judge(view)  # the person is gone: not asked again
    assert len(human.seen) == 1


async def test_interactive_quit_with_a_store_sends_the_rest_to_the_queue(tmp_path: Path) -> None:
    store = saved_run(tmp_path / "run", [transcript("t1"), transcript("t2")])
    human = _human(answers=["quit"])
    judge = FallbackJudge(
        Scripted("weak", [[0.6, 0.4], [0.5, 0.5]]),
        human=human,
        threshold=0.7,
        mode="interactive",
        store=store,
    )
    for t in ("t1", "t2"):
        judgment = await judge.judge(JudgeView.from_transcript(transcript(t)))
        assert judgment.escalation_id
    assert [e.transcript_id for e in pending_escalations(store)] == ["t1", "t2"]
    assert len(human.seen) == 1


async def test_the_run_goes_on_while_the_person_is_asked() -> None:
    release = asyncio.Event()

    class SlowHuman(Scripted):
        async def judge(self, view: JudgeView) -> Judgment:
            await release.wait()
            return await super().judge(view)

    judge = FallbackJudge(
        Scripted("weak", [[0.6, 0.4], [0.95, 0.05]]),
        mode="interactive",
        human=SlowHuman("human", [[0.1, 0.9]], kind="human", annotator="alice"),
        threshold=0.7,
    )
    waiting = asyncio.create_task(judge.judge(JudgeView.from_transcript(transcript("t1"))))
    await asyncio.sleep(0)
    other = await judge.judge(JudgeView.from_transcript(transcript("t2")))
    assert other.decided_by == "llm" and not waiting.done()
    release.set()
    assert (await waiting).decided_by == "human"


def test_modes_need_their_partner() -> None:
    with pytest.raises(ConfigError, match="no human judge"):
        FallbackJudge(Scripted("weak", []), mode="interactive")
    with pytest.raises(ConfigError, match="no run store"):
        FallbackJudge(Scripted("weak", []), mode="deferred")


async def test_deferred_queues_the_item_and_returns_the_automatic_decision(
    tmp_path: Path,
) -> None:
    store = saved_run(tmp_path / "run", [transcript("t1", order=[1, 0])])
    judge = FallbackJudge(
        Scripted("weak", [[0.6, 0.4]]), threshold=0.7, store=store, name="weak+human"
    )
    view = JudgeView.from_transcript(transcript("t1", order=[1, 0]))
    provisional = await judge.judge(view)
    assert provisional.status == "ok" and provisional.probabilities == [0.6, 0.4]
    assert provisional.escalated and provisional.decided_by == "llm"
    [escalation] = list(store.escalations)
    assert escalation.first == provisional
    assert escalation.judge_name == "weak+human" and escalation.rounds == 2
    assert provisional.escalation_id == escalation.id
    assert "low confidence" in escalation.reason


async def test_separate_runs_file_the_same_escalation_under_the_same_ids(
    tmp_path: Path,
) -> None:
    ids = []
    for folder in ("first", "second"):
        store = saved_run(tmp_path / folder, [transcript("t1")])
        judge = FallbackJudge(
            Scripted("weak", [[0.6, 0.4]]), threshold=0.7, store=store, name="weak+human"
        )
        provisional = await judge.judge(JudgeView.from_transcript(transcript("t1")))
        [escalation] = list(store.escalations)
        ids.append((provisional.id, escalation.id))
    assert ids[0] == ids[1]
    other = saved_run(tmp_path / "other", [transcript("t2")])
    judge = FallbackJudge(
        Scripted("weak", [[0.6, 0.4]]), threshold=0.7, store=other, name="weak+human"
    )
    assert (await judge.judge(JudgeView.from_transcript(transcript("t2")))).id != ids[0][0]


async def _deferred_run(store: RunStore, ids: list[str], answers: list[list[float]]) -> None:
    """What the runner does: judge each transcript and append the judgment."""
    judge = FallbackJudge(
        Scripted("weak", list(answers)), threshold=0.7, store=store, name="weak+human"
    )
    for tid in ids:
        view = JudgeView.from_transcript(transcript(tid))
        store.judgments.append(await judge.judge(view))


async def test_the_queue_survives_restarts_without_duplicates(tmp_path: Path) -> None:
    store = saved_run(tmp_path / "run", [transcript(t) for t in ("t1", "t2", "t3")])
    await _deferred_run(store, ["t1", "t2", "t3"], [[0.6, 0.4], [0.9, 0.1], [0.5, 0.5]])
    store.close()

    # A restarted run judges the same items again: nothing is asked or queued twice.
    store = RunStore.open(tmp_path / "run")
    restarted = FallbackJudge(
        Scripted("weak", [[0.99, 0.01]]), threshold=0.7, store=store, name="weak+human"
    )
    again = await restarted.judge(JudgeView.from_transcript(transcript("t1")))
    assert again.id == next(iter(store.escalations)).first.id
    assert len(list(store.escalations)) == 2
    assert [e.transcript_id for e in pending_escalations(store)] == ["t1", "t3"]


async def test_serving_the_queue_resolves_each_item_once(tmp_path: Path) -> None:
    store = saved_run(tmp_path / "run", [transcript(t) for t in ("t1", "t2", "t3")])
    await _deferred_run(store, ["t1", "t2", "t3"], [[0.6, 0.4], [0.9, 0.1], [0.5, 0.5]])
    store.close()

    # Session 1: the person judges the first queued item, then the terminal closes.
    store = RunStore.open(tmp_path / "run")
    items = plan(store, annotator="alice")
    assert [i.transcript.id for i in items] == ["t1", "t3"]
    result = serve(store, _terminal("30 70\nthe quote is invented\n"), items)
    assert result.stopped and result.judged == 1 and result.remaining == 1
    store.close()

    # Session 2 resumes with the item left.
    store = RunStore.open(tmp_path / "run")
    items = plan(store, annotator="alice")
    assert [i.transcript.id for i in items] == ["t3"]
    assert serve(store, _terminal("A 80\n\n"), items).judged == 1
    assert plan(store, annotator="alice") == [] and pending_escalations(store) == []

    judgments = list(store.judgments)
    assert len(judgments) == 5  # 3 from the run, 2 final
    finals = [j for j in judgments if j.decided_by == "human"]
    assert len({j.escalation_id for j in finals}) == 2
    t1 = next(j for j in finals if j.transcript_id == "t1")
    provisional = next(j for j in judgments if j.transcript_id == "t1" and j.decided_by == "llm")
    llm, person = t1.components
    assert t1.judge.name == "weak+human" and t1.judge.kind == "fallback"
    assert t1.supersedes == provisional.id
    assert t1.escalated_from == llm.id and llm.probabilities == [0.6, 0.4]
    assert person.escalated_from == t1.escalation_id
    assert person.judge.annotator == "alice" and person.rationale == "the quote is invented"
    order = person.metadata["presented_order"]
    assert t1.probabilities is not None
    assert t1.probabilities[order[0]] == pytest.approx(0.3)
    assert t1.run_id == store.run_id

    # The final judgment per transcript and judge: the person's where there is one.
    final = {j.transcript_id: j for j in final_judgments(store.judgments)}
    assert final["t1"].id == t1.id and final["t2"].decided_by == "llm"
    assert final["t3"].decided_by == "human"
    assert len(final) == 3


async def test_a_skipped_queue_item_stays_for_others(tmp_path: Path) -> None:
    store = saved_run(tmp_path / "run", [transcript("t1")])
    await _deferred_run(store, ["t1"], [[0.6, 0.4]])
    assert serve(store, _terminal("s\n"), plan(store, annotator="alice")).skipped == 1
    assert plan(store, annotator="alice") == []
    assert len(plan(store, annotator="alice", include_skipped=True)) == 1
    assert len(plan(store, annotator="bob")) == 1
    assert len(pending_escalations(store)) == 1


async def test_an_item_resolved_meanwhile_is_not_resolved_twice(tmp_path: Path) -> None:
    store = saved_run(tmp_path / "run", [transcript("t1")])
    await _deferred_run(store, ["t1"], [[0.6, 0.4]])
    alice_items = plan(store, annotator="alice")
    bob_items = plan(store, annotator="bob")
    serve(store, _terminal("70 30\n\n", "alice"), alice_items)
    # Bob planned before alice answered; at serve time the item is resolved, so it is
    # passed over rather than judged a second time (a queued item's target is one).
    bob = serve(store, _terminal("40 60\n\n", "bob"), bob_items)
    assert bob.busy == 1 and bob.judged == 0
    finals = [j for j in store.judgments if j.decided_by == "human"]
    assert len(finals) == 1 and finals[0].judge.annotator == "alice"
    assert not [j for j in store.judgments if j.judge.annotator == "bob"]


@pytest.mark.parametrize(
    ("top", "escalated", "shown"),
    [
        (0.699, True, "low confidence: 0.699 < threshold 0.700"),  # (was "0.70 < 0.70")
        (0.7, False, None),  # exactly at the threshold: not below it, not escalated
        (0.71, False, None),
    ],
)
async def test_the_threshold_compares_the_top_probability_strictly_below(
    top: float, escalated: bool, shown: str | None
) -> None:
    human = _human(answers=[[0.5, 0.5]])
    judge = FallbackJudge(
        Scripted("weak", [[top, 1 - top]]), human=human, threshold=0.7, mode="interactive"
    )
    judgment = await judge.judge(JudgeView.from_transcript(transcript()))
    assert judgment.escalated is escalated
    if shown is not None:
        assert judgment.escalation_reason and shown in judgment.escalation_reason
