"""Panels: members asked at once, combined by mean or majority, agreement recorded."""

from __future__ import annotations

import asyncio
import io
import itertools
from pathlib import Path

import pytest
from rich.console import Console

from judges import FallbackJudge, HumanJudge, LLMJudge, PanelJudge, build_judge
from oversight.endpoints import endpoint
from transcripts import JudgeView
from transcripts.errors import ConfigError

from .helpers import ANSWERS, Scripted, believer, saved_run, transcript


async def test_mean_and_majority_with_agreement() -> None:
    view = JudgeView.from_transcript(transcript())
    answers = [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]]

    def members() -> list[Scripted]:
        return [Scripted(f"m{i}", [a]) for i, a in enumerate(answers)]

    mean = await PanelJudge(members(), name="trio").judge(view)
    assert mean.probabilities == pytest.approx([17 / 30, 13 / 30])
    assert mean.agreement == pytest.approx(2 / 3)
    assert mean.judge.kind == "panel" and mean.judge.name == "trio"
    assert [c.judge.name for c in mean.components] == ["m0", "m1", "m2"]
    assert mean.decided_by == "mean"

    majority = await PanelJudge(members(), combine="majority").judge(view)
    assert majority.probabilities == pytest.approx([2 / 3, 1 / 3])
    assert majority.agreement == pytest.approx(2 / 3)


async def test_failed_members_are_kept_but_not_counted() -> None:
    view = JudgeView.from_transcript(transcript())
    panel = PanelJudge([Scripted("a", [[0.8, 0.2]]), Scripted("b", [None])])
    judgment = await panel.judge(view)
    assert judgment.status == "ok"
    assert judgment.probabilities == pytest.approx([0.8, 0.2])
    assert judgment.agreement == 1.0
    assert [c.status for c in judgment.components] == ["ok", "failed"]
    assert judgment.metadata["members_failed"] == 1

    everyone_fails = PanelJudge([Scripted("a", [None]), Scripted("b", [None])])
    judgment = await everyone_fails.judge(view)
    assert judgment.status == "failed"
    assert judgment.probabilities is None
    assert judgment.error and "every panel member failed" in judgment.error


async def test_members_are_judged_concurrently() -> None:
    started: list[str] = []
    both = asyncio.Event()

    class Waiting(Scripted):
        async def judge(self, view: JudgeView):  # type: ignore[no-untyped-def]
            started.append(self.identity.name)
            if len(started) == 2:
                both.set()
            await asyncio.wait_for(both.wait(), timeout=2)  # deadlocks if run one by one
            return await super().judge(view)

    panel = PanelJudge([Waiting("a", [[0.7, 0.3]]), Waiting("b", [[0.6, 0.4]])])
    judgment = await panel.judge(JudgeView.from_transcript(transcript()))
    assert judgment.status == "ok"


@pytest.mark.parametrize("order", [list(p) for p in itertools.permutations(range(3))])
async def test_a_panel_of_llms_maps_every_order_back(order: list[int]) -> None:
    beliefs = [
        {ANSWERS[0]: 0.5, ANSWERS[1]: 0.3, ANSWERS[2]: 0.2},
        {ANSWERS[0]: 0.1, ANSWERS[1]: 0.3, ANSWERS[2]: 0.6},
    ]
    members = [
        LLMJudge(endpoint(f"mock/m{i}", replies=believer(b)), name=f"m{i}")
        for i, b in enumerate(beliefs)
    ]
    view = JudgeView.from_transcript(transcript(n=3, order=order))
    judgment = await PanelJudge(members).judge(view)
    assert judgment.probabilities == pytest.approx([0.3, 0.3, 0.4])
    assert judgment.verdict == 2
    assert judgment.agreement == pytest.approx(0.5)


def test_a_panel_needs_distinct_members() -> None:
    with pytest.raises(ConfigError, match="no members"):
        PanelJudge([])
    with pytest.raises(ConfigError, match="same name"):
        PanelJudge([Scripted("a", []), Scripted("a", [])])
    # A spec cannot name its members: the error says what can be done instead.
    with pytest.raises(ConfigError, match=r"name = .* samples = k"):
        build_judge("panel:llm=mock/a,llm=mock/a", endpoint_factory=lambda spec: endpoint(spec))


async def test_a_person_who_stops_stops_the_panel_not_a_failed_member() -> None:
    from judges import HumanQuit

    view = JudgeView.from_transcript(transcript())
    person = HumanJudge(
        annotator="ann", console=Console(file=io.StringIO()), stream=io.StringIO("q\n")
    )
    panel = PanelJudge([Scripted("llm", [[0.8, 0.2], [0.7, 0.3]]), person], name="mixed")
    with pytest.raises(HumanQuit):  # (was: an ok judgment of the LLM alone, never asked again)
        await panel.judge(view)
    with pytest.raises(HumanQuit):
        await panel.judge(view)


async def test_a_member_who_skips_abstains_and_is_not_counted_as_failed() -> None:
    view = JudgeView.from_transcript(transcript())
    panel = PanelJudge(
        [Scripted("weak", [[0.8, 0.2]]), Scripted("alice", ["skip"], kind="human")], name="p"
    )
    judgment = await panel.judge(view)
    assert judgment.status == "ok" and judgment.probabilities == pytest.approx([0.8, 0.2])
    assert judgment.metadata["members_failed"] == 0
    assert judgment.metadata["members_skipped"] == 1
    # Everyone skipped: the panel's answer is a skip (the people's answer), not a failure.
    people = [Scripted(n, ["skip"], kind="human", annotator=n) for n in ("alice", "bob")]
    judgment = await PanelJudge(people, name="p").judge(view)
    assert judgment.status == "skipped" and judgment.error is None


DEFERRED_MEMBER = "a deferred fallback judge cannot be a panel's member"


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "panel", "members": ["llm:mock/a", {"kind": "fallback", "endpoint": "mock/b"}]},
        {
            "kind": "fallback",
            "mode": "interactive",
            "annotator": "ann",
            "members": ["llm:mock/a", {"kind": "fallback", "endpoint": "mock/b"}],
        },
    ],
)
def test_build_judge_refuses_a_deferred_fallback_member_as_the_experiment_file_does(
    tmp_path: Path, spec: dict[str, object]
) -> None:
    """The person's later answer to the member's queued item would not change the panel's
    verdict (was: refused in an experiment file, built from Python)."""
    store = saved_run(tmp_path / "run", [transcript()])
    with pytest.raises(ConfigError, match=DEFERRED_MEMBER) as caught:
        build_judge(spec, endpoint_factory=endpoint, store=store)
    assert "judge.members[1]" in str(caught.value)
    assert 'kind = "fallback" with members = [...]' in str(caught.value)
    # A fallback around the panel is the way, and queues as before.
    around = {"kind": "fallback", "members": ["llm:mock/a", "llm:mock/b"]}
    assert isinstance(build_judge(around, endpoint_factory=endpoint, store=store), FallbackJudge)


def test_a_panel_refuses_a_member_that_would_queue_for_a_later_session(tmp_path: Path) -> None:
    store = saved_run(tmp_path / "run", [transcript()])
    deferred = FallbackJudge(Scripted("weak", []), store=store, name="later")
    with pytest.raises(ConfigError, match=DEFERRED_MEMBER):
        PanelJudge([Scripted("a", []), deferred], name="p")
    person = HumanJudge(annotator="ann", console=Console(file=io.StringIO()))
    queues_after_a_quit = FallbackJudge(
        Scripted("weak", []), human=person, store=store, mode="interactive", name="now"
    )
    with pytest.raises(ConfigError, match="takes no store"):
        PanelJudge([Scripted("a", []), queues_after_a_quit], name="p")
