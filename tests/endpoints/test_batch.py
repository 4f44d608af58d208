"""``batch=True``: the OpenAI Batch API over real HTTP, through the real SDK, on the fake."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from oversight.endpoints import batchable_calls, endpoint
from oversight.endpoints._batch import BatchLedger
from oversight.endpoints._pricing import lookup_price
from oversight.errors import ConfigError, ProviderError, StoreError
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer, Fault, RecordedRequest
from tests.transcripts.test_store import file_size_limit

OPTIONS = {
    "api_key": "k",
    "batch": True,
    "batch_window": 0.01,
    "batch_poll_interval": 0,
    "retry_backoff": 0,
}


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


async def _stop_while_a_batch_runs(openai_server: FakeOpenAIServer) -> None:
    """A process submits four batchable calls and stops (is killed) while the provider
    still runs their batch; the batch then goes on without it."""
    openai_server.batch.hold = True
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    calls = [asyncio.ensure_future(ep.complete(f"q{i}", batchable=True)) for i in range(4)]
    for _ in range(1000):  # until the batch is submitted and being polled
        if "/v1/batches/batch_0" in openai_server.requests_by_path:
            break
        await asyncio.sleep(0.01)
    for call in calls:
        call.cancel()
    await asyncio.gather(*calls, return_exceptions=True)
    await ep.aclose()
    openai_server.batch.hold = False


async def test_a_new_process_polls_the_batch_it_finds_in_the_ledger(
    openai_server: FakeOpenAIServer,
) -> None:
    await _stop_while_a_batch_runs(openai_server)
    fresh = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    completions = await asyncio.gather(*[fresh.complete(f"q{i}", batchable=True) for i in range(4)])
    assert [c.text for c in completions] == [f"echo: q{i}" for i in range(4)]
    assert (
        len(openai_server.batch.batches) == 1 and openai_server.requests_by_path["/v1/files"] == 1
    )
    assert fresh.batch is not None and (fresh.batch.submitted, fresh.batch.resumed) == (0, 1)
    await fresh.aclose()


def test_a_ledger_entry_the_disk_cuts_short_is_taken_back(tmp_path: Path) -> None:
    # A partial line took the next entry with it: a batch whose ids the ledger lost is,
    # after a kill, sent (and paid for) again.
    ledger = BatchLedger(tmp_path / "batches.jsonl")
    ledger.record({"event": "submitting", "submission": "s1", "keys": ["k1"]})
    size = ledger.path.stat().st_size
    with file_size_limit(size + 20), pytest.raises(StoreError, match=r"batches\.jsonl"):
        ledger.record({"event": "submitting", "submission": "s2", "keys": ["k" * 64]})
    assert ledger.path.stat().st_size == size
    ledger.record({"event": "submitted", "submission": "s1", "batch_id": "b1", "keys": ["k1"]})
    assert [e["event"] for e in ledger.entries()] == ["submitting", "submitted"]


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


class _KilledBeforeTheIdIsWritten(BatchLedger):
    """A ledger whose process dies right after the provider accepted the batch."""

    def record(self, entry: dict[str, Any]) -> None:
        if entry["event"] == "submitted":
            raise RuntimeError("killed")
        super().record(entry)


async def test_a_kill_between_submitting_and_writing_the_id_finds_the_batch_by_its_label(
    openai_server: FakeOpenAIServer,
) -> None:
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    assert ep.batch is not None
    ep.batch.ledger = _KilledBeforeTheIdIsWritten(ep.batch.ledger.path)
    with pytest.raises(RuntimeError, match="killed"):
        await asyncio.gather(*[ep.complete(f"q{i}", batchable=True) for i in range(3)])
    await ep.aclose()
    assert len(openai_server.batch.batches) == 1
    fresh = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    completions = await asyncio.gather(*[fresh.complete(f"q{i}", batchable=True) for i in range(3)])
    assert [c.text for c in completions] == ["echo: q0", "echo: q1", "echo: q2"]
    assert len(openai_server.batch.batches) == 1  # found by its label, not sent again
    await fresh.aclose()


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


def _lose_first_batch_create(path: str) -> Callable[[RecordedRequest], Fault | None]:
    """Faults: the first batch create is carried out, but its reply never arrives."""
    lost: list[int] = []

    def fault(request: RecordedRequest) -> Fault | None:
        if request.path == path and request.body is not None and not lost:
            lost.append(request.index)
            return Fault.lost_reply()
        return None

    return fault


async def test_a_lost_reply_to_an_anthropic_batch_create_finds_the_batch_not_a_second(
    anthropic_server: FakeAnthropicServer,
) -> None:
    anthropic_server.set_faults(_lose_first_batch_create("/v1/messages/batches"))
    ep = endpoint("anthropic/claude-haiku-4-5", base_url=anthropic_server.base_url, **OPTIONS)
    completions = await asyncio.gather(*[ep.complete(f"q{i}", batchable=True) for i in range(3)])
    assert [c.text for c in completions] == ["echo: q0", "echo: q1", "echo: q2"]
    assert len(anthropic_server.batch.batches) == 1  # found among the listed, not resent
    assert anthropic_server.batch.lines_answered == 3
    assert anthropic_server.requests_by_path["/v1/messages"] == 0
    assert ep.batch is not None and (ep.batch.submitted, ep.batch.resumed) == (0, 1)
    entries = [e["event"] for e in ep.batch.ledger.entries()]
    assert entries == ["submitting", "ended", "submitted"]
    await ep.aclose()


async def test_the_anthropic_lookup_tells_our_batch_from_others_of_the_same_size(
    anthropic_server: FakeAnthropicServer, tmp_path: Path
) -> None:
    # Another process's batch (another run folder, so another ledger) of three requests.
    other = endpoint(
        "anthropic/claude-haiku-4-5",
        base_url=anthropic_server.base_url,
        cache=tmp_path / "elsewhere" / "cache.sqlite",
        **OPTIONS,
    )
    await asyncio.gather(*[other.complete(f"other {i}", batchable=True) for i in range(3)])
    await other.aclose()
    anthropic_server.set_faults(_lose_first_batch_create("/v1/messages/batches"))
    ep = endpoint("anthropic/claude-haiku-4-5", base_url=anthropic_server.base_url, **OPTIONS)
    completions = await asyncio.gather(*[ep.complete(f"q{i}", batchable=True) for i in range(3)])
    assert [c.text for c in completions] == ["echo: q0", "echo: q1", "echo: q2"]
    # Two candidates of three requests since the intent (the clock-skew margin takes in the
    # other); only ours carries the intent's custom ids, so nothing was sent again.
    assert len(anthropic_server.batch.batches) == 2
    assert anthropic_server.batch.lines_answered == 6
    assert ep.batch is not None and (ep.batch.submitted, ep.batch.resumed) == (0, 1)
    await ep.aclose()


async def test_a_lost_reply_to_an_openai_batch_create_finds_the_batch_by_its_label(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.set_faults(_lose_first_batch_create("/v1/batches"))
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    completions = await asyncio.gather(*[ep.complete(f"q{i}", batchable=True) for i in range(3)])
    assert [c.text for c in completions] == ["echo: q0", "echo: q1", "echo: q2"]
    assert len(openai_server.batch.batches) == 1
    assert openai_server.batch.lines_answered == 3
    await ep.aclose()


async def test_a_failed_status_check_polls_the_batch_again_and_never_resubmits(
    openai_server: FakeOpenAIServer,
) -> None:
    failed: list[int] = []

    def fault(request: RecordedRequest) -> Fault | None:
        if request.path == "/v1/batches/batch_0" and not failed:
            failed.append(request.index)
            return Fault.server_error(503)
        return None

    openai_server.set_faults(fault)
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    completions = await asyncio.gather(*[ep.complete(f"q{i}", batchable=True) for i in range(3)])
    assert [c.text for c in completions] == ["echo: q0", "echo: q1", "echo: q2"]
    assert failed and len(openai_server.batch.batches) == 1
    assert openai_server.requests_by_path["/v1/files"] == 1
    assert all(c.call.retries == 1 for c in completions)  # the status check, asked again
    await ep.aclose()


async def test_a_ledger_written_before_nonces_still_resumes_its_batch(
    openai_server: FakeOpenAIServer, isolated_environment: Path
) -> None:
    """A run killed mid-batch by the previous version (custom ids were the bare cache keys,
    intents had no time) is resumed by this one without sending anything again."""
    import openai

    probe = endpoint(
        "openai/gpt-4o-mini", base_url=openai_server.base_url, api_key="k", cache=False
    )
    keys = [(await probe.complete(f"q{i}")).call.request_hash for i in range(3)]
    await probe.aclose()
    client = openai.AsyncOpenAI(base_url=openai_server.base_url, api_key="k", max_retries=0)
    lines = [
        {
            "custom_id": key,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q{i}"}]},
        }
        for i, key in enumerate(keys)
    ]
    upload = await client.files.create(
        file=("old.jsonl", "".join(json.dumps(x) + "\n" for x in lines).encode()), purpose="batch"
    )
    old = await client.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    await client.close()
    ledger = BatchLedger(isolated_environment.parent / "batches.jsonl")
    spec = "openai/gpt-4o-mini"
    ledger.record({"event": "submitting", "endpoint": spec, "submission": "s", "keys": keys})
    ledger.record(
        {
            "event": "submitted",
            "endpoint": spec,
            "batch_id": old.id,
            "submission": "s",
            "keys": keys,
        }
    )
    openai_server.reset()
    ep = endpoint(spec, base_url=openai_server.base_url, **OPTIONS)
    completions = await asyncio.gather(*[ep.complete(f"q{i}", batchable=True) for i in range(3)])
    assert [c.text for c in completions] == ["echo: q0", "echo: q1", "echo: q2"]
    assert len(openai_server.batch.batches) == 1
    sent = {r.path for r in openai_server.requests}  # status checks and the results only
    assert sent == {f"/v1/batches/{old.id}", "/v1/files/file-1/content"}
    assert all(c.call.batched for c in completions)
    await ep.aclose()


async def test_the_fake_anthropic_server_lists_batches_newest_first_page_by_page(
    anthropic_server: FakeAnthropicServer,
) -> None:
    import anthropic

    client = anthropic.AsyncAnthropic(base_url=anthropic_server.base_url, api_key="k")
    request = {
        "model": "claude-haiku-4-5",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
    }
    made = [
        (
            await client.messages.batches.create(
                requests=[{"custom_id": f"c{i}", "params": request}]
            )
        ).id  # type: ignore[list-item]
        for i in range(5)
    ]
    listed = [b.id async for b in client.messages.batches.list(limit=2)]  # three pages
    assert listed == made[::-1]
    assert anthropic_server.requests_by_path["/v1/messages/batches"] == 5 + 3
    newer = await client.messages.batches.list(limit=2, before_id=made[1])
    assert [b.id for b in newer.data] == [made[3], made[2]] and newer.has_more
    await client.close()


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
    await _stop_while_a_batch_runs(openai_server)  # then the batch is cancelled at the console
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
