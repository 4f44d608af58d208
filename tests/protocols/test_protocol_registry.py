"""Every registered protocol, driven the way the runner drives it: who saw what, on any question."""

from __future__ import annotations

from typing import Any

import pytest

from oversight.endpoints import Endpoint
from protocols.base import REGISTRY, ProtocolConfig, get
from transcripts import JudgeView, Question, Transcript

from .scripted import CONTEXT, SECRET, ScriptedJudge, anything, mock, question, sent, text

ROLES = (
    "debater",
    "consultant",
    "answerer",
    "critic",
    "assistant",
    "evaluator",
    "preference",
    "planter",
    "rater",
    "prover",
    "estimator",
    "leaf_judge",
)

BLIND = {"rrm": ("evaluator",), "critique": ("rater",), "prover-estimator": ("leaf_judge",)}
"""Roles that must never read the hidden text, per protocol (besides every judge)."""

OPTIONS: dict[str, list[dict[str, Any]]] = {
    "unassisted": [{}],
    "expert": [{}],
    "consultancy": [{"judge_questions": True}, {"open": True, "rounds": 1}],
    "debate": [
        {"judge_questions": True, "rounds": 2},
        {"open": True, "best_of_n": 2, "rounds": 1, "simultaneous": False},
    ],
    "critique": [
        {"critiques": 2, "critique_of_critique": True, "refine": True},
        {"self_critique": True, "answerer_chooses": True, "rate": "blind"},
    ],
    "rrm": [{"depth": 2, "branching": 2}, {"depth": 0, "decide": "judge"}],
    "rrm-expert-leaves": [{"depth": 1, "branching": 2}, {"depth": 0, "decide": "rewards"}],
    "prover-estimator": [{"depth": 2, "branching": 2}, {"depth": 0, "decide": "judge"}],
}

QUESTIONS = {
    "two answers": question(),
    "three answers": question(answers=3, correct=2),
    "no gold": question(answers=3, correct=None),
}


def cases() -> list[Any]:
    return [
        pytest.param(name, options, q, id=f"{name}-{i}-{label}")
        for name in sorted(REGISTRY)
        for i, options in enumerate(OPTIONS[name])
        for label, q in QUESTIONS.items()
    ]


def test_every_registered_protocol_has_a_case() -> None:
    assert sorted(OPTIONS) == sorted(REGISTRY)


@pytest.mark.parametrize(("name", "options", "q"), cases())
async def test_protocol_runs_and_leaks_nothing_to_the_judge(
    name: str, options: dict[str, Any], q: Question
) -> None:
    spec = get(name)
    config = spec.config.model_validate(options)
    setups = spec.setups(q, config)
    assert setups == spec.setups(q, config)
    assert len({s.label for s in setups}) == len(setups) > 0
    agents: dict[str, Endpoint] = {role: mock(role, anything) for role in ROLES}
    judge = ScriptedJudge(["What does the text say?"] * 5)

    calls = 0
    for setup in (setups[0], setups[-1]):
        transcript = await spec.run(q, agents, config=config, setup=setup, judge=judge)
        assert transcript.status == "complete" and transcript.protocol == name
        assert transcript.answer_order == setup.order
        assert set(setup.assignment.items()) <= set(transcript.assignment.items())
        assert Transcript.model_validate_json(transcript.model_dump_json()) == transcript
        assert isinstance(spec.config.model_validate(transcript.protocol_config), ProtocolConfig)
        calls += len(transcript.calls)
        for turn in transcript.turns:
            if turn.call is None:  # judges' questions, assembled trees and paths, reasoning
                assert (
                    turn.role == "judge"
                    or turn.speaker in ("Evaluation tree", "Debate path")
                    or turn.metadata.get("kind") == "scratchpad"
                )

        view = JudgeView.from_transcript(transcript)
        shown = view.model_dump_json()
        if name == "expert":
            assert view.context == CONTEXT
        else:
            assert view.context is None and SECRET not in shown
            assert all(endpoint_spec not in shown for endpoint_spec in transcript.roles.values())

    # Every model call made on the protocol's behalf is recorded on exactly one turn.
    assert sum(len(sent(agents[role])) for role in ROLES) == calls
    for request in sent(judge.endpoint):
        assert CONTEXT not in text(request) and SECRET not in text(request)
    for request in sent(agents["preference"]):
        assert SECRET not in text(request)
    blind = BLIND.get(name, ())
    for role in blind:
        assert all(CONTEXT not in text(r) and SECRET not in text(r) for r in sent(agents[role]))
    for role in set(ROLES) - {"preference", *blind}:
        assert all(CONTEXT in text(r) for r in sent(agents[role]) if r.system), role


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_roles_needed_follow_the_options(name: str) -> None:
    spec = get(name)
    for options in OPTIONS[name]:
        needed = spec.roles_needed(spec.config.model_validate(options))
        assert set(spec.roles) <= set(needed) <= set(ROLES)
    if name == "debate":
        assert spec.roles_needed(spec.config.model_validate({"best_of_n": 3})) == (
            "debater",
            "preference",
        )
    if name == "critique":
        assert spec.roles_needed(spec.config()) == ("answerer", "critic")
        assert spec.roles_needed(spec.config(self_critique=True)) == ("answerer",)
