"""``anthropic/...`` endpoints: the Messages API, streamed, on real HTTP to the fake server."""

from __future__ import annotations

import logging

import anthropic
import pytest
from pydantic import BaseModel

from oversight.endpoints import endpoint, strict_object
from oversight.testing import FakeAnthropicServer, FakeReply

KEY = "test-key"


class Verdict(BaseModel):
    answer: int
    confidence: float


async def test_request_shape_and_streamed_reply(anthropic_server: FakeAnthropicServer) -> None:
    ep = endpoint("anthropic/claude-sonnet-4-6", base_url=anthropic_server.base_url, api_key=KEY)
    completion = await ep.complete("Argue for B", system="You are debater B", max_tokens=77)
    assert completion.text == "echo: Argue for B"
    body = anthropic_server.requests[0].body
    assert body["stream"] is True and body["max_tokens"] == 77
    assert body["system"] == "You are debater B"
    assert body["messages"] == [{"role": "user", "content": "Argue for B"}]
    assert anthropic_server.requests[0].headers["anthropic-version"]
    assert anthropic_server.requests[0].api_key == KEY


async def test_temperature_is_not_sent_but_still_keys_the_cache(
    anthropic_server: FakeAnthropicServer, caplog: pytest.LogCaptureFixture
) -> None:
    ep = endpoint("anthropic/claude-haiku-4-5", base_url=anthropic_server.base_url, api_key=KEY)
    with caplog.at_level(logging.INFO, logger="oversight.endpoints"):
        await ep.complete("q", temperature=0.0)
        await ep.complete("q", temperature=1.0)
        await ep.complete("q", temperature=1.0, sample_index=1)
    assert anthropic_server.total_requests == 3
    assert all("temperature" not in r.body for r in anthropic_server.requests)
    assert sum("has no temperature" in m for m in caplog.messages) == 1


async def test_usage_counts_cache_reads_and_prices_them(
    anthropic_server: FakeAnthropicServer,
) -> None:
    anthropic_server.reply = lambda body: FakeReply(
        "ok", input_tokens=1_000_000, output_tokens=10_000, cached_tokens=500_000
    )
    ep = endpoint(
        "anthropic/claude-haiku-4-5-20251001", base_url=anthropic_server.base_url, api_key=KEY
    )
    completion = await ep.complete("q")
    assert completion.usage.input_tokens == 1_000_000
    assert completion.usage.cached_tokens == 500_000
    # claude-haiku-4-5: $1 per M input, $0.10 per M cache read, $5 per M output.
    assert completion.cost_usd == pytest.approx(0.5 * 1 + 0.5 * 0.1 + 0.01 * 5)


@pytest.mark.parametrize("stream", [True, False])
async def test_usage_counts_cache_writes_and_prices_them_at_a_premium(
    anthropic_server: FakeAnthropicServer, stream: bool
) -> None:
    anthropic_server.reply = lambda body: FakeReply(
        "ok",
        input_tokens=1_000_000,
        output_tokens=10_000,
        cached_tokens=200_000,
        cache_write_tokens=600_000,
    )
    ep = endpoint(
        "anthropic/claude-sonnet-4-6",
        base_url=anthropic_server.base_url,
        api_key=KEY,
        stream=stream,
    )
    completion = await ep.complete("q")
    usage = completion.call.usage
    assert usage.input_tokens == 1_000_000  # reads and writes included, as billed
    assert usage.cached_tokens == 200_000 and usage.cache_write_tokens == 600_000
    # claude-sonnet-4-6: $3 per M input, $0.30 per M cache read, $3.75 (1.25x) per M cache
    # write, $15 per M output.
    assert completion.cost_usd == pytest.approx(0.2 * 3 + 0.2 * 0.3 + 0.6 * 3.75 + 0.01 * 15)


async def test_structured_output_native_and_by_tool(anthropic_server: FakeAnthropicServer) -> None:
    native = endpoint(
        "anthropic/claude-sonnet-4-6", base_url=anthropic_server.base_url, api_key=KEY
    )
    assert isinstance((await native.complete("Judge", schema=Verdict)).parsed, Verdict)
    sent = anthropic_server.requests[0].body["output_config"]["format"]
    assert sent["type"] == "json_schema" and sent["schema"]["additionalProperties"] is False

    tool = endpoint(
        "anthropic/claude-sonnet-4-6",
        base_url=anthropic_server.base_url,
        api_key=KEY,
        structured="tool",
        stream=False,
    )
    anthropic_server.reply = lambda body: {"answer": 1, "confidence": 0.75}
    completion = await tool.complete("Judge", schema=Verdict)
    assert completion.parsed == Verdict(answer=1, confidence=0.75)
    body = anthropic_server.requests[1].body
    assert body["tool_choice"] == {"type": "tool", "name": "response"}
    assert "stream" not in body


async def test_streamed_tool_call_is_reassembled(anthropic_server: FakeAnthropicServer) -> None:
    anthropic_server.reply = lambda body: {"answer": 0, "confidence": 0.123456789}
    ep = endpoint(
        "anthropic/claude-haiku-4-5",
        base_url=anthropic_server.base_url,
        api_key=KEY,
        structured="tool",
    )
    completion = await ep.complete("Judge", schema=Verdict)
    assert completion.parsed == Verdict(answer=0, confidence=0.123456789)


async def test_logprobs_are_not_offered(anthropic_server: FakeAnthropicServer) -> None:
    ep = endpoint("anthropic/claude-haiku-4-5", base_url=anthropic_server.base_url, api_key=KEY)
    assert (await ep.complete("q", logprobs=True)).logprobs is None


async def test_schema_constraints_anthropic_refuses_are_enforced_by_us_not_sent(
    anthropic_server: FakeAnthropicServer,
) -> None:
    # Anthropic's structured output answers 400 to ``minimum``/``maximum`` (and length
    # bounds): they travel in the description, and our validation still holds the reply to them.
    rating = {"type": "integer", "minimum": 1, "maximum": 7}
    schema = strict_object({"helpfulness": rating, "reason": {"type": "string"}})
    replies = iter([{"helpfulness": 9, "reason": "r"}, {"helpfulness": 6, "reason": "r"}])
    anthropic_server.reply = lambda body: next(replies)
    ep = endpoint("anthropic/claude-sonnet-4-6", base_url=anthropic_server.base_url, api_key=KEY)
    completion = await ep.complete("Rate it", schema=schema)
    assert completion.parsed == {"helpfulness": 6, "reason": "r"}
    sent = anthropic_server.requests[0].body["output_config"]["format"]["schema"]
    assert "minimum" not in sent["properties"]["helpfulness"]
    assert "maximum: 7" in sent["properties"]["helpfulness"]["description"]
    assert [r.status for r in anthropic_server.requests] == [200, 200]

    # A map (dict[str, float]) is not closed to an empty object, which would force "{}".
    class Scores(BaseModel):
        scores: dict[str, float]

    anthropic_server.reply = lambda body: {"scores": {"A": 0.5}}
    assert (await ep.complete("Score", schema=Scores)).parsed == Scores(scores={"A": 0.5})
    sent = anthropic_server.requests[2].body["output_config"]["format"]["schema"]
    assert sent["properties"]["scores"]["additionalProperties"] == {"type": "number"}


async def test_the_fake_server_refuses_a_schema_constraint_as_anthropic_does(
    anthropic_server: FakeAnthropicServer,
) -> None:
    client = anthropic.AsyncAnthropic(
        api_key=KEY, base_url=anthropic_server.base_url, max_retries=0
    )
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}
    with pytest.raises(anthropic.BadRequestError, match="'minimum' is not supported"):
        await client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=10,
            messages=[{"role": "user", "content": "q"}],
            output_config={"format": {"type": "json_schema", "schema": schema}},
        )


async def test_an_empty_earlier_reply_in_the_conversation_is_sent_as_anthropic_takes_it(
    anthropic_server: FakeAnthropicServer,
) -> None:
    # A model's empty reply, shown back to it (a refinement after a critique), would be a
    # 400 from Anthropic ("all messages must have non-empty content ..."); so is whitespace.
    ep = endpoint("anthropic/claude-sonnet-4-6", base_url=anthropic_server.base_url, api_key=KEY)
    messages = [
        {"role": "user", "content": "Argue."},
        {"role": "assistant", "content": " \n"},
        {"role": "user", "content": "Refine it."},
    ]
    completion = await ep.complete(messages)
    assert completion.text == "echo: Refine it."
    sent = anthropic_server.requests[0].body["messages"]
    assert sent[1] == {"role": "assistant", "content": "(empty reply)"}
    assert [m["content"] for m in sent[::2]] == ["Argue.", "Refine it."]
