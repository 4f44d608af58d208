"""Paid calls count toward the caps even when the call failed for good afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from oversight.endpoints import endpoint
from oversight.errors import CostCapReached, StructuredOutputError
from oversight.runner._meter import Meter, MeteredEndpoint, SpendEntry
from transcripts import JsonlLog


class Verdict(BaseModel):
    answer: int


async def test_replies_that_never_matched_the_schema_are_still_spent(tmp_path: Path) -> None:
    ledger: JsonlLog[SpendEntry] = JsonlLog(tmp_path / "spend.jsonl", SpendEntry)
    meter = Meter(max_cost_usd=0.01, ledger=ledger)
    inner = endpoint("mock/judge", replies=lambda request: "never JSON " * 500,
                     pricing={"input": 1.0, "output": 10.0})
    judge = MeteredEndpoint(inner, meter)
    with pytest.raises(StructuredOutputError) as failed:
        await judge.complete("Which answer?", schema=Verdict)
    (paid,) = failed.value.calls
    assert paid.cost_usd is not None and paid.cost_usd > 0
    assert meter.spent_usd == pytest.approx(paid.cost_usd)
    assert meter.output_tokens == paid.usage.output_tokens > 0
    # On disk too, so a resumed run counts it, and the cap holds.
    assert [e.cost_usd for e in ledger] == [pytest.approx(paid.cost_usd)]
    # Three long useless replies cost more than the cap: no new call starts.
    assert meter.spent_usd > 0.01
    with pytest.raises(CostCapReached):
        await judge.complete("Another question?")
