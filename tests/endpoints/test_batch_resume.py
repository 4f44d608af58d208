"""``batch=True`` across a stop: a new process resumes the batches its ledger records, and a
killed or lost submission is found again rather than sent (and paid for) twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from oversight.endpoints import endpoint
from oversight.endpoints._batch import BatchLedger
from oversight.errors import StoreError
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer, Fault, RecordedRequest
from tests.transcripts.test_store import file_size_limit

from .helpers import OPTIONS, stop_while_a_batch_runs


async def test_a_new_process_polls_the_batch_it_finds_in_the_ledger(
    openai_server: FakeOpenAIServer,
) -> None:
    await stop_while_a_batch_runs(openai_server)
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
