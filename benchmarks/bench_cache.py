"""The response cache at 100,000 entries: file size, inserts a second, hits a second.

Run from the repository root::

    nice .venv/bin/python benchmarks/bench_cache.py [--entries 100000] [--prompt-chars 6000]

Each entry is what a debate turn stores: the canonical request JSON of a chat request whose
prompt is ``--prompt-chars`` characters (a turn quoting a story, with the transcript so
far; prompts differ entry to entry) and a short reply. Two layouts, each into a fresh file:
``compressed`` (this version: the request zlib-compressed) and ``plain`` (the request as
text, as before issue 21; the same code with compression switched off). Inserts go through
:meth:`ResponseCache.put` on an event loop, 1,000 a turn (as a busy run writes them); hits
are :meth:`ResponseCache.get` of every key in random order. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from oversight.endpoints import Reply, Request
from oversight.endpoints import _cache as cache_module
from oversight.endpoints._cache import ResponseCache, cache_key
from transcripts import Usage

_TEXT = (
    "the keeper wrote every ship into the ledger and the storms that came over the "
    "skerry in the winter of that year while her brother argued for the other answer"
)
_WORDS = _TEXT.split(" ")


def _requests(n: int, prompt_chars: int) -> list[tuple[str, str]]:
    rng = random.Random(0)
    story = " ".join(rng.choice(_WORDS) for _ in range(prompt_chars // 5))[:prompt_chars]
    out = []
    for i in range(n):
        prompt = f"Turn {i}. {story[: prompt_chars - 40]} {rng.random()}"
        request = Request(
            messages=[{"role": "user", "content": prompt}],
            max_tokens=300,
            temperature=0.7,
            sample_index=i % 3,
        )
        out.append(
            cache_key(
                {
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "server": "https://api.openai.com/v1",
                },
                request,
            )
        )
    return out


async def _fill(cache: ResponseCache, rows: list[tuple[str, str]], reply: Reply) -> None:
    for start in range(0, len(rows), 1000):
        for key, canonical in rows[start : start + 1000]:
            cache.put(key, "openai/gpt-4o-mini", canonical, reply)
        await asyncio.sleep(0)  # the end of a turn: the batch is written
    cache.flush()


def _measure(path: Path, rows: list[tuple[str, str]], *, compress: bool) -> dict[str, Any]:
    original = cache_module.zlib.compress
    if not compress:
        cache_module.zlib.compress = lambda data, level=-1: data.decode()  # type: ignore[assignment,misc]
    try:
        reply = Reply(text="An argument. " * 40, usage=Usage(input_tokens=1500, output_tokens=120))
        cache = ResponseCache(path)
        started = time.perf_counter()
        asyncio.run(_fill(cache, rows, reply))
        insert_s = time.perf_counter() - started
        keys = [k for k, _ in rows]
        random.Random(1).shuffle(keys)
        started = time.perf_counter()
        hits = sum(cache.get(k) is not None for k in keys)
        hit_s = time.perf_counter() - started
        cache.close()
    finally:
        cache_module.zlib.compress = original
    assert hits == len(rows)
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return {
        "mb": size / 2**20,
        "inserts_per_s": len(rows) / insert_s,
        "hits_per_s": len(rows) / hit_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--prompt-chars", type=int, default=6000)
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load[0]:.1f}"
    )
    rows = _requests(args.entries, args.prompt_chars)
    print(
        f"{args.entries:,} entries, request JSON {sum(len(c) for _, c in rows) / 2**20:.0f} "
        f"MB in all"
    )
    print("| layout | file MB | inserts/s | hits/s |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        for name, compress in (("plain (before)", False), ("compressed", True)):
            result = _measure(Path(tmp) / f"{name.split()[0]}.sqlite", rows, compress=compress)
            print(
                f"| {name} | {result['mb']:.0f} | {result['inserts_per_s']:,.0f} | "
                f"{result['hits_per_s']:,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
