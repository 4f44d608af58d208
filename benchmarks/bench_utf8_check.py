"""The cost of the report's UTF-8 check (``transcripts._blocks._utf8``) over a kept store.

Run from the repository root on a store kept by ``bench_scale.py --keep DIR``::

    python benchmarks/bench_utf8_check.py DIR/run [--reps 7]

Reads the run's transcripts and judgments in the report's blocks, holds them in memory and
times the check over all of them: as stored, then with 50 curly quote marks in each block
(text with non-ASCII characters, which the check decodes). Prints the median and the minimum
CPU time of each.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from transcripts import _blocks


def _times(blocks: list[bytes], check: Callable[[bytes], bool], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        start = time.process_time()
        for block in blocks:
            check(block)
        out.append(time.process_time() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder (bench_scale.py --keep DIR: DIR/run)")
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    blocks = [
        bytes(block)
        for name in ("transcripts.jsonl", "judgments.jsonl")
        for block in _blocks._blocks(args.run / name)
        if block is not None
    ]
    print(f"{sum(map(len, blocks)) / 1e6:.0f} MB in {len(blocks)} blocks")
    quoted = [b.replace(b"the", "th\u2019".encode(), 50) for b in blocks]
    for label, data in (("as stored", blocks), ("50 quote marks a block", quoted)):
        times = _times(data, _blocks._utf8, args.reps)
        print(
            f"{label}: median {statistics.median(times) * 1000:.1f} ms, "
            f"min {min(times) * 1000:.1f} ms CPU"
        )


if __name__ == "__main__":
    main()
