"""How the report runs in its process: BLAS on one thread (the garbage collector is paused
by :func:`oversight._gc.gc_paused`).

This changes no number: a single BLAS thread computes each entry of a matrix product
exactly as several do (they split the output, not the sums).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["one_blas_thread"]


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS limited to one thread (also as a decorator): the report's products are small
    (resamples x sources x a few columns), and starting and synchronising BLAS threads cost
    more than they gain, a fifth of the report at 100,000 judgments on two cores."""
    from threadpoolctl import threadpool_limits  # a few ms; only the analysis needs it

    with threadpool_limits(limits=1, user_api="blas"):
        yield
