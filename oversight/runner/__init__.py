"""The runner: an experiment's work items, run with bounded concurrency, saved as they finish.

Example::

    from oversight.runner import run_experiment
    result = run_experiment("examples/quickstart.toml", out="runs/quickstart")
    print(result.status, result.spent_usd)

A run is resumable after any stop (cost cap, too many failures, Ctrl-C, ``kill -9``):
run the same experiment into the same folder again. See :mod:`oversight.runner._run` for
how a session proceeds, :mod:`oversight.runner._judging` for how its judgments are asked
for and which are settled, and :mod:`oversight.runner._dry` for the dry run.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from oversight.runner._api import (
        DryRun,
        RunOptions,
        dry_run,
        run_experiment,
        run_experiment_async,
    )
    from oversight.runner._dry import EndpointEstimate
    from oversight.runner._select import select_transcripts
    from oversight.runner._status import STATUSES, RunResult, Status, read_status
    from oversight.runner._stress import stress_experiment, stressed_personas

# Loaded on first use (PEP 562): a command that needs only the light parts (``oversight
# show`` reads the status and selects transcripts) does not pay for the whole runner.
_LAZY: dict[str, str] = {
    "DryRun": "oversight.runner._api",
    "RunOptions": "oversight.runner._api",
    "dry_run": "oversight.runner._api",
    "run_experiment": "oversight.runner._api",
    "run_experiment_async": "oversight.runner._api",
    "EndpointEstimate": "oversight.runner._dry",
    "select_transcripts": "oversight.runner._select",
    "STATUSES": "oversight.runner._status",
    "RunResult": "oversight.runner._status",
    "Status": "oversight.runner._status",
    "read_status": "oversight.runner._status",
    "stress_experiment": "oversight.runner._stress",
    "stressed_personas": "oversight.runner._stress",
}

__all__ = [
    "STATUSES",
    "DryRun",
    "EndpointEstimate",
    "RunOptions",
    "RunResult",
    "Status",
    "dry_run",
    "read_status",
    "run_experiment",
    "run_experiment_async",
    "select_transcripts",
    "stress_experiment",
    "stressed_personas",
]


def __dir__() -> list[str]:
    return __all__


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'oversight.runner' has no attribute {name!r}")
    return getattr(_importlib.import_module(module), name)
