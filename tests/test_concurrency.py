from __future__ import annotations

import asyncio

import pytest

from oversight.concurrency import as_completed_bounded, bounded_gather, bounded_map


async def test_bounded_map_keeps_order_and_limit() -> None:
    running = peak = 0

    async def work(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0)
        running -= 1
        return x * 2

    assert await bounded_map(work, range(50), limit=4) == [x * 2 for x in range(50)]
    assert peak == 4
    assert await bounded_gather([work(1), work(2)], limit=1) == [2, 4]


async def test_one_failure_cancels_the_rest_and_surfaces() -> None:
    started: list[int] = []

    async def work(x: int) -> int:
        started.append(x)
        if x == 2:
            raise ValueError("item 2 is bad")
        await asyncio.sleep(10)
        return x

    with pytest.raises(ValueError, match="item 2 is bad"):
        await bounded_map(work, range(10), limit=3)
    assert 9 not in started


async def test_as_completed_yields_failures_and_stops_starting_when_abandoned() -> None:
    started: list[int] = []

    async def work(x: int) -> int:
        started.append(x)
        await asyncio.sleep(0)
        if x == 1:
            raise RuntimeError("boom")
        return x

    seen: dict[int, object] = {}
    async for item, result in as_completed_bounded(work, range(100), limit=2):
        seen[item] = result
        if len(seen) == 4:
            break
    assert isinstance(seen[1], RuntimeError)
    assert len(started) <= 6
    with pytest.raises(ValueError):
        async for _ in as_completed_bounded(work, [1], limit=0):
            pass
