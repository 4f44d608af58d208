"""One run divided among worker processes: which items each runs, and its share of the limits.

``oversight run EXP --workers N`` (:mod:`oversight.runner._workers`) starts N processes on
one run folder. Each runs a disjoint share of the planned items, in plan order, with the
same ids a single process gives them, and holds a fixed share of every limit, so the
workers together never exceed what the experiment allows:

* items are dealt by (repeat, question): all items of one question (every condition and
  setup) go to one worker, round robin over the questions, so the requests those items
  may have in common are deduplicated in one process, as in a single-process run. With
  fewer questions than workers, items are dealt one by one instead;
* ``[limits] concurrency`` (items in flight) and each endpoint's ``max_concurrency`` are
  split into whole shares that differ by at most one and sum to the limit (the provider's
  default concurrency, or a llama.cpp server's slots once known, where no endpoint sets
  one, likewise); ``rpm`` and ``tpm`` into equal fractions. A limit smaller than the
  number of workers is refused: every worker needs at least one request in flight.

A fixed share is the simplest split that can never overshoot, with no process talking to
another on the hot path; its cost is that a worker whose items are done leaves its share
unused while the others finish theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oversight.endpoints import Endpoint
from oversight.endpoints._limits import portion
from oversight.experiment import Experiment
from oversight.runner._items import WorkItem
from transcripts.errors import ConfigError

__all__ = ["check_workers", "portion", "share_endpoint", "share_items", "share_options"]

SHARED_OPTIONS = ("max_concurrency", "rpm", "tpm")
"""The endpoint options that are divided among the workers."""


def share_items(items: Sequence[WorkItem], worker: int, workers: int) -> list[WorkItem]:
    """Worker ``worker``'s items (of ``workers``), in plan order: whole questions (per
    repeat) round robin, or single items when there are fewer questions than workers."""
    groups: dict[tuple[int, str], int] = {}
    for item in items:
        groups.setdefault((item.repeat, item.question.id), len(groups))
    if len(groups) >= workers:
        return [i for i in items if groups[i.repeat, i.question.id] % workers == worker]
    return [item for n, item in enumerate(items) if n % workers == worker]


def share_options(options: dict[str, Any], worker: int, workers: int) -> dict[str, Any]:
    """An endpoint's options with its limits cut to the worker's share."""
    shared = dict(options)
    for name in SHARED_OPTIONS:
        value = shared.get(name)
        if value is None:
            continue
        if name == "max_concurrency":
            shared[name] = max(1, portion(int(value), worker, workers))
        else:
            shared[name] = float(value) / workers
    return shared


def share_endpoint(made: Endpoint, worker: int, workers: int) -> None:
    """Have ``made``'s model hold the worker's share of its default concurrency where no
    endpoint of it set ``max_concurrency`` (set ones were shared by :func:`share_options`
    before the endpoint was made), and of a llama.cpp server's slots once they are known
    (not a ``max_concurrency`` of the share: the slots, learned later, would not replace
    it)."""
    limits = getattr(made, "limits", None)
    if limits is not None:
        limits.take_share(worker, workers)


def check_workers(workers: int, experiment: Experiment, endpoints: Sequence[Endpoint]) -> None:
    """Refuse a number of workers that some limit cannot be shared among, saying which."""
    named = [("[limits] concurrency", experiment.limits.concurrency)]
    for made in endpoints:
        limits = getattr(made, "limits", None)
        concurrency = None if limits is None else limits.effective.max_concurrency
        if concurrency is not None:
            named.append((f"max_concurrency of {made.spec}", concurrency))
    low = [f"{name} = {value}" for name, value in named if value < workers]
    if low:
        raise ConfigError(
            f"--workers {workers} cannot share {'; '.join(low)}: each worker needs at least "
            f"one item and one request in flight. Use at most "
            f"{min(value for _, value in named)} workers, or raise the limit"
        )
