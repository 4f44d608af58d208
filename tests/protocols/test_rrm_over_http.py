"""The weak evaluator and the leaf judge over real HTTP: the requests a fake OpenAI server
received from them never hold the hidden text, at any depth."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oversight.endpoints import endpoint
from oversight.testing import FakeOpenAIServer
from protocols import prover_estimator, rrm
from protocols.base import Setup
from transcripts.errors import ConfigError

from .scripted import CONTEXT, SECRET, anything, mock, question


def _openai_available() -> bool:
    try:
        endpoint("openai/probe", base_url="http://127.0.0.1:9/v1", api_key="x", cache=False)
    except ConfigError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _openai_available(), reason="no openai provider")

SENTENCES = [s.strip() for s in CONTEXT.replace("\n", " ").split(".") if len(s.strip()) > 20]
"""Every sentence of the hidden text: none may reach a blind role, quoted or not, except
the one the assistants quote (checked apart)."""


def schema_of(body: dict[str, Any]) -> dict[str, Any]:
    return dict((body.get("response_format") or {}).get("json_schema", {}).get("schema", {}))


def weak_reply(body: dict[str, Any]) -> Any:
    props = schema_of(body).get("properties", {})
    if "questions" in props:
        return {"questions": ["What was the cargo?", "Who noted the crew?"]}
    if "justification" in props:
        return {"score": 0.7, "justification": "The verified quote supports it."}
    return {"probability": 0.4, "reason": "the quote is verified"}


def sent_text(body: dict[str, Any]) -> str:
    return json.dumps(body["messages"], ensure_ascii=False)


@pytest.mark.parametrize("depth", [1, 3])
async def test_the_weak_evaluator_never_sends_the_hidden_text(depth: int) -> None:
    async with FakeOpenAIServer(reply=weak_reply) as server:
        weak = endpoint("openai/weak", base_url=server.base_url, api_key="k", cache=False)
        transcript = await rrm.run(
            question(),
            {"assistant": mock("assistant", anything), "evaluator": weak},
            config=rrm.Config(depth=depth, branching=2),
            setup=Setup(order=[0, 1]),
        )
    bodies = [r.body for r in server.requests]
    # Per answer and level: every node asks 2 and is judged; 2 answers.
    nodes = sum(2**level for level in range(depth + 1))
    asking = sum(2**level for level in range(depth))
    assert len(bodies) == 2 * (nodes + asking)
    for body in bodies:
        seen = sent_text(body)
        assert SECRET not in seen and CONTEXT not in seen
        assert not any(s in seen for s in SENTENCES if "salt cod" not in s)
    # It did read the assistants' quotes, marked verified.
    assert any("(verified)" in sent_text(b) for b in bodies)
    assert transcript.tree is not None and transcript.tree.rewards == [0.7, 0.7]


async def test_the_leaf_judge_never_sends_the_hidden_text() -> None:
    async with FakeOpenAIServer(reply=weak_reply) as server:
        blind = endpoint("openai/leaf", base_url=server.base_url, api_key="k", cache=False)
        transcript = await prover_estimator.run(
            question(),
            {
                "prover": mock("prover", anything),
                "estimator": mock("estimator", anything),
                "leaf_judge": blind,
            },
            config=prover_estimator.Config(depth=2, branching=2),
            setup=Setup(order=[0, 1], assignment={"Prover": 0}),
        )
    (check,) = [r.body for r in server.requests]
    seen = sent_text(check)
    assert SECRET not in seen and CONTEXT not in seen
    assert transcript.tree is not None
    (leaf,) = [n for n in transcript.tree.roots[0].walk() if n.check is not None]
    assert leaf.check == 0.4 and leaf.score is None
