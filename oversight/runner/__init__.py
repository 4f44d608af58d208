"""The runner: an experiment's work items, run with bounded concurrency, saved as they finish.

Example::

    from oversight.runner import run_experiment
    result = run_experiment("examples/quickstart.toml", out="runs/quickstart")
    print(result.status, result.spent_usd)

A run is resumable after any stop (cost cap, too many failures, Ctrl-C, ``kill -9``):
run the same experiment into the same folder again. See :mod:`oversight.runner._run` for
how a session proceeds and :mod:`oversight.runner._dry` for the dry run.
"""

from oversight.runner._api import DryRun, default_out, dry_run, run_experiment, run_experiment_async
from oversight.runner._build import Factory, make_endpoint
from oversight.runner._dry import EndpointEstimate, count_tokens
from oversight.runner._items import WorkItem, item_id, judgment_id, plan
from oversight.runner._meter import Meter, MeteredEndpoint, SpendEntry
from oversight.runner._run import settled
from oversight.runner._select import Filter, match_id, parse_filters, select_transcripts
from oversight.runner._status import STATUSES, RunResult, Status, read_status
from oversight.runner._stress import stress_experiment, stressed_personas
from oversight.runner._summary import accuracy_table, print_summary

__all__ = [
    "STATUSES",
    "DryRun",
    "EndpointEstimate",
    "Factory",
    "Filter",
    "Meter",
    "MeteredEndpoint",
    "RunResult",
    "SpendEntry",
    "Status",
    "WorkItem",
    "accuracy_table",
    "count_tokens",
    "default_out",
    "dry_run",
    "item_id",
    "judgment_id",
    "make_endpoint",
    "match_id",
    "parse_filters",
    "plan",
    "print_summary",
    "read_status",
    "run_experiment",
    "run_experiment_async",
    "select_transcripts",
    "settled",
    "stress_experiment",
    "stressed_personas",
]
