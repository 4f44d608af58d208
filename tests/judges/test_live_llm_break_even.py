"""An LLM live judge is told how far another round must move its belief to pay, as a person
is (the debate app's hint of Michael et al. 2023), over real HTTP to the fake OpenAI server."""

from __future__ import annotations

import json

from judges import LLMJudge
from judges.live import cost_note
from oversight.endpoints import endpoint
from oversight.testing import FakeOpenAIServer
from transcripts import JudgeView

from .helpers import transcript

HINT = (
    "Another round pays, in expectation, only if it moves your belief to at least "
    "74% on A (+4 points) or 74% on B (+44 points)."
)


async def _prompt_of_a_live_turn(previous: list[list[float]], turn_penalty: float) -> str:
    def reply(body: dict[str, object]) -> str:
        probabilities = {"A": 0.6, "B": 0.4}
        return json.dumps(
            {"rationale": "r", "probabilities": probabilities, "question": "", "decision": "end"}
        )

    # Presented in reverse: the hint speaks of the letters the judge reads.
    view = JudgeView.from_transcript(transcript(order=[1, 0]))
    async with FakeOpenAIServer(reply=reply) as server:
        ep = endpoint("openai/gpt-4o-mini", base_url=server.base_url, api_key="t", cache=False)
        belief = await LLMJudge(ep).live_turn(
            view, opening=False, can_end=True, previous=previous, turn_penalty=turn_penalty
        )
        (request,) = server.requests
    assert belief.decision == "end"
    messages = request.body["messages"]
    assert isinstance(messages, list)
    return str(messages[-1]["content"])


async def test_an_llm_live_judge_gets_the_break_even_hint_a_person_gets() -> None:
    prompt = await _prompt_of_a_live_turn([[0.5, 0.5], [0.7, 0.3]], 0.05)
    assert f"For the belief you stated last (A 70%, B 30%): {HINT}" in " ".join(prompt.split())
    # The same words a person reads after typing that belief: one rule for both.
    assert HINT in cost_note([0.7, 0.3], 0.05)


async def test_no_hint_when_rounds_are_free_and_a_plain_no_when_none_can_pay() -> None:
    assert "Another round pays" not in await _prompt_of_a_live_turn([[0.7, 0.3]], 0.0)
    too_sure = await _prompt_of_a_live_turn([[0.995, 0.005]], 0.08)
    assert "No belief another round could give you would pay for it" in " ".join(too_sure.split())
