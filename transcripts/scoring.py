"""How a judgment is scored, ranked and costed: each rule written once, here, for the runner's
summary, ``rejudge``, the judges, the models and the analysis.

* **Top answers**: the answers whose probability is within :data:`TIE_TOLERANCE` of the
  largest one. Probabilities that differ only by rounding (``0.4999999998`` and
  ``0.5000000002``) are a tie, wherever they are compared.
* **Verdict**: the single top answer; ``None`` on a tie (or no probabilities).
* **Score** against the gold answer ``g``: 1 when ``g`` is the single top answer, 0 when it
  is not a top answer, and ``1/m`` when it ties with ``m - 1`` others at the top. With two
  answers: ``p[g] > 0.5`` counts 1, ``p[g] == 0.5`` (to within the tolerance) counts half,
  ``p[g] < 0.5`` counts 0.
* **Status rank**, when two records compete for one place (the same id written twice, or
  two judgments of the same transcript by the same judge): ``complete``/``ok`` (or no
  status) beat ``failed``/``error``, which beat ``skipped``.
* **Cost of several parts**: their sum, or ``None`` when any part's cost is unknown (an
  unknown price is never counted as free).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = [
    "LOG_FLOOR",
    "TIE_TOLERANCE",
    "score",
    "status_rank",
    "top_answers",
    "total_cost",
    "verdict",
    "vote",
]

TIE_TOLERANCE = 1e-9
"""Probabilities closer than this to the largest one count as tied with it."""

LOG_FLOOR = 1e-6
"""Smallest probability inside a logarithm: the report's log score and the live judge's
reward both floor p(gold) here, so one confident wrong answer cannot make a mean -inf."""

_STATUS_RANK = {None: 2, "complete": 2, "ok": 2, "failed": 1, "error": 1, "skipped": 0}


def top_answers(probabilities: Sequence[float]) -> list[int]:
    """Indices of the answers tied (within :data:`TIE_TOLERANCE`) for the largest probability."""
    if not probabilities:
        return []
    best = max(probabilities)
    return [i for i, p in enumerate(probabilities) if p >= best - TIE_TOLERANCE]


def verdict(probabilities: Sequence[float] | None) -> int | None:
    """The single most probable answer; ``None`` on a tie or without probabilities."""
    winners = top_answers(probabilities or [])
    return winners[0] if len(winners) == 1 else None


def score(probabilities: Sequence[float], correct: int) -> float:
    """1, 0, or ``1/m`` for a tie of ``m`` answers that includes ``correct`` (see the module)."""
    winners = top_answers(probabilities)
    return 1.0 / len(winners) if correct in winners else 0.0


def vote(probabilities: Sequence[float]) -> list[float]:
    """One vote for the most probable answer, split evenly over the answers tied at the top."""
    winners = top_answers(probabilities)
    return [1.0 / len(winners) if i in winners else 0.0 for i in range(len(probabilities))]


def status_rank(status: object) -> int:
    """How a record's ``status`` ranks against another's for the same place (see the module)."""
    return _STATUS_RANK.get(status, 1) if isinstance(status, str | None) else 1


def total_cost(costs: Iterable[float | None]) -> float | None:
    """The sum of the costs in USD; ``None`` when any of them is unknown."""
    values: list[float] = []
    for cost in costs:
        if cost is None:
            return None
        values.append(cost)
    return math.fsum(values)
