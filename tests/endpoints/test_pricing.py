"""Cost per call from a pricing table users can extend or override."""

from __future__ import annotations

import logging

import pytest

from oversight.endpoints import Price, _pricing, cost_usd, endpoint, lookup_price, set_price
from oversight.errors import ConfigError
from oversight.testing import FakeOpenAIServer, FakeReply
from transcripts import Usage

MILLION = Usage(input_tokens=1_000_000, output_tokens=1_000_000)


@pytest.fixture(autouse=True)
def fresh_pricing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Overrides and 'said once' warnings do not leak between tests."""
    monkeypatch.setattr(_pricing, "_overrides", {})
    monkeypatch.setattr(_pricing, "_warned", set())


def test_known_models_and_their_dated_snapshots_have_prices() -> None:
    assert cost_usd("gpt-4o", MILLION) == pytest.approx(12.5)
    assert lookup_price("gpt-4o-2024-08-06") == lookup_price("gpt-4o")
    assert lookup_price("claude-haiku-4-5-20251001") == lookup_price("claude-haiku-4-5")
    assert lookup_price("gpt-5.3-experimental") is None  # no guessing from a prefix


def test_cached_tokens_are_billed_at_the_cached_rate() -> None:
    usage = Usage(input_tokens=1_000_000, cached_tokens=1_000_000, output_tokens=0)
    assert cost_usd("gpt-4o-mini", usage) == pytest.approx(0.075)
    assert Price(input=1.0, output=2.0).cost(usage) == pytest.approx(1.0)  # no cached rate


def test_cache_writes_are_billed_at_a_premium() -> None:
    writes = Usage(input_tokens=1_000_000, cache_write_tokens=1_000_000)
    # Anthropic's table has no write rate: 1.25x its input rate.
    assert cost_usd("claude-haiku-4-5", writes) == pytest.approx(1.25)
    assert Price(input=3.0, output=15.0, cache_write=6.0).cost(writes) == pytest.approx(6.0)
    set_price("claude-custom", input=2.0, output=8.0, cache_write=4.0)
    assert cost_usd("claude-custom", writes) == pytest.approx(4.0)
    assert cost_usd("claude-unreleased", writes) is None  # unknown stays unknown
    # Reads, writes and plain input together; more reported than billed is capped.
    mixed = Usage(input_tokens=1_000_000, cached_tokens=250_000, cache_write_tokens=250_000)
    assert cost_usd("claude-haiku-4-5", mixed) == pytest.approx(0.5 + 0.025 + 0.3125)
    over = Usage(input_tokens=100, cached_tokens=60, cache_write_tokens=60)
    assert Price(input=1e6, output=0.0, cached_input=0.0, cache_write=1e6).cost(over) == 40


def test_usage_adds_cache_writes_and_reads_records_without_them() -> None:
    total = Usage(input_tokens=10, cache_write_tokens=4) + Usage(
        input_tokens=5, cache_write_tokens=3
    )
    assert total.cache_write_tokens == 7 and total.input_tokens == 15
    old = Usage.model_validate({"input_tokens": 3, "output_tokens": 1, "cached_tokens": 0})
    assert old.cache_write_tokens == 0


def test_unknown_model_cost_is_none_and_said_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="oversight.endpoints"):
        assert cost_usd("my-finetune", MILLION) is None
        assert cost_usd("my-finetune", MILLION) is None
        assert cost_usd("another-model", MILLION) is None
    assert len(caplog.records) == 2
    assert "no price known for model 'my-finetune'" in caplog.records[0].getMessage()
    assert "set_price('my-finetune'" in caplog.records[0].getMessage()


def test_set_price_extends_and_overrides_the_table() -> None:
    set_price("my-finetune", input=1.0, output=3.0)
    set_price("gpt-4o", input=0.0, output=0.0)
    assert cost_usd("my-finetune", MILLION) == pytest.approx(4.0)
    assert cost_usd("gpt-4o", MILLION) == 0.0


async def test_pricing_option_prices_one_endpoint(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply = lambda body: FakeReply("ok", input_tokens=2_000_000, output_tokens=0)
    base = openai_server.base_url
    unknown = endpoint("openai/qwen2.5-7b", base_url=base)
    priced = endpoint("openai/qwen2.5-7b", base_url=base, pricing={"input": 0.5, "output": 1.0})
    like = endpoint("openai/qwen2.5-7b", base_url=base, pricing="gpt-4o-mini", cache=False)
    assert (await unknown.complete("a")).cost_usd is None
    assert (await priced.complete("b")).cost_usd == pytest.approx(1.0)
    assert (await like.complete("c")).cost_usd == pytest.approx(0.3)
    with pytest.raises(ConfigError, match="names no model with a known price"):
        endpoint("openai/qwen2.5-7b", base_url=base, pricing="no-such-model")


async def test_mocks_cost_nothing_unless_priced_for_a_dry_run() -> None:
    free = endpoint("mock/debater")
    estimate = endpoint("mock/debater", pricing="gpt-4o")
    assert (await free.complete("argue", max_tokens=100)).cost_usd == 0.0
    priced = await estimate.complete("argue", max_tokens=100)
    assert priced.cost_usd is not None and priced.cost_usd > 0


async def test_openai_data_residency_hosts_add_ten_percent_for_models_from_march_2026() -> None:
    # OpenAI's data-residency guide: "Data residency endpoints are charged a 10% uplift for
    # models released on or after March 5, 2026" (gpt-5.4 and later); older models are not.
    eu = "https://eu.api.openai.com/v1"
    standard = cost_usd("gpt-5.4", MILLION)
    assert standard == pytest.approx(17.5)
    regional = endpoint("openai/gpt-5.4", base_url=eu, api_key="k")
    assert regional.cost_of(MILLION) == pytest.approx(17.5 * 1.1)
    snapshot = endpoint("openai/gpt-5.4-mini-2026-03-17", base_url=eu, api_key="k")
    assert snapshot.cost_of(MILLION) == pytest.approx((0.75 + 4.50) * 1.1)
    tokyo = endpoint("openai/gpt-5.5", base_url="https://jp.api.openai.com/v1", api_key="k")
    assert tokyo.cost_of(MILLION) == pytest.approx(35.0 * 1.1)
    # Like the batch discount, it applies to whatever standard price the endpoint has.
    priced = endpoint("openai/gpt-5.4", base_url=eu, api_key="k", pricing={"input": 1, "output": 1})
    assert priced.cost_of(MILLION) == pytest.approx(2.0 * 1.1)
    set_price("gpt-5.4", input=2.0, output=10.0)
    assert regional.cost_of(MILLION) == pytest.approx(12.0 * 1.1)
    # Not uplifted: an older model there, the global host, a compatible server.
    older = endpoint("openai/gpt-4o", base_url=eu, api_key="k")
    assert older.cost_of(MILLION) == pytest.approx(12.5)
    plain = endpoint("openai/gpt-5.4", base_url="https://api.openai.com/v1", api_key="k")
    assert plain.cost_of(MILLION) == pytest.approx(12.0)
    lookalike = endpoint("openai/gpt-5.4", base_url="https://eu.api.openai.com.example.org/v1")
    assert lookalike.cost_of(MILLION) == pytest.approx(12.0)
    for ep in (regional, snapshot, tokyo, priced, older, plain, lookalike):
        await ep.aclose()
