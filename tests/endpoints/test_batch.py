"""``batch=True``: the OpenAI Batch API over real HTTP, through the real SDK, on the fake."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from oversight.endpoints import batchable_calls, endpoint
from oversight.endpoints._pricing import lookup_price
from oversight.errors import ConfigError, ProviderError
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer, Fault

from .helpers import OPTIONS, stop_while_a_batch_runs


async def test_concurrent_calls_go_as_one_batch_at_half_price(
    openai_server: FakeOpenAIServer, isolated_environment: Path
) -> None:
    openai_server.batch.polls_before_done = 3
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    completions = await asyncio.gather(
        *[ep.complete(f"question {i}", batchable=True) for i in range(20)]
    )
    assert [c.text for c in completions] == [f"echo: question {i}" for i in range(20)]
    assert len(openai_server.batch.batches) == 1
    assert openai_server.requests_by_path["/v1/chat/completions"] == 0
    assert openai_server.requests_by_path["/v1/batches/batch_0"] == 4 + 1  # polls + results
    price = lookup_price("gpt-4o-mini")
    assert price is not None
    for c in completions:
        assert c.call.batched
        assert c.cost_usd == pytest.approx(price.cost(c.usage) / 2)
    # The uploaded file is the Chat Completions requests, each id the batch's nonce and the
    # request's cache key (64 characters at most, Anthropic's limit).
    lines = [json.loads(x) for x in openai_server.batch.files["file-0"].decode().splitlines()]
    nonces = {x["custom_id"].split("-")[0] for x in lines}
    assert len(nonces) == 1 and all(len(x["custom_id"]) <= 64 for x in lines)
    keys = {x["custom_id"].split("-")[1] for x in lines}
    assert keys == {c.call.request_hash[:47] for c in completions}
    assert lines[0]["url"] == "/v1/chat/completions" and lines[0]["body"]["model"] == "gpt-4o-mini"
    # The ledger in the cache's folder records the batch.
    ledger = isolated_environment.parent / "batches.jsonl"
    events = [json.loads(x)["event"] for x in ledger.read_text().splitlines()]
    assert events == ["submitting", "submitted", "ended"]
    # A second identical call is answered by the cache, not by another batch.
    again = await ep.complete("question 3", batchable=True)
    assert again.cached and len(openai_server.batch.batches) == 1
    await ep.aclose()


async def test_a_failed_line_fails_its_call_only(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply = lambda body: (
        Fault.error(400, "bad request body") if "poison" in json.dumps(body) else "fine"
    )
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    results = await asyncio.gather(
        ep.complete("ok 1", batchable=True),
        ep.complete("poison", batchable=True),
        ep.complete("ok 2", batchable=True),
        return_exceptions=True,
    )
    assert [r.text for r in results if not isinstance(r, BaseException)] == ["fine", "fine"]
    error = results[1]
    assert isinstance(error, ProviderError) and error.status_code == 400
    assert "bad request body" in str(error)
    assert len(openai_server.batch.batches) == 1  # a 400 is not resubmitted
    await ep.aclose()


async def test_an_expired_batch_resubmits_only_what_it_did_not_answer(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.batch.expire_next = 1
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    completions = await asyncio.gather(*[ep.complete(f"q{i}", batchable=True) for i in range(10)])
    assert [c.text for c in completions] == [f"echo: q{i}" for i in range(10)]
    first, second = openai_server.batch.batches.values()
    assert (first.status, first.completed, first.failed) == ("expired", 5, 5)
    assert (second.status, second.total) == ("completed", 5)
    assert openai_server.batch.lines_answered == 10
    assert sum(c.call.retries for c in completions) == 5
    await ep.aclose()


def test_batch_needs_a_provider_with_a_batch_api_and_a_cache() -> None:
    with pytest.raises(ConfigError, match="no batch API"):
        endpoint("mock/x", batch=True)
    with pytest.raises(ConfigError, match="batch=True needs the response cache"):
        endpoint("openai/gpt-4o-mini", batch=True, cache=False)


async def test_anthropic_message_batches_partial_failure_and_expiry(
    anthropic_server: FakeAnthropicServer,
) -> None:
    anthropic_server.reply = lambda body: (
        Fault.error(400, "prompt is too long", error_type="invalid_request_error")
        if "poison" in json.dumps(body)
        else "fine"
    )
    anthropic_server.batch.expire_next = 1
    ep = endpoint("anthropic/claude-haiku-4-5", base_url=anthropic_server.base_url, **OPTIONS)
    prompts = [f"ok {i}" for i in range(6)] + ["poison"]
    results = await asyncio.gather(
        *[ep.complete(p, batchable=True) for p in prompts], return_exceptions=True
    )
    completions = [r for r in results if not isinstance(r, BaseException)]
    assert [c.text for c in completions] == ["fine"] * 6
    error = results[-1]
    assert isinstance(error, ProviderError) and error.status_code == 400
    assert "prompt is too long" in str(error)
    # The first batch expired half-way; its unanswered requests went in a second batch.
    first, second = anthropic_server.batch.batches.values()
    assert len(first["requests"]) == 7 and len(second["requests"]) == 4
    assert anthropic_server.requests_by_path["/v1/messages"] == 0
    assert all("stream" not in r["params"] for r in first["requests"])
    price = lookup_price("claude-haiku-4-5")
    assert price is not None
    for c in completions:
        assert c.call.batched and c.cost_usd == pytest.approx(price.cost(c.usage) / 2)
    await ep.aclose()


async def test_only_calls_marked_batchable_wait_in_the_batch(
    openai_server: FakeOpenAIServer,
) -> None:
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    with batchable_calls():  # a call site that marks what it reaches through an interface
        # (tasks started inside the scope carry it; the call's own word wins)
        scoped = [asyncio.ensure_future(ep.complete(f"verdict {i}")) for i in range(2)]
        overruled = asyncio.ensure_future(ep.complete("asked apart", batchable=False))
    at_once = [ep.complete(f"turn {i}") for i in range(3)]
    marked = ep.complete("opening", batchable=True)
    done = await asyncio.gather(*scoped, overruled, *at_once, marked)
    assert [c.text for c in done][:2] == ["echo: verdict 0", "echo: verdict 1"]
    # One batch of the three batchable calls; the four others went to the standard API.
    [batch] = openai_server.batch.batches.values()
    assert batch.total == 3
    lines = openai_server.batch.files[batch.input_file_id].decode().splitlines()
    asked = sorted(json.loads(x)["body"]["messages"][-1]["content"] for x in lines)
    assert asked == ["opening", "verdict 0", "verdict 1"]
    assert openai_server.requests_by_path["/v1/chat/completions"] == 4
    price = lookup_price("gpt-4o-mini")
    assert price is not None
    for c in done:
        batched = c.text.removeprefix("echo: ") in asked
        assert c.call.batched is batched
        rate = 0.5 if batched else 1.0
        assert c.cost_usd == pytest.approx(price.cost(c.usage) * rate)
    # The same request asked again apart is the cached reply: batchable is not in the key.
    again = await ep.complete("opening")
    assert again.cached and again.call.request_hash == done[-1].call.request_hash
    await ep.aclose()


@pytest.mark.parametrize("lines", [True, False], ids=["listed", "left-out"])
async def test_a_cancelled_batch_keeps_its_answers_and_sends_the_rest_only_in_a_new_session(
    openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture, lines: bool
) -> None:
    # Someone cancelled the batch at the provider's console after half of it ran. The
    # error file lists the requests it never ran (code batch_cancelled), or leaves them out.
    openai_server.batch.cancel_next = 1
    openai_server.batch.cancel_lines = lines
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    prompts = [f"q{i}" for i in range(6)]
    with caplog.at_level("WARNING", logger="oversight.endpoints"):
        results = await asyncio.gather(
            *[ep.complete(p, batchable=True) for p in prompts], return_exceptions=True
        )
    answered = [r for r in results if not isinstance(r, BaseException)]
    assert [c.text for c in answered] == ["echo: q0", "echo: q1", "echo: q2"]
    assert all(c.call.batched for c in answered)
    for error in results[3:]:
        assert isinstance(error, ProviderError)
        assert "batch batch_0 was cancelled" in str(error) and "resume" in str(error)
    [warning] = [r.getMessage() for r in caplog.records if "batch_0" in r.getMessage()]
    assert "cancelled" in warning and "3 of 6 requests were answered" in warning
    # Nothing was sent again, and asking again in this session (an item retry) sends nothing.
    again = await asyncio.gather(ep.complete("q4", batchable=True), return_exceptions=True)
    assert isinstance(again[0], ProviderError) and "was cancelled" in str(again[0])
    assert len(openai_server.batch.batches) == 1 and openai_server.batch.lines_answered == 3
    # Which requests it never ran came from the ledger: the (perhaps huge) input file that
    # was uploaded is never downloaded again.
    assert openai_server.requests_by_path["/v1/files/file-0/content"] == 0
    await ep.aclose()
    # The next session (the run resumed) keeps the answers and sends the rest once.
    fresh = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    done = await asyncio.gather(*[fresh.complete(p, batchable=True) for p in prompts])
    assert [c.text for c in done] == [f"echo: {p}" for p in prompts]
    assert [c.cached for c in done] == [True] * 3 + [False] * 3
    first, second = openai_server.batch.batches.values()
    assert first.status == "cancelled" and (second.status, second.total) == ("completed", 3)
    assert openai_server.batch.lines_answered == 6  # each request paid for once
    await fresh.aclose()


async def test_a_batch_cancelled_while_the_run_was_stopped_is_resubmitted_once_and_said(
    openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    await stop_while_a_batch_runs(openai_server)  # then the batch is cancelled at the console
    openai_server.batch.cancel_next = 1
    fresh = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    with caplog.at_level("WARNING", logger="oversight.endpoints"):
        done = await asyncio.gather(*[fresh.complete(f"q{i}", batchable=True) for i in range(4)])
    assert [c.text for c in done] == [f"echo: q{i}" for i in range(4)]
    first, second = openai_server.batch.batches.values()
    assert first.status == "cancelled" and second.total == 2
    assert openai_server.batch.lines_answered == 4
    [warning] = [r.getMessage() for r in caplog.records if "batch_0" in r.getMessage()]
    assert "2 of 4 requests were answered" in warning and "new batch" in warning
    assert openai_server.requests_by_path["/v1/files/file-0/content"] == 0  # the ledger knew
    await fresh.aclose()


async def test_an_anthropic_batch_cancelled_at_the_console_is_not_sent_again_in_the_session(
    anthropic_server: FakeAnthropicServer, caplog: pytest.LogCaptureFixture
) -> None:
    anthropic_server.batch.cancel_next = 1
    ep = endpoint("anthropic/claude-haiku-4-5", base_url=anthropic_server.base_url, **OPTIONS)
    with caplog.at_level("WARNING", logger="oversight.endpoints"):
        results = await asyncio.gather(
            *[ep.complete(f"q{i}", batchable=True) for i in range(4)], return_exceptions=True
        )
    assert [r.text for r in results[:2] if not isinstance(r, BaseException)] == [
        "echo: q0",
        "echo: q1",
    ]
    assert all(
        isinstance(r, ProviderError) and "msgbatch_0 was cancelled" in str(r) for r in results[2:]
    )
    assert len(anthropic_server.batch.batches) == 1 and anthropic_server.batch.lines_answered == 2
    assert any("2 of 4 requests were answered" in r.getMessage() for r in caplog.records)
    await ep.aclose()


async def test_an_expired_batch_says_what_it_answered_and_what_goes_in_a_new_batch(
    anthropic_server: FakeAnthropicServer, caplog: pytest.LogCaptureFixture
) -> None:
    anthropic_server.batch.expire_next = 1
    ep = endpoint("anthropic/claude-haiku-4-5", base_url=anthropic_server.base_url, **OPTIONS)
    with caplog.at_level("WARNING", logger="oversight.endpoints"):
        done = await asyncio.gather(*[ep.complete(f"q{i}", batchable=True) for i in range(4)])
    assert [c.text for c in done] == [f"echo: q{i}" for i in range(4)]
    assert anthropic_server.batch.lines_answered == 4  # the answered two were not asked again
    [warning] = [r.getMessage() for r in caplog.records if "msgbatch_0" in r.getMessage()]
    assert "expired" in warning and "2 of 4 requests were answered" in warning
    assert "new batch" in warning
    await ep.aclose()
