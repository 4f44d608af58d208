"""The one bounded-concurrency helper: every fan-out in oversight goes through it.

Example::

    results = await bounded_gather([fetch(q) for q in questions], limit=16)

Tasks are owned by an :class:`asyncio.TaskGroup`, so none is left running unowned: when
one fails, the others are cancelled and the error propagates (as an ``ExceptionGroup``
unwrapped to its first error when there is only one).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar

__all__ = ["as_completed_bounded", "bounded_gather", "bounded_map"]

T = TypeVar("T")
R = TypeVar("R")


async def bounded_gather(awaitables: Iterable[Awaitable[T]], *, limit: int) -> list[T]:
    """Await all, at most ``limit`` at a time; results in input order."""
    items = list(awaitables)
    return await bounded_map(lambda a: a, items, limit=limit)


async def bounded_map(
    fn: Callable[[T], Awaitable[R]], items: Iterable[T], *, limit: int
) -> list[R]:
    """``[await fn(x) for x in items]`` with at most ``limit`` running at once, in order."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    items = list(items)
    results: list[R | None] = [None] * len(items)
    semaphore = asyncio.Semaphore(limit)

    async def one(i: int, item: T) -> None:
        async with semaphore:
            results[i] = await fn(item)

    try:
        async with asyncio.TaskGroup() as group:
            for i, item in enumerate(items):
                group.create_task(one(i, item))
    except ExceptionGroup as group_error:
        if len(group_error.exceptions) == 1:
            raise group_error.exceptions[0] from None
        raise
    return results  # type: ignore[return-value]


async def as_completed_bounded(
    fn: Callable[[T], Awaitable[R]], items: Iterable[T], *, limit: int
) -> AsyncIterator[tuple[T, R | BaseException]]:
    """Yield ``(item, result or exception)`` as each finishes, at most ``limit`` at once.

    Failures are yielded, not raised, so one bad item does not stop the others. Items are
    started lazily, so a consumer that stops iterating (e.g. at a cost cap) starts no more;
    tasks already running are awaited before the generator closes, so consume it inside
    ``contextlib.aclosing(...)`` when you may stop early.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    iterator = iter(items)
    running: dict[asyncio.Task[R], T] = {}

    def start_next() -> bool:
        for item in iterator:
            running[asyncio.ensure_future(fn(item))] = item
            return True
        return False

    try:
        while len(running) < limit and start_next():
            pass
        while running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                item = running.pop(task)
                error = task.exception() if not task.cancelled() else asyncio.CancelledError()
                yield item, (error if error is not None else task.result())
                start_next()
    finally:
        if running:
            # Let calls in flight finish (their results are saved by their own code), and
            # never leave a task unowned.
            await asyncio.gather(*running, return_exceptions=True)
