"""Overhead of the endpoint layer against raw SDK calls at the same concurrency.

A fake OpenAI-compatible server runs in its own process (``python -m oversight.testing``)
and answers every request after a fixed latency. The same number of calls then goes out
at the same concurrency, alternately through the raw ``openai`` SDK (a semaphore around
``chat.completions.create``) and through ``oversight.endpoint`` (its shared concurrency
limit, retry layer and response cache; a fresh cache file per run, so every call misses,
is sent and is written), and, for comparison, on ``transport="httpx"`` (the SDKs' default
stack, ``oversight.endpoints._sdk.CLIENTS`` clients an endpoint) and on httpx with one SDK
client an endpoint (as before issue 21). Fresh prompts every run. The ratio of median wall
times is the overhead; the target is at most 1.10. The client's CPU time per call (the
server runs in another process) shows where the time goes.

    .venv/bin/python benchmarks/bench_endpoints.py                 # 2,000 calls, 128, 200 ms
    .venv/bin/python benchmarks/bench_endpoints.py --calls 200 --repeats 1   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

import openai

from oversight.endpoints import _sdk, endpoint

MODEL = "gpt-4o-mini"


async def raw_sdk(base_url: str, prompts: list[str], concurrency: int) -> float:
    """Wall seconds for ``prompts`` through the bare SDK, ``concurrency`` at a time."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def one(prompt: str) -> str:
        async with gate:
            response = await client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": prompt}],
                max_tokens=16,
                temperature=0.0,
            )
            return response.choices[0].message.content or ""

    started = time.perf_counter()
    replies = await asyncio.gather(*(one(p) for p in prompts))
    elapsed = time.perf_counter() - started
    await client.close()
    assert replies[0] == f"echo: {prompts[0]}"
    return elapsed


async def through_endpoint(
    base_url: str,
    prompts: list[str],
    concurrency: int,
    cache: Path | bool,
    transport: Literal["aiohttp", "httpx"] = "aiohttp",
) -> float:
    """Wall seconds for ``prompts`` through ``oversight.endpoint`` at ``max_concurrency``."""
    ep = endpoint(
        f"openai/{MODEL}",
        base_url=base_url,
        api_key="bench",
        max_concurrency=concurrency,
        cache=cache,
        transport=transport,
    )
    started = time.perf_counter()
    completions = await asyncio.gather(
        *(ep.complete(p, max_tokens=16, temperature=0.0) for p in prompts)
    )
    elapsed = time.perf_counter() - started
    await ep.aclose()
    assert completions[0].text == f"echo: {prompts[0]}" and not completions[0].cached
    return elapsed


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The fake server in its own process, and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "oversight.testing", "openai", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--latency", type=float, default=0.2, help="server seconds per reply")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    process, base_url = start_server(args.latency)
    workdir = Path(tempfile.mkdtemp(prefix="bench-endpoints-"))
    names = (
        "raw SDK",
        "endpoint, cache on",
        "endpoint, no cache",
        "endpoint, no cache, httpx",
        "endpoint, no cache, httpx, 1 SDK client",
    )
    runs: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}

    async def run(name: str, prompts: list[str], repeat: int) -> float:
        if name == "raw SDK":
            return await raw_sdk(base_url, prompts, args.concurrency)
        cache = workdir / f"cache-{repeat}.sqlite" if name == "endpoint, cache on" else False
        # httpx, and httpx with one SDK client an endpoint, as before issue 21 (one
        # connection pool scanned by every request).
        clients = _sdk.CLIENTS
        _sdk.CLIENTS = 1 if name.endswith("1 SDK client") else clients
        transport: Literal["aiohttp", "httpx"] = "httpx" if "httpx" in name else "aiohttp"
        try:
            return await through_endpoint(base_url, prompts, args.concurrency, cache, transport)
        finally:
            _sdk.CLIENTS = clients

    try:
        # One warm-up call each, so imports and connection set-up are not timed.
        await raw_sdk(base_url, ["warm-up"], 1)
        await through_endpoint(base_url, ["warm-up"], 1, False)
        for repeat in range(args.repeats):
            for name in names:
                prompts = [f"{name} {repeat} question {i}" for i in range(args.calls)]
                cpu_before = time.process_time()
                runs[name].append(await run(name, prompts, repeat))
                cpu[name].append((time.process_time() - cpu_before) / args.calls * 1000)
                print(
                    f"  {name:<20} run {repeat + 1}: {runs[name][-1]:.3f} s, "
                    f"client CPU {cpu[name][-1]:.2f} ms a call",
                    flush=True,
                )
    finally:
        process.terminate()
        process.wait(timeout=10)

    ideal = -(-args.calls // args.concurrency) * args.latency
    raw = statistics.median(runs["raw SDK"])
    print()
    print(
        f"{args.calls} calls, concurrency {args.concurrency}, server latency "
        f"{args.latency * 1000:.0f} ms (ideal {ideal:.2f} s); median of {args.repeats}:"
    )
    print("| path | median (s) | best (s) | ratio to raw SDK | client CPU a call (ms) |")
    print("|---|---:|---:|---:|---:|")
    summary = {}
    for name, times in runs.items():
        median = statistics.median(times)
        summary[name] = round(median / raw, 3)
        print(
            f"| {name} | {median:.2f} | {min(times):.2f} | {median / raw:.3f} "
            f"| {statistics.median(cpu[name]):.2f} |"
        )
    print()
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    print(json.dumps({"machine": machine, "python": platform.python_version(), **summary}))


if __name__ == "__main__":
    asyncio.run(main())
