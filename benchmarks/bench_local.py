"""``examples/local.toml`` on a real llama.cpp server: how long it takes, and what the calls did.

Run from the repository root, with the ``local`` extra installed::

    /usr/bin/time -v .venv/bin/oversight run examples/local.toml --out runs/local --no-progress
    .venv/bin/python benchmarks/bench_local.py runs/local [runs/other ...]

For each finished run folder it prints one row: the session's wall time (``status.json``),
calls sent (``spend.jsonl``), retried attempts of the calls recorded on turns and judgments
(timeouts and transport failures show up here), their finish reasons (runs written before
schema version 2 did not record them), speeches marked as cut, speeches carrying chat
control text, and judgments ok / failed / escalated. Give it the runs of two versions to
compare them side by side (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from transcripts import RunStore

CONTROL = re.compile(r"<\|im_(?:start|end)\|>|<(?:start|end)_of_turn>|<\|eot_id\|>")
"""Chat-template control text that must never reach what a judge reads."""


def summarise(folder: Path) -> dict[str, object]:
    """The row for one run folder."""
    store = RunStore.open(folder)
    status = json.loads((folder / "status.json").read_text())
    calls = [c for t in store.transcripts.latest() for c in t.calls]
    public = [
        turn
        for t in store.transcripts.latest()
        for turn in t.turns
        if turn.visibility == "public" and turn.call is not None
    ]
    judgments = list(store.judgments)
    calls += [c for j in judgments for c in j.calls]
    sent = [c for c in calls if not c.cached]
    finish = Counter(c.finish_reason or "unrecorded" for c in sent)
    row: dict[str, object] = {
        "run": folder.name,
        "status": status.get("status"),
        "wall s": round(float(status.get("elapsed_s", 0.0)), 1),
        "calls": _ledger_lines(folder / "spend.jsonl"),
        "retried attempts": sum(c.retries for c in sent),
        "finish": ", ".join(f"{k} {v}" for k, v in sorted(finish.items())) or "-",
        "speeches cut": f"{sum(t.truncated for t in public)} of {len(public)}",
        "with control text": sum(bool(CONTROL.search(t.content)) for t in public),
        "judgments ok/failed/escalated": "/".join(
            str(n)
            for n in (
                sum(j.status == "ok" for j in judgments),
                sum(j.status == "failed" for j in judgments),
                sum(j.escalated for j in judgments),
            )
        ),
    }
    store.close()
    return row


def _ledger_lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished run folders")
    args = parser.parse_args()
    rows = [summarise(folder) for folder in args.runs]
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
