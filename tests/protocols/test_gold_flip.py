"""No leak from the answer set: changing only which answer is gold changes no judge request.

For every protocol and 2, 3 and 4 answers, each setup is run twice, once with gold 0 and
once with the last answer as gold, and every request the LLM judge sends (questions between
rounds and the final verdict) must be byte-identical. Protocols whose setups do not depend
on the gold must also produce the same setups; consultancy deliberately argues the gold in
half of its setups (Khan et al. 2024), so for it the mix of setups differs but never a
request of a given setup.
"""

from __future__ import annotations

from typing import Any

import pytest

from judges import LLMJudge
from oversight.endpoints import Request
from protocols.base import REGISTRY, Setup, get
from transcripts import JudgeView, Question

from .scripted import CONTEXT, anything, mock, properties, sent

OPTIONS: dict[str, dict[str, Any]] = {
    "unassisted": {},
    "expert": {},
    "consultancy": {"judge_questions": True, "rounds": 2},
    "debate": {"judge_questions": True, "rounds": 2},
    "critique": {"critiques": 2, "refine": True},
    "rrm": {"depth": 1, "branching": 2},
    "rrm-expert-leaves": {"depth": 1, "branching": 2},
    "prover-estimator": {"depth": 1, "branching": 2, "decide": "judge"},
}
ROLES = (
    "debater",
    "consultant",
    "answerer",
    "critic",
    "assistant",
    "evaluator",
    "planter",
    "rater",
    "prover",
    "estimator",
    "leaf_judge",
)
WORDS = ["Salt cod", "Iron ore", "Raw wool", "Brass needles"]


def _question(n: int, gold: int) -> Question:
    return Question(
        id="merrow",
        text="What did the Merrow carry?",
        answers=WORDS[:n],
        correct=gold,
        context=CONTEXT,
        source="story",
    )


def _verdict(request: Request) -> Any:
    props = properties(request)
    if "probabilities" in props:
        names = list(props["probabilities"]["properties"])
        return {"rationale": "close", "probabilities": {k: 1 / len(names) for k in names}}
    return "Which quote is verified?"


async def _judge_requests(name: str, q: Question, setup: Setup) -> list[str]:
    spec = get(name)
    config = spec.config.model_validate(OPTIONS[name])
    agents = {role: mock(role, anything) for role in ROLES}
    judge_endpoint = mock("judge", _verdict)
    judge = LLMJudge(judge_endpoint, ask_questions=True)
    transcript = await spec.run(q, agents, config=config, setup=setup, judge=judge)
    assert transcript.status == "complete"
    judgment = await judge.judge(JudgeView.from_transcript(transcript))
    assert judgment.status == "ok"
    return [r.model_dump_json() for r in sent(judge_endpoint)]


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("name", sorted(REGISTRY))
async def test_flipping_the_gold_leaves_every_judge_request_byte_identical(
    name: str, n: int
) -> None:
    spec = get(name)
    config = spec.config.model_validate(OPTIONS[name])
    first, last = _question(n, 0), _question(n, n - 1)
    setups = {g: spec.setups(q, config) for g, q in ((0, first), (n - 1, last))}
    if name != "consultancy":
        assert setups[0] == setups[n - 1]
    union = {s.label: s for s in (*setups[0], *setups[n - 1])}
    assert union
    for setup in union.values():
        before = await _judge_requests(name, first, setup)
        after = await _judge_requests(name, last, setup)
        assert before == after, f"{name} with {n} answers, setup {setup.label}"
        assert before  # the judge was asked something
    if name == "debate":  # every shown answer is argued, in every setup
        assert all(sorted(s.assignment.values()) == list(range(n)) for s in setups[0])
