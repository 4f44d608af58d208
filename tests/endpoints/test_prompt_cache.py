"""Prompt caching: Anthropic ``cache_control`` on the long hidden text, priced as billed."""

from __future__ import annotations

import pytest

from oversight.endpoints import endpoint, lookup_price
from oversight.testing import FakeAnthropicServer

STORY = "The lighthouse keeper wrote every ship in her ledger. " * 200  # ~11,000 characters


async def test_a_long_system_prompt_is_a_breakpoint_written_once_then_read(
    anthropic_server: FakeAnthropicServer,
) -> None:
    ep = endpoint(
        "anthropic/claude-sonnet-4-6", base_url=anthropic_server.base_url, api_key="k"
    )  # streamed, the default
    system = f"You are debater A. The story:\n{STORY}"
    first = await ep.complete("Opening statement", system=system, max_tokens=50)
    second = await ep.complete("Rebuttal", system=system, max_tokens=50)
    body = anthropic_server.requests[0].body
    assert body["system"] == [
        {"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}
    ]
    prefix_tokens = -(-len(system) // 4)
    assert (first.usage.cache_write_tokens, first.usage.cached_tokens) == (prefix_tokens, 0)
    assert (second.usage.cache_write_tokens, second.usage.cached_tokens) == (0, prefix_tokens)
    price = lookup_price("claude-sonnet-4-6")
    assert price is not None
    # Writes at 1.25x the input rate, reads at the cached rate (a tenth), the rest at input.
    for c in (first, second):
        plain = c.usage.input_tokens - c.usage.cached_tokens - c.usage.cache_write_tokens
        expected = (
            plain * price.input
            + c.usage.cache_write_tokens * price.input * 1.25
            + c.usage.cached_tokens * (price.cached_input or 0.0)
            + c.usage.output_tokens * price.output
        ) / 1e6
        assert c.cost_usd == pytest.approx(expected)
    assert second.cost_usd is not None and first.cost_usd is not None
    assert second.cost_usd < first.cost_usd


async def test_short_prompts_and_prompt_cache_off_send_a_plain_system_string(
    anthropic_server: FakeAnthropicServer,
) -> None:
    ep = endpoint(
        "anthropic/claude-sonnet-4-6", base_url=anthropic_server.base_url, api_key="k", stream=False
    )
    await ep.complete("Judge this", system="You are the judge.")  # a judge reads no story
    off = endpoint(
        "anthropic/claude-sonnet-4-6",
        base_url=anthropic_server.base_url,
        api_key="k",
        stream=False,
        prompt_cache=False,
    )
    completion = await off.complete("Opening", system=STORY)
    assert anthropic_server.requests[0].body["system"] == "You are the judge."
    assert anthropic_server.requests[1].body["system"] == STORY
    assert completion.usage.cached_tokens == completion.usage.cache_write_tokens == 0
