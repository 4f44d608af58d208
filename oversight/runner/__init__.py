"""The runner: an experiment's work items, run with bounded concurrency, saved as they finish.

Example::

    from oversight.runner import run_experiment
    result = run_experiment("examples/quickstart.toml", out="runs/quickstart")
    print(result.status, result.spent_usd)

A run is resumable after any stop (cost cap, too many failures, Ctrl-C, ``kill -9``):
run the same experiment into the same folder again. See :mod:`oversight.runner._run` for
how a session proceeds and :mod:`oversight.runner._dry` for the dry run.
"""

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
