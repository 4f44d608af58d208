"""What the cross-process file lock costs an append, and that concurrent writers never tear.

Run from the repository root::

    .venv/bin/python benchmarks/bench_store.py [--appends 20000] [--writers 2]

1. **append**: ``--appends`` judgments appended one by one through ``JsonlLog.append`` (one
   ``write`` under the in-process lock and the OS file lock), against the same bytes written
   with a bare ``os.write`` on an ``O_APPEND`` descriptor (no lock at all);
2. **concurrent writers**: ``--writers`` processes append ``--appends`` judgments each to one
   file at once (as several people judging one run do); every line must parse and the count
   must be exact.

Prints a table to paste into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import tempfile
import time
from pathlib import Path

from transcripts import JsonlLog, JudgeIdentity, Judgment


def _judgment(i: int, who: str) -> Judgment:
    return Judgment(
        transcript_id=f"t{i}",
        judge=JudgeIdentity(kind="human", name="human", annotator=who),
        probabilities=[0.7, 0.3],
        rationale="the quote is verified " * 3,
        time_s=12.5,
        metadata={"presented_order": [1, 0], "entry": "70 30"},
    )


def _writer(path: str, n: int, who: str) -> None:
    log = JsonlLog(Path(path), Judgment)
    for i in range(n):
        log.append(_judgment(i, who))
    log.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appends", type=int, default=20000)
    parser.add_argument("--writers", type=int, default=2)
    args = parser.parse_args()
    records = [_judgment(i, "solo") for i in range(args.appends)]
    lines = [(r.model_dump_json() + "\n").encode() for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        log = JsonlLog(folder / "locked.jsonl", Judgment)
        started = time.perf_counter()
        for r in records:
            log.append(r)
        locked = time.perf_counter() - started
        log.close()
        fd = os.open(folder / "bare.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        started = time.perf_counter()
        for line in lines:
            os.write(fd, line)
        bare = time.perf_counter() - started
        os.close(fd)
        # Serialising the record is part of both; time it alone to separate the lock's share.
        started = time.perf_counter()
        for r in records:
            (r.model_dump_json() + "\n").encode()
        dump = time.perf_counter() - started

        shared = folder / "shared.jsonl"
        procs = [
            multiprocessing.Process(target=_writer, args=(str(shared), args.appends, f"w{k}"))
            for k in range(args.writers)
        ]
        started = time.perf_counter()
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        together = time.perf_counter() - started
        written = shared.read_bytes().splitlines()
        parsed = list(JsonlLog(shared, Judgment))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )
    print("| measurement | result |\n|---|---|")
    print(f"| JsonlLog.append (locked), per record | {locked / args.appends * 1e6:.0f} µs |")
    print(f"| of which JSON serialisation | {dump / args.appends * 1e6:.0f} µs |")
    print(f"| bare os.write, per record | {bare / args.appends * 1e6:.0f} µs |")
    print(
        f"| {args.writers} processes x {args.appends} appends | {together:.2f} s, "
        f"{len(written)} lines, {len(parsed)} parse, expected {args.writers * args.appends} |"
    )
    assert len(parsed) == len(written) == args.writers * args.appends


if __name__ == "__main__":
    main()
