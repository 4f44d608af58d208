"""How the report runs in its process: garbage collector paused, BLAS on one thread.

Neither changes a number: reference counting still frees every object at once (only cycles
wait for the collector, until the pause ends), and a single BLAS thread computes each entry
of a matrix product exactly as several do (they split the output, not the sums).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused", "one_blas_thread"]


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


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS limited to one thread (also as a decorator): the report's products are small
    (resamples x sources x a few columns), and starting and synchronising BLAS threads cost
    more than they gain, a fifth of the report at 100,000 judgments on two cores."""
    from threadpoolctl import threadpool_limits  # a few ms; only the analysis needs it

    with threadpool_limits(limits=1, user_api="blas"):
        yield
