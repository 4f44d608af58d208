"""What the runner tests share: the size of the default experiment's plan and one quiet run."""

from __future__ import annotations

from pathlib import Path

from oversight.experiment import Experiment
from oversight.runner import RunResult, run_experiment

from .helpers import Factory, experiment

ITEMS = 32
"""4 questions x (unassisted 2 orders + consultancy 2 sides x 2 + debate 2 x 2)."""


def _run(
    out: Path,
    factory: Factory,
    *,
    exp: Experiment | None = None,
    max_cost_usd: float | None = None,
    max_tokens: int | None = None,
) -> RunResult:
    return run_experiment(
        exp or experiment(),
        out=out,
        endpoint_factory=factory,
        progress=False,
        summary=False,
        max_cost_usd=max_cost_usd,
        max_tokens=max_tokens,
    )
