"""RRM on an evaluator endpoint with ``batch=True``: only the leaves' judgments (which wait
on no other judgment) go in provider batches; the questions and the inner judgments that
read them go through the standard API. Real HTTP, real SDK, the fake OpenAI server."""

from __future__ import annotations

import itertools
import json
from typing import Any

from oversight.endpoints import endpoint
from oversight.testing import FakeOpenAIServer
from protocols import rrm, rrm_expert
from protocols.base import Setup

from .scripted import anything, mock, question

OPTIONS: dict[str, Any] = {
    "api_key": "k",
    "batch": True,
    "batch_window": 0.01,
    "batch_poll_interval": 0,
}


ASKED = itertools.count()


def reply(body: dict[str, Any]) -> Any:
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema", {})
    props = schema.get("properties", {})
    if "questions" in props:  # questions of their own for each answer's claim
        n = next(ASKED)
        return {"questions": [f"What was cargo {n}?", f"Who noted crew {n}?"]}
    if "subclaims" in props:
        n = next(ASKED)
        return {"subclaims": [f"Cargo {n} was salt cod.", f"Crew {n} was noted."]}
    if "evidence" in props:
        return {"score": 0.6, "evidence": "the text says so"}
    return {"score": 0.7, "justification": "the findings support it"}


def batched_schemas(server: FakeOpenAIServer) -> list[str]:
    """For each request inside a batch, the field its schema asks for besides the score."""
    out = []
    for batch in server.batch.batches.values():
        for line in server.batch.files[batch.input_file_id].decode().splitlines():
            body = json.loads(line)["body"]
            props = body["response_format"]["json_schema"]["schema"]["properties"]
            out.append(next(p for p in props if p != "score"))
    return out


async def test_rrm_sends_only_its_leaf_judgments_in_batches() -> None:
    async with FakeOpenAIServer(reply=reply) as server:
        evaluator = endpoint("openai/gpt-4o-mini", base_url=server.base_url, **OPTIONS)
        transcript = await rrm.run(
            question(),
            {"assistant": mock("assistant", anything), "evaluator": evaluator},
            config=rrm.Config(depth=1, branching=2),
            setup=Setup(order=[0, 1]),
        )
        await evaluator.aclose()
    # Two answers, each asking two questions: four leaves judged in a batch ...
    assert batched_schemas(server) == ["justification"] * 4
    # ... while each root's questions and its judgment of the leaves' findings went at once.
    standard = [r.body for r in server.requests if r.path == "/v1/chat/completions"]
    asked = [
        next(iter(b["response_format"]["json_schema"]["schema"]["properties"])) for b in standard
    ]
    assert sorted(asked) == ["questions", "questions", "score", "score"]
    assert transcript.tree is not None and transcript.tree.rewards == [0.7, 0.7]
    batched = [t.call.batched for t in transcript.turns if t.call and t.role == "evaluator"]
    assert sorted(batched) == [False] * 4 + [True] * 4


async def test_rrm_expert_leaves_go_in_batches_and_its_inner_judgments_at_once() -> None:
    async with FakeOpenAIServer(reply=reply) as server:
        ep = endpoint("openai/gpt-4o-mini", base_url=server.base_url, **OPTIONS)
        await rrm_expert.run(
            question(),
            {"assistant": ep, "evaluator": ep},
            config=rrm_expert.Config(depth=1, branching=2, aggregate="evaluator"),
            setup=Setup(order=[0, 1]),
        )
        await ep.aclose()
    assert batched_schemas(server) == ["evidence"] * 4  # the four leaves
    standard = [r.body for r in server.requests if r.path == "/v1/chat/completions"]
    asked = sorted(
        next(p for p in b["response_format"]["json_schema"]["schema"]["properties"] if p != "score")
        for b in standard
    )
    assert asked == ["justification", "justification", "subclaims", "subclaims"]
