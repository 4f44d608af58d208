"""The live judge (Michael et al. 2023) in debate, consultancy and critique.

The judge is an LLM judge on the fake OpenAI server (real SDK, real HTTP); speakers are
scripted mock endpoints, whose requests show what each speaker read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from judges import LLMJudge, PanelJudge
from oversight.endpoints import Request, endpoint
from oversight.testing import FakeOpenAIServer
from protocols import consultancy, critique, debate
from protocols.base import Setup
from protocols.live import live_judgment, live_turns
from transcripts import JudgeIdentity, JudgeView, Transcript
from transcripts.errors import JudgeError, ProtocolError
from transcripts.live import Scoring, live_reward, scoring_of

from .scripted import ScriptedJudge, mock, question, round_in, sent, speaker_in, text


def speech(request: Request) -> str:
    return f"{speaker_in(request)} speaks in round {round_in(request)}."


Plan = list[tuple[dict[str, float], str, str]]
"""Per judge turn after the prior: (presented beliefs, question, decision)."""


def scripted_judge(plan: Plan, prior: dict[str, float]) -> Callable[[Any], Any]:
    """A fake-server reply script: the prior, then the plan's turns in order."""

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        prompt = body["messages"][-1]["content"]
        schema = body["response_format"]["json_schema"]["schema"]
        if "No speaker has spoken yet" in prompt:
            return {"rationale": "prior", "probabilities": prior}
        turn = prompt.count("Your beliefs after your earlier turns") and prompt.count("- turn ")
        beliefs, asked, decision = plan[turn - 1]
        out: dict[str, Any] = {"rationale": f"turn {turn}", "probabilities": beliefs}
        if "decision" in schema["properties"]:
            out |= {"question": asked, "decision": decision}
        return out

    return reply


def debate_setup() -> Setup:
    # Original answer 1 is shown first ("A"), so presented and original order differ.
    return Setup(order=[1, 0], assignment={"Debater A": 1, "Debater B": 0})


async def run_debate(
    plan: Plan, *, config: debate.Config, prior: dict[str, float] | None = None
) -> tuple[Transcript, Any, FakeOpenAIServer]:
    debater = mock("debater", speech)
    async with FakeOpenAIServer(reply=scripted_judge(plan, prior or {"A": 0.5, "B": 0.5})) as srv:
        judge_ep = endpoint(
            "openai/gpt-4o-mini", base_url=srv.base_url, api_key="test", cache=False
        )
        judge = LLMJudge(judge_ep, name="live-llm")
        config = config.model_copy(update={"scratchpad": False, "require_quotes": False})
        transcript = await debate.run(
            question(), {"debater": debater}, config=config, setup=debate_setup(), judge=judge
        )
    return transcript, debater, srv


async def test_the_judge_ends_the_debate_and_its_last_belief_is_the_judgment() -> None:
    plan: Plan = [
        ({"A": 0.6, "B": 0.4}, "Which chapter says so?", "continue"),
        ({"A": 0.2, "B": 0.8}, "", "end"),
    ]
    config = debate.Config(live_judge=True, max_rounds=4, turn_penalty=0.05)
    transcript, debater, server = await run_debate(plan, config=config)

    speeches = [
        (t.round, t.speaker)
        for t in transcript.turns
        if t.role == "debater" and t.visibility == "public"
    ]
    assert speeches == [(0, "Debater A"), (0, "Debater B"), (1, "Debater A"), (1, "Debater B")]
    judged = live_turns(transcript)
    assert [(t.round, t.decision) for t in judged] == [(0, "continue"), (0, "continue"), (1, "end")]
    # Stored in original order: presented A is original answer 1.
    assert [t.probabilities for t in judged] == [[0.5, 0.5], [0.4, 0.6], [0.8, 0.2]]
    assert judged[1].content == "Which chapter says so?" and judged[1].visibility == "public"
    assert judged[0].visibility == judged[2].visibility == "private"
    assert all(t.call is not None for t in judged) and server.total_requests == 3
    assert transcript.roles["Judge"] == "live-llm"

    # The debaters of round 2 read the question, never a belief.
    second = [text(r) for r in sent(debater) if round_in(r) == 2]
    assert second and all("Which chapter says so?" in s for s in second)
    assert not any("60%" in s or "beliefs" in s for s in map(text, sent(debater)))
    # The judge's second turn showed it its earlier beliefs, in presented order.
    last_prompt = server.requests[-1].body["messages"][-1]["content"]
    assert "- turn 1: A 50%, B 50%" in last_prompt and "- turn 2: A 60%, B 40%" in last_prompt
    # Offline judges of the finished debate see the question but no belief.
    view = JudgeView.from_transcript(transcript)
    assert [t.content for t in view.turns if t.role == "judge"] == ["Which chapter says so?"]
    assert "0.6" not in view.model_dump_json()

    judgment = live_judgment(transcript, JudgeIdentity(kind="llm", name="live-llm"))
    assert judgment is not None and judgment.live
    assert judgment.probabilities == [0.8, 0.2] and judgment.rounds_seen == 2
    assert judgment.metadata == {"judge_turns": 3, "continues": 2}
    # Gold is original answer 0: log2(0.8) - 2 turns x 0.05.
    scoring = scoring_of(transcript.protocol_config)
    assert scoring == Scoring(turn_penalty=0.05)
    assert live_reward(0.8, 2, scoring) == pytest.approx(math.log2(0.8) - 0.1)


async def test_the_judge_is_told_the_reward_rule_and_the_protocols_turn_penalty() -> None:
    # As the paper's app showed its judges: the log score of the final belief and the size
    # of the penalty per further round, read from the protocol's turn_penalty option.
    plan: Plan = [({"A": 0.6, "B": 0.4}, "", "continue"), ({"A": 0.2, "B": 0.8}, "", "end")]
    config = debate.Config(live_judge=True, max_rounds=4, turn_penalty=0.12)
    _, _, server = await run_debate(plan, config=config)
    prior, *choices = [" ".join(r.body["messages"][-1]["content"].split()) for r in server.requests]
    assert len(choices) == 2
    for prompt in choices:
        assert "log2 of your final probability on the correct answer" in prompt
        assert "0.8 there scores -0.32" in prompt
        assert "minus 0.12 for every further round you choose to hear" in prompt
    assert "0.12" not in prior  # the prior cannot end the debate: no choice, no cost


async def test_show_beliefs_lets_the_debaters_read_them() -> None:
    plan: Plan = [({"A": 0.7, "B": 0.3}, "", "continue"), ({"A": 0.9, "B": 0.1}, "", "end")]
    config = debate.Config(live_judge=True, max_rounds=3, show_beliefs=True)
    _, debater, _ = await run_debate(plan, config=config)
    second = [text(r) for r in sent(debater) if round_in(r) == 2]
    assert all("the judge's beliefs now: A 70%, B 30%" in s for s in second)


async def test_at_max_rounds_the_debate_ends_whatever_the_judge_wanted() -> None:
    plan: Plan = [({"A": 0.5, "B": 0.5}, "More?", "continue")] * 2
    config = debate.Config(live_judge=True, max_rounds=2)
    transcript, _, server = await run_debate(plan, config=config)
    judged = live_turns(transcript)
    assert [t.decision for t in judged] == ["continue", "continue", "end"]
    assert judged[-1].metadata["stopped_at_max_rounds"] is True  # it was given no choice
    last_schema = server.requests[-1].body["response_format"]["json_schema"]["schema"]
    assert "decision" not in last_schema["properties"]
    assert "This was the last round" in server.requests[-1].body["messages"][-1]["content"]


async def test_the_papers_schedule_opens_at_once_then_speaks_in_turn() -> None:
    debater = mock("debater", speech)
    await debate.run(
        question(),
        {"debater": debater},
        config=debate.Config(rounds=2, simultaneous="opening"),
        setup=debate_setup(),
    )
    seen = {(speaker_in(r), round_in(r)): text(r) for r in sent(debater)}
    assert "Debater A speaks in round 1" not in seen[("Debater B", 1)]
    assert "Debater A speaks in round 2" in seen[("Debater B", 2)]
    assert "Debater B speaks in round 2" not in seen[("Debater A", 2)]


async def test_live_consultancy_and_critique_stop_when_the_judge_ends() -> None:
    plan: Plan = [({"A": 0.9, "B": 0.1}, "", "end")]
    async with FakeOpenAIServer(reply=scripted_judge(plan, {"A": 0.5, "B": 0.5})) as srv:
        judge = LLMJudge(
            endpoint("openai/gpt-4o-mini", base_url=srv.base_url, api_key="test", cache=False)
        )
        consult = await consultancy.run(
            question(),
            {"consultant": mock("c", lambda r: "Salt cod, surely.")},
            config=consultancy.Config(rounds=3, live_judge=True),
            setup=Setup(order=[0, 1], assignment={"Consultant": 0}),
            judge=judge,
        )
        crit = await critique.run(
            question(),
            {
                "answerer": mock("a", lambda r: "Salt cod."),
                "critic": mock("k", lambda r: "No evidence."),
            },
            config=critique.Config(live_judge=True, refine=True),
            setup=Setup(order=[0, 1], assignment={"Answerer": 0}),
            judge=judge,
        )
    shown = [t.role for t in consult.turns if t.visibility == "public" or t.decision]
    assert shown == ["judge", "consultant", "judge"]
    assert [t.role for t in crit.turns if t.visibility == "public" or t.decision] == [
        "judge",
        "answerer",
        "judge",
    ]
    assert live_turns(crit)[-1].probabilities == [0.9, 0.1]


async def test_a_live_judge_is_required_and_excludes_plain_judge_questions() -> None:
    with pytest.raises(ProtocolError, match="live_judge is on, but run\\(\\) was given no judge"):
        await debate.run(
            question(),
            {"debater": mock("d", speech)},
            config=debate.Config(live_judge=True),
            setup=debate_setup(),
        )
    with pytest.raises(ValueError, match="leave judge_questions off"):
        debate.Config(live_judge=True, judge_questions=True)
    with pytest.raises(ValueError, match="max_rounds, show_beliefs only apply with live_judge"):
        consultancy.Config(max_rounds=3, show_beliefs=True)


async def test_an_unreadable_live_reply_is_asked_again_and_every_call_is_kept() -> None:
    replies = iter(
        [
            {"rationale": "prior", "probabilities": {"A": 0.5, "B": 0.5}},
            {"rationale": "x", "probabilities": {"A": 0.0, "B": 0.0}},
            {"rationale": "y", "probabilities": {"A": 0.3, "B": 0.7}},
        ]
    )
    async with FakeOpenAIServer(reply=lambda body: json.dumps(next(replies))) as srv:
        judge = LLMJudge(
            endpoint("openai/gpt-4o-mini", base_url=srv.base_url, api_key="test", cache=False)
        )
        transcript = await debate.run(
            question(),
            {"debater": mock("d", speech)},
            config=debate.Config(live_judge=True, max_rounds=1),
            setup=debate_setup(),
            judge=judge,
        )
    judged = [t for t in transcript.turns if t.role == "judge" and t.call is not None]
    assert len(judged) == 3  # three judge calls, each on a turn (one of them unread)
    assert live_turns(transcript)[-1].probabilities == [0.7, 0.3]


async def test_a_reply_with_a_decision_outside_the_schema_fails_the_item_clearly() -> None:
    """The endpoint re-asks for a schema-valid reply (it owns that); then the live turn fails
    with a JudgeError naming the judge, never a guessed decision."""

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        if "No speaker has spoken yet" in body["messages"][-1]["content"]:
            return {"rationale": "prior", "probabilities": {"A": 0.5, "B": 0.5}}
        return {
            "rationale": "r",
            "probabilities": {"A": 0.5, "B": 0.5},
            "question": "",
            "decision": "maybe",
        }

    async with FakeOpenAIServer(reply=reply) as srv:
        judge = LLMJudge(
            endpoint(
                "openai/gpt-4o-mini",
                base_url=srv.base_url,
                api_key="test",
                cache=False,
                validation_retries=1,
            )
        )
        with pytest.raises(JudgeError, match="openai/gpt-4o-mini gave no live belief"):
            await debate.run(
                question(),
                {"debater": mock("d", speech)},
                config=debate.Config(live_judge=True, max_rounds=3),
                setup=debate_setup(),
                judge=judge,
            )
    assert srv.total_requests == 1 + 2  # the prior, then a reply and one re-ask


def test_the_rewards_log_floor_is_the_reports() -> None:
    from oversight.analysis._stats import LOG_FLOOR
    from transcripts.live import LOG_FLOOR as REWARD_FLOOR

    assert REWARD_FLOOR == LOG_FLOOR
    assert live_reward(0.0, 0, Scoring(turn_penalty=0.05)) == pytest.approx(math.log2(1e-6))


async def test_any_judge_can_be_live_by_default_and_never_ends_early() -> None:
    """A judge without its own live turn judges the transcript so far at each turn, asks its
    between-round question, and hears every round up to max_rounds."""
    judge = ScriptedJudge(["Why salt?", None])
    transcript = await debate.run(
        question(),
        {"debater": mock("d", speech)},
        config=debate.Config(live_judge=True, max_rounds=3),
        setup=debate_setup(),
        judge=judge,
    )
    judged = live_turns(transcript)
    assert [(t.round, t.decision, t.content) for t in judged] == [
        (0, "continue", ""),
        (0, "continue", "Why salt?"),
        (1, "continue", ""),
        (2, "end", ""),
    ]
    assert all(t.probabilities == [0.5, 0.5] for t in judged)
    assert [v.rounds_shown for v in judge.views] == [1, 2]  # asked after rounds 1 and 2 only


async def test_a_live_critique_runs_every_stage_while_the_judge_continues() -> None:
    """Prior, proposal, judge, critique, judge, refinement, judge (the last one ends)."""
    judge = ScriptedJudge(["What is the flaw?", "Answer the critic."])
    crit = await critique.run(
        question(),
        {
            "answerer": mock("a", lambda r: "Salt cod."),
            "critic": mock("k", lambda r: "No evidence."),
        },
        config=critique.Config(live_judge=True, refine=True, refine_answer="keep"),
        setup=Setup(order=[0, 1], assignment={"Answerer": 0}),
        judge=judge,
    )
    public = [
        (t.role, t.round, t.decision) for t in crit.turns if t.visibility == "public" or t.decision
    ]
    assert public == [
        ("judge", 0, "continue"),
        ("answerer", 0, None),
        ("judge", 0, "continue"),
        ("critic", 1, None),
        ("judge", 1, "continue"),
        ("answerer", 2, None),
        ("judge", 2, "end"),
    ]
    assert [t.content for t in live_turns(crit)] == [
        "",
        "What is the flaw?",
        "Answer the critic.",
        "",
    ]


async def test_a_panel_live_judge_keeps_every_members_call_on_the_transcript() -> None:
    """A panel's calls are its members' (in ``components``): each live turn's calls are on
    the transcript, so its cost counts them (was: none, the panel's spend invisible)."""
    belief = json.dumps({"rationale": "r", "probabilities": {"A": 0.6, "B": 0.4}})
    async with FakeOpenAIServer(reply=lambda body: belief) as srv:

        def member(name: str) -> LLMJudge:
            ep = endpoint("openai/gpt-4o-mini", base_url=srv.base_url, api_key="t", cache=False)
            return LLMJudge(ep, name=name)

        transcript = await debate.run(
            question(),
            {"debater": mock("d", speech)},
            config=debate.Config(live_judge=True, max_rounds=1),
            setup=debate_setup(),
            judge=PanelJudge([member("a"), member("b")]),
        )
        asked = len(srv.requests)
    judged = [t for t in transcript.turns if t.role == "judge" and t.call is not None]
    assert asked == 4 and len(judged) == 4  # the prior and one turn, two members each
    assert {t.metadata["live"] for t in judged} == {"opening", "after_round", "member"}
    assert len(live_turns(transcript)) == 2
