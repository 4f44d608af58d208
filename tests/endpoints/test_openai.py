"""``openai/...`` endpoints: what is sent, what comes back, on real HTTP to the fake server."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from oversight.endpoints import Message, Request, endpoint
from oversight.errors import StructuredOutputError
from oversight.testing import FakeOpenAIServer, FakeReply

KEY = "test-key"


class Verdict(BaseModel):
    answer: int = Field(ge=0, le=1)
    probabilities: list[float]


async def test_request_carries_messages_system_and_sampling(
    openai_server: FakeOpenAIServer,
) -> None:
    ep = endpoint("openai/qwen2.5-7b", base_url=openai_server.base_url, api_key=KEY)
    await ep.complete(
        [
            {"role": "user", "content": "Argue for A"},
            {"role": "assistant", "content": "A is right"},
            {"role": "user", "content": "Now rebut"},
        ],
        system="You are debater A",
        max_tokens=99,
        temperature=0.3,
        seed=11,
    )
    body = openai_server.requests[0].body
    assert body["model"] == "qwen2.5-7b"
    assert body["messages"] == [
        {"role": "system", "content": "You are debater A"},
        {"role": "user", "content": "Argue for A"},
        {"role": "assistant", "content": "A is right"},
        {"role": "user", "content": "Now rebut"},
    ]
    assert (body["max_tokens"], body["temperature"], body["seed"]) == (99, 0.3, 11)
    assert openai_server.requests[0].api_key == KEY


async def test_usage_cost_and_latency_are_reported(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply = lambda body: FakeReply(
        "ok", input_tokens=1_000_000, output_tokens=100_000, cached_tokens=400_000
    )
    ep = endpoint("openai/gpt-4o-mini-2024-07-18", base_url=openai_server.base_url, api_key=KEY)
    completion = await ep.complete("hi")
    assert completion.usage.input_tokens == 1_000_000
    assert completion.usage.cached_tokens == 400_000
    assert completion.usage.output_tokens == 100_000
    # gpt-4o-mini: $0.15 per M input, $0.075 per M cached input, $0.60 per M output.
    assert completion.cost_usd == pytest.approx(0.6 * 0.15 + 0.4 * 0.075 + 0.1 * 0.60)
    assert completion.latency_s > 0 and completion.call.provider == "openai"


async def test_structured_output_uses_json_schema_and_validates(
    openai_server: FakeOpenAIServer,
) -> None:
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    completion = await ep.complete("Judge", schema=Verdict)
    assert isinstance(completion.parsed, Verdict)
    sent = openai_server.requests[0].body["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "response"
    assert sent["json_schema"]["schema"]["additionalProperties"] is False
    assert sent["json_schema"]["strict"] is True  # every property required, none extra

    schema = {
        "type": "object",
        "properties": {"winner": {"enum": ["A", "B"]}, "note": {"type": "string"}},
        "required": ["winner"],
    }
    parsed = (await ep.complete("Judge", schema=schema)).parsed
    assert parsed["winner"] in {"A", "B"}
    assert openai_server.requests[1].body["response_format"]["json_schema"]["strict"] is False


async def test_invalid_json_is_asked_again_a_bounded_number_of_times(
    openai_server: FakeOpenAIServer,
) -> None:
    replies = iter(
        ['{"answer": 7, "probabilities": []}', "{", '{"answer": 1, "probabilities": [1]}']
    )
    openai_server.reply = lambda body: next(replies)
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    completion = await ep.complete("Judge", schema=Verdict)
    assert completion.parsed == Verdict(answer=1, probabilities=[1.0])
    assert completion.retries == 2 and openai_server.total_requests == 3
    assert completion.usage.output_tokens > 0  # the invalid replies were paid for too

    openai_server.reply = "never JSON"
    with pytest.raises(StructuredOutputError, match=r"not JSON.*after 3 replies") as failed:
        await ep.complete("Judge again", schema=Verdict)
    assert openai_server.total_requests == 6
    # The three useless replies were paid for: the error carries their call, priced.
    # Three paid replies, one call record (and so one ledger line) each.
    paid = failed.value.calls
    assert len(paid) == 3 and [c.retries for c in paid] == [0, 1, 2]
    assert all(c.usage.output_tokens > 0 for c in paid)
    assert all(c.cost_usd is not None and c.cost_usd > 0 and not c.cached for c in paid)


async def test_servers_without_json_schema_get_the_schema_in_the_prompt(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.reply = '```json\n{"answer": 0, "probabilities": [0.9, 0.1]}\n```'
    ep = endpoint(
        "openai/llama3", base_url=openai_server.base_url, api_key=KEY, structured="prompt"
    )
    completion = await ep.complete("Judge", system="You judge debates", schema=Verdict)
    assert completion.parsed == Verdict(answer=0, probabilities=[0.9, 0.1])
    body = openai_server.requests[0].body
    assert "response_format" not in body
    assert body["messages"][0]["content"].startswith("You judge debates\n\nReply with one JSON")


async def test_logprobs_come_back_per_token(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply = "Answer: A"
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    completion = await ep.complete("Which?", logprobs=True, top_logprobs=3)
    assert completion.logprobs is not None
    assert "".join(t.token for t in completion.logprobs) == "Answer: A"
    assert all(len(t.top) == 3 for t in completion.logprobs)
    body = openai_server.requests[0].body
    assert body["logprobs"] is True and body["top_logprobs"] == 3
    assert (await ep.complete("Which?")).logprobs is None


async def test_extra_body_is_sent_and_keys_the_cache(openai_server: FakeOpenAIServer) -> None:
    plain = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    nucleus = endpoint(
        "openai/gpt-4o-mini",
        base_url=openai_server.base_url,
        api_key=KEY,
        extra_body={"top_p": 0.5},
    )
    await plain.complete("q")
    await nucleus.complete("q")
    assert openai_server.total_requests == 2
    assert openai_server.requests[1].body["top_p"] == 0.5


async def test_the_real_openai_server_gets_what_its_models_accept() -> None:
    request = Request(messages=[Message(role="user", content="q")], max_tokens=64)
    reasoning = endpoint("openai/gpt-5-mini", api_key=KEY).backend.params(request)  # type: ignore[attr-defined]
    assert reasoning["max_completion_tokens"] == 64 and "max_tokens" not in reasoning
    assert "temperature" not in reasoning  # reasoning models refuse any but their default
    chat = endpoint("openai/gpt-4o-mini", api_key=KEY).backend.params(request)  # type: ignore[attr-defined]
    assert chat["temperature"] == 0.0
    # OpenAI's data-residency regions are OpenAI too (a 400 on every call otherwise).
    eu = endpoint("openai/o3", api_key=KEY, base_url="https://eu.api.openai.com/v1/")
    regional = eu.backend.params(request)  # type: ignore[attr-defined]
    assert regional["max_completion_tokens"] == 64 and "temperature" not in regional


def test_reasoning_models_get_no_logprobs_and_gpt_5_1_on_gets_its_sampling() -> None:
    # OpenAI's reasoning models refuse logprobs as they refuse temperature (a 400/403 that
    # failed a logprobs judge outright, with no fallback); gpt-5.1 and later reason with
    # effort "none" by default and then take both, unless asked to reason.
    asked = Request(messages=[Message(role="user", content="q")], logprobs=True, top_logprobs=5)
    o3 = endpoint("openai/o3-mini", api_key=KEY).backend.params(asked)  # type: ignore[attr-defined]
    assert "logprobs" not in o3 and "top_logprobs" not in o3 and "temperature" not in o3
    five = endpoint("openai/gpt-5.2", api_key=KEY).backend.params(asked)  # type: ignore[attr-defined]
    assert five["logprobs"] is True and five["top_logprobs"] == 5
    assert five["temperature"] == 0.0
    reasoning = endpoint(
        "openai/gpt-5.2", api_key=KEY, extra_body={"reasoning_effort": "high"}
    ).backend.params(asked)  # type: ignore[attr-defined]
    assert "logprobs" not in reasoning and "temperature" not in reasoning
    pro = endpoint("openai/gpt-5.2-pro", api_key=KEY).backend.params(asked)  # type: ignore[attr-defined]
    assert "logprobs" not in pro and "temperature" not in pro  # always reasons
    chat = endpoint("openai/gpt-5-chat-latest", api_key=KEY).backend.params(asked)  # type: ignore[attr-defined]
    assert chat["temperature"] == 0.0 and chat["logprobs"] is True
