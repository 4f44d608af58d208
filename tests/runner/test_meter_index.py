"""A resumed run's meter reads the spend ledger's and sent log's indexes, not their lines:
the same spend, tokens and calls cut off by a kill as from reading every line."""

from __future__ import annotations

import shutil
from pathlib import Path

from oversight.runner._meter import Meter, SentEntry, SpendEntry
from transcripts import JsonlLog


def _meter(folder: Path, ledger: str, sent: str) -> tuple[float, int, int, int, int, list[str]]:
    meter = Meter(
        ledger=JsonlLog(folder / ledger, SpendEntry), sent=JsonlLog(folder / sent, SentEntry)
    )
    return (
        round(meter.spent_usd, 9),
        meter.unknown_cost_calls,
        meter.input_tokens,
        meter.output_tokens,
        meter.paid_lines,
        [m.id for m in meter.unclosed],
    )


def test_the_meter_reads_the_indexes_and_agrees_with_the_lines(tmp_path: Path) -> None:
    spend = JsonlLog(tmp_path / "spend.jsonl", SpendEntry)
    sent = JsonlLog(tmp_path / "sent.jsonl", SentEntry)
    for n in range(12):
        sent.append(SentEntry(id=f"call{n}", endpoint="openai/x", request_hash=f"h{n}"))
        if n % 4 == 3:
            sent.append(SentEntry(id=f"call{n}", event="unpaid"))  # failed, nothing to pay
        elif n not in (5, 9):  # 5 and 9: cut off by a kill while in flight
            spend.append(
                SpendEntry(
                    endpoint="openai/x",
                    input_tokens=100 + n,
                    output_tokens=10,
                    cost_usd=None if n == 2 else 0.001 * n,
                    request_hash=f"h{n}",
                    sent_id=f"call{n}",
                )
            )
    spend.close()
    sent.close()
    indexed = _meter(tmp_path, "spend.jsonl", "sent.jsonl")
    assert indexed == (
        0.001 * (0 + 1 + 4 + 6 + 8 + 10),
        1,  # call 2's price is unknown
        sum(100 + n for n in (0, 1, 2, 4, 6, 8, 10)),
        70,
        7,
        ["call5", "call9"],
    )
    assert (tmp_path / "spend.jsonl.idx").exists()
    # The same files under other names have no such index: every line is read instead.
    shutil.copy(tmp_path / "spend.jsonl", tmp_path / "spend-copy.jsonl")
    shutil.copy(tmp_path / "sent.jsonl", tmp_path / "sent-copy.jsonl")
    assert _meter(tmp_path, "spend-copy.jsonl", "sent-copy.jsonl") == indexed
