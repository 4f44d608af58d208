"""How long importing the NYU debate dataset takes, and exporting the result.

Run from the repository root (the dataset sits next to the repository)::

    .venv/bin/python benchmarks/bench_import.py [--data ../shared/data/nyu-debate] [--repeat 3]

Times, into a fresh temporary folder each time: a full import of every room, a repeated
import into the same folder (which writes nothing new), reading the questions back as a
dataset, and exporting judgments to CSV and Parquet and to a DataFrame. Prints the best and
median of the repeats, and the counts, so the numbers can go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transcripts.export import to_csv, to_dataframe, to_parquet
from transcripts.importers.nyu import ImportSummary, import_nyu_debate, questions

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/nyu-debate"


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def _one_round(data: Path) -> tuple[dict[str, float], ImportSummary, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "nyu"
        times: dict[str, float] = {}
        times["import (all rooms)"], summary = _timed(lambda: import_nyu_debate(data, out))
        times["re-import (nothing new)"], _ = _timed(lambda: import_nyu_debate(data, out))
        times["questions from the run"], found = _timed(lambda: questions(out))
        times["export judgments CSV"], _ = _timed(lambda: to_csv(out, Path(tmp) / "j.csv"))
        times["export judgments Parquet"], _ = _timed(
            lambda: to_parquet(out, Path(tmp) / "j.parquet")
        )
        times["judgments DataFrame"], _ = _timed(lambda: to_dataframe(out))
        sizes = {
            name: (out / name).stat().st_size for name in ("transcripts.jsonl", "judgments.jsonl")
        }
        sizes["questions"] = len(found)
        return times, summary, sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="the dataset folder (default: ../shared/data/nyu-debate)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds to time (default 3)")
    args = parser.parse_args()
    if not (args.data / "debates-metadata.jsonl").is_file():
        print(f"no NYU debate dataset at {args.data}; pass --data", file=sys.stderr)
        return 2
    runs = [_one_round(args.data) for _ in range(args.repeat)]
    summary, sizes = runs[-1][1], runs[-1][2]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {args.repeat} repeats"
    )
    print(
        f"rooms: {summary.rooms}, imported {summary.imported}, skipped "
        f"{len(summary.skipped)} {summary.skipped_by_reason()}, judgments {summary.judgments}, "
        f"quotes {summary.quotes} ({summary.unverified_quotes} unverified), "
        f"questions {sizes['questions']}"
    )
    print(
        f"store: transcripts.jsonl {sizes['transcripts.jsonl'] / 1e6:.1f} MB, "
        f"judgments.jsonl {sizes['judgments.jsonl'] / 1e6:.2f} MB"
    )
    print(f"{'step':<28}{'best s':>9}{'median s':>10}{'rooms/s':>10}")
    for step in runs[0][0]:
        values = [times[step] for times, _, _ in runs]
        best, median = min(values), statistics.median(values)
        rate = f"{summary.rooms / median:,.0f}" if "import" in step else ""
        print(f"{step:<28}{best:>9.2f}{median:>10.2f}{rate:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
