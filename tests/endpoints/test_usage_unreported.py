"""A reply without token counts (some OpenAI-compatible servers omit ``usage``, or leave it
out of a stream) costs an unknown amount, never $0 at a known price; over real HTTP to the
fake servers, through the real SDKs."""

from __future__ import annotations

import json

import pytest

from oversight.endpoints import endpoint
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer, FakeReply
from transcripts import Usage

KEY = "test-key"


@pytest.mark.parametrize("stream", [False, True])
async def test_an_openai_reply_without_usage_costs_unknown_not_zero(
    openai_server: FakeOpenAIServer, stream: bool
) -> None:
    openai_server.reply = lambda body: FakeReply("four score", usage=False)
    ep = endpoint(
        "openai/served-model",
        base_url=openai_server.base_url,
        api_key=KEY,
        pricing={"input": 1.0, "output": 2.0},
        stream=stream,
        cache=False,
    )
    completion = await ep.complete("hi")
    assert completion.text == "four score"
    assert completion.usage == Usage(reported=False)
    assert completion.cost_usd is None  # was 0.0: a price times the zero counted
    assert openai_server.total_requests == 1
    if stream:  # asked for, and the server did not send it
        assert openai_server.requests[0].body["stream_options"] == {"include_usage": True}


async def test_an_openai_reply_with_usage_is_still_priced(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply = lambda body: FakeReply("ok", input_tokens=1_000, output_tokens=500)
    ep = endpoint(
        "openai/served-model",
        base_url=openai_server.base_url,
        api_key=KEY,
        pricing={"input": 1.0, "output": 2.0},
        cache=False,
    )
    completion = await ep.complete("hi")
    assert completion.usage.reported and completion.usage.input_tokens == 1_000
    assert completion.cost_usd == pytest.approx(0.001 + 0.001)


@pytest.mark.parametrize("stream", [False, True])
async def test_an_anthropic_reply_without_usage_costs_unknown_not_zero(
    anthropic_server: FakeAnthropicServer, stream: bool
) -> None:
    anthropic_server.reply = lambda body: FakeReply("a reply", usage=False)
    ep = endpoint(
        "anthropic/claude-sonnet-4-6",
        base_url=anthropic_server.base_url,
        api_key=KEY,
        stream=stream,
        cache=False,
    )
    completion = await ep.complete("hi")
    assert completion.text == "a reply"
    assert not completion.usage.reported and completion.cost_usd is None


def test_unreported_usage_is_stored_only_when_false_and_sums_as_unreported() -> None:
    assert json.loads(Usage(input_tokens=3).model_dump_json()) == {
        "input_tokens": 3,
        "output_tokens": 0,
        "cached_tokens": 0,
        "cache_write_tokens": 0,
    }
    assert json.loads(Usage(reported=False).model_dump_json())["reported"] is False
    assert not (Usage(input_tokens=3) + Usage(reported=False)).reported
    assert (Usage(input_tokens=3) + Usage(output_tokens=2)).reported


def test_a_reply_with_one_count_missing_is_not_reported_either() -> None:
    """A proxy that passes the output count on but drops the input count (an Anthropic
    stream whose message_start lost its usage): priced, it read as 0 input tokens."""
    from oversight.endpoints._anthropic import _usage as anthropic_usage
    from oversight.endpoints._openai import _usage as openai_usage

    assert not openai_usage({"completion_tokens": 12}).reported
    assert not openai_usage({"prompt_tokens": 30, "completion_tokens": None}).reported
    assert openai_usage({"prompt_tokens": 30, "completion_tokens": 12}).total_tokens == 42
    assert not anthropic_usage({"output_tokens": 12}).reported
    assert anthropic_usage({"input_tokens": 0, "output_tokens": 12}).reported


def test_the_bound_of_a_reply_without_counts_is_the_prompt_counted_here_and_all_of_max_tokens() -> (
    None
):
    """What ``--max-cost`` counts for such a reply: about 4 characters a prompt token
    (system prompt included, rounded up) and every token ``max_tokens`` allows, at the
    endpoint's price; half in a batch; unknown (None) with no price; 0 on a free backend."""
    priced = endpoint("openai/served-model", api_key=KEY, pricing={"input": 1.0, "output": 2.0})
    bound = priced.cost_bound("x" * 399, system="s", max_tokens=100)
    assert bound == pytest.approx((100 * 1.0 + 100 * 2.0) / 1e6)
    assert priced.cost_bound("x" * 400, max_tokens=100, batched=True) == pytest.approx(bound / 2)
    assert priced.priced
    unpriced = endpoint("openai/served-model", api_key=KEY)
    assert unpriced.cost_bound("hi") is None and not unpriced.priced
    assert endpoint("mock/free").cost_bound("hi") == 0.0
