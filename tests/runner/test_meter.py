"""Paid calls count toward the caps even when the call failed for good afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from oversight.endpoints import endpoint
from oversight.errors import CostCapReached, StructuredOutputError
from oversight.runner._meter import Meter, MeteredEndpoint, SpendEntry
from oversight.testing import FakeOpenAIServer, FakeReply
from transcripts import JsonlLog


class Verdict(BaseModel):
    answer: int


async def test_replies_that_never_matched_the_schema_are_still_spent(tmp_path: Path) -> None:
    ledger: JsonlLog[SpendEntry] = JsonlLog(tmp_path / "spend.jsonl", SpendEntry)
    meter = Meter(max_cost_usd=0.01, ledger=ledger)
    inner = endpoint(
        "mock/judge",
        replies=lambda request: "never JSON " * 500,
        pricing={"input": 1.0, "output": 10.0},
    )
    judge = MeteredEndpoint(inner, meter)
    with pytest.raises(StructuredOutputError) as failed:
        await judge.complete("Which answer?", schema=Verdict)
    # Three paid replies (one asked, two re-asks): three call records, three ledger lines.
    paid = failed.value.calls
    assert len(paid) == 3 and all(c.cost_usd is not None and c.cost_usd > 0 for c in paid)
    total = sum(c.cost_usd or 0.0 for c in paid)
    assert meter.spent_usd == pytest.approx(total)
    assert meter.output_tokens == sum(c.usage.output_tokens for c in paid) > 0
    # On disk too, so a resumed run counts it, and the cap holds.
    assert [e.cost_usd for e in ledger] == [pytest.approx(c.cost_usd) for c in paid]
    # Three long useless replies cost more than the cap: no new call starts.
    assert meter.spent_usd > 0.01
    with pytest.raises(CostCapReached):
        await judge.complete("Another question?")


async def test_a_reply_that_failed_the_schema_before_a_good_one_is_its_own_ledger_line(
    tmp_path: Path,
) -> None:
    ledger: JsonlLog[SpendEntry] = JsonlLog(tmp_path / "spend.jsonl", SpendEntry)
    meter = Meter(ledger=ledger)
    replies = iter(["not JSON at all", '{"answer": 1}'])
    inner = endpoint(
        "mock/judge", replies=lambda request: next(replies), pricing={"input": 1.0, "output": 10.0}
    )
    completion = await MeteredEndpoint(inner, meter).complete("Which?", schema=Verdict)
    assert completion.parsed == Verdict(answer=1)
    lines = list(ledger)
    assert len(lines) == 2 and len({line.sent_id for line in lines}) == 1
    assert sum(line.cost_usd or 0.0 for line in lines) == pytest.approx(completion.cost_usd)
    assert sum(line.output_tokens for line in lines) == completion.usage.output_tokens
    assert meter.calls == 2


async def test_a_reask_without_token_counts_is_bounded_by_the_prompt_it_sent(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    """A server that reports no usage, and a first reply that fails the schema: the re-ask
    sends the conversation with that reply and the correction in it, a longer prompt, but
    its ledger line counted only the first request's prompt, so ``≤$… estimated`` (what
    ``--max-cost`` counts) was below what the re-ask can have cost. Now each paid reply's
    bound counts the prompt its own request carried."""
    first = "not JSON, and long " * 200  # about 950 prompt tokens when sent back
    replies = iter([first, '{"answer": 1}'])
    openai_server.reply = lambda body: FakeReply(next(replies), usage=False)
    ledger: JsonlLog[SpendEntry] = JsonlLog(tmp_path / "spend.jsonl", SpendEntry)
    inner = endpoint(
        "openai/served-model",
        base_url=openai_server.base_url,
        api_key="test-key",
        pricing={"input": 1.0, "output": 2.0},
        cache=False,
    )
    completion = await MeteredEndpoint(inner, Meter(ledger=ledger)).complete(
        "Which?", schema=Verdict, max_tokens=1000
    )
    assert completion.parsed == Verdict(answer=1)
    sent = [r.body["messages"] for r in openai_server.requests]
    assert len(sent) == 2 and first in [m["content"] for m in sent[1]]
    bounds = [line.estimated_usd for line in ledger]
    assert len(bounds) == 2 and all(b is not None for b in bounds)
    # The re-ask's prompt holds the first reply (at least len(first) / 4 tokens more).
    assert bounds[1] - bounds[0] >= len(first) / 4 * 1.0 / 1e6
