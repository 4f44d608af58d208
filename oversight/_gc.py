"""How the garbage collector runs where the framework is busy: fewer collections while
calls are in flight, none while the report decodes and analyses a store.

Neither changes a result. Reference counting frees every object the moment its last
reference goes; the cyclic collector only finds groups of objects that refer to each other,
and these settings change when it looks, not what it finds.

Why it matters: with the interpreter's default (a collection of the young objects every
700 net allocations), the collector was 27% of the client's CPU on issue 21's debate
workload (4.7 of 17.5 CPU seconds for 7,000 calls, BENCHMARKS.md). Each of the 256
requests in flight keeps its prompt, SDK objects and HTTP buffers alive for the 300 ms a
reply takes, so they survive the young collections, are copied up to the older
generations, and set off full collections that walk every object the imports made.
Letting 50,000 young objects accumulate before a collection, most of them are gone by then.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_OBJECTS", "fewer_collections", "gc_paused"]

YOUNG_OBJECTS = 50_000
"""Net allocations of container objects between two collections of the youngest
generation, while calls are in flight (the default is 700 on Python 3.11, where this was
measured; a process that already collects less often keeps its setting). The older
generations keep theirs."""

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The youngest generation collected every :data:`YOUNG_OBJECTS` net allocations (or
    less often, where the process already set that), for the block; the process's own
    thresholds come back when the last of several overlapping blocks ends (two runs in one
    event loop, or in two threads)."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            young, *older = _saved
            gc.set_threshold(max(young, YOUNG_OBJECTS), *older)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The garbage collector paused (also as a decorator): decoding creates many objects
    and no cycles, and the collections their number would set off cost more than the
    decoding; afterwards, each full collection set off by the analysis's temporary objects
    would walk every row of the loaded store (a third of the analysis at 100,000
    judgments)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
