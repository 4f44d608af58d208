"""``oversight run EXPERIMENT.toml``: run an experiment, resume it, rehearse it, or replay it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oversight.cli._console import wide_when_piped

if TYPE_CHECKING:
    from rich.console import Console

    from oversight.runner import DryRun, RunResult

__all__ = ["add_parser", "print_report", "run", "wide_when_piped"]

EXIT_STOPPED = 3
"""Exit status of a run that stopped before its end (cost cap, too many failures)."""


def add_parser(subparsers: Any) -> None:
    """Register ``run`` on the dispatcher's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run an experiment (or resume it), then print the report",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Run every question x condition x counterbalanced setup x repeat of an experiment\n"
            "file, judge each transcript, save everything as it finishes into the run folder,\n"
            "and print a summary and the report.\n\n"
            "Resume: run the same command again. Finished items are skipped; an item cut off\n"
            "mid-way is re-run with its earlier calls answered by the run's response cache, so\n"
            "no paid call is repeated. This holds after a cost cap, Ctrl-C or kill -9.\n"
            "Only [limits] may change between sessions (e.g. a higher --max-cost).\n\n"
            "Exit status: 0 when every item finished (even with recorded errors), 3 when the\n"
            "run stopped early (cost cap, token cap, too many failures), 1 when the experiment\n"
            "file or an option's value is refused, 2 when the command line does not parse,\n"
            "130 when interrupted."
        ),
        epilog=(
            "examples:\n"
            "  oversight run examples/quickstart.toml --out runs/quickstart\n"
            "  oversight run exp.toml --dry-run              # estimate calls, tokens, cost\n"
            "  oversight run exp.toml --out runs/a --max-cost 20   # resume with a higher cap\n"
            "  oversight run exp.toml --out runs/b --replay runs/a # exact replay, no network\n"
            "  oversight run exp.toml --out runs/a --retry-failed  # ask failed judges again\n"
            "  oversight run exp.toml --out runs/a --workers 2     # two processes, two cores\n"
            "  oversight run exp.toml --out runs/a --ray auto      # over a Ray cluster"
        ),
    )
    parser.add_argument("experiment", metavar="EXPERIMENT.toml", help="the experiment file")
    parser.add_argument(
        "--out", metavar="DIR", help="run folder (default: the file's `out`, else runs/<name>)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="run the whole pipeline on mock endpoints (into a temporary "
        "folder) and estimate calls, tokens and cost per endpoint",
    )
    parser.add_argument(
        "--max-cost",
        type=float,
        metavar="USD",
        help="cost cap in US dollars (overrides [limits] max_cost_usd); a reply without "
        "token counts counts at the most it can cost, an endpoint with no price is refused",
    )
    parser.add_argument(
        "--max-tokens", type=int, metavar="N", help="token cap (overrides [limits] max_tokens)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="work items in flight at once (overrides [limits] concurrency)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run the items in N processes on this machine, each with a share of every "
        "limit, all writing this run folder (default 1); with --ray, N Ray tasks",
    )
    parser.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the items as tasks on a Ray cluster (auto, local, or HOST:PORT), each "
        "into its own shard of the run folder, merged at the end (needs the ray extra; "
        "the folder must be on a file system every node sees)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="answer every call from the response cache; a miss is an error",
    )
    parser.add_argument(
        "--replay",
        metavar="RUN",
        help="copy RUN's response cache into --out and run offline: an exact "
        "replay with no network call (refused, before anything is written, when the "
        "experiment or a role's prompts differ from RUN's)",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="on a resume, ask again the judges whose judgments failed, with "
        "fresh calls (by default a failed judgment is left as recorded)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="plain progress lines instead of the live display",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="do not print the report at the end"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the result (or the dry-run estimate) as JSON"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run, dry-run or replay the experiment."""
    if (args.workers or 1) > 1 and args.ray is None and not args.dry_run:
        # The workers' fork server imports what they need on the other core while this
        # process imports the runner and reads the experiment and the store.
        from oversight._forkserver import start_early

        start_early()
    from rich.console import Console

    from oversight.runner import dry_run, run_experiment

    console = Console(highlight=False, stderr=args.json, width=wide_when_piped())
    if args.dry_run:
        from oversight.experiment import load_experiment

        # The overrides are checked as the real run would check them (a bad value is an
        # error now, not after the estimate), though the rehearsal applies no cap.
        experiment = load_experiment(
            args.experiment,
            overrides={
                "max_cost_usd": args.max_cost,
                "max_tokens": args.max_tokens,
                "concurrency": args.concurrency,
            },
        )
        ignored = _real_run_only(args)
        if ignored:
            console.print(
                f"note: a dry run rehearses on mock endpoints in a temporary folder, with no "
                f"cap; {', '.join(ignored)} "
                f"{'applies' if len(ignored) == 1 else 'apply'} to the real run only"
            )
        rehearsal = dry_run(
            experiment, console=console, progress="lines" if args.no_progress else None
        )
        if args.json:
            print(json.dumps(rehearsal.to_json(), indent=2))
        else:
            print_estimate(rehearsal, console)
        return 0 if rehearsal.result.status.startswith("complete") else EXIT_STOPPED
    result = run_experiment(
        args.experiment,
        out=args.out,
        max_cost_usd=args.max_cost,
        max_tokens=args.max_tokens,
        concurrency=args.concurrency,
        offline=args.offline,
        replay=args.replay,
        console=console,
        progress="lines" if args.no_progress else None,
        summary=not args.json,
        retry_failed=args.retry_failed,
        workers=args.workers,
        ray=args.ray,
    )
    if args.json:
        print(json.dumps(_result_json(result), indent=2))
    elif not args.no_report and result.transcripts > 0:
        print_report(result.path, console)
    if result.status == "interrupted":
        return 130
    return 0 if result.status.startswith("complete") else EXIT_STOPPED


def _real_run_only(args: argparse.Namespace) -> list[str]:
    """The flags given that a dry run does not use."""
    given = {
        "--out": args.out is not None,
        "--max-cost": args.max_cost is not None,
        "--max-tokens": args.max_tokens is not None,
        "--concurrency": args.concurrency is not None,
        "--workers": args.workers is not None,
        "--ray": args.ray is not None,
        "--offline": args.offline,
        "--replay": args.replay is not None,
        "--retry-failed": args.retry_failed,
    }
    return [flag for flag, present in given.items() if present]


def print_estimate(rehearsal: DryRun, console: Console) -> None:
    """The dry run's table: calls, tokens and cost per endpoint of the real run."""
    from rich.markup import escape
    from rich.table import Table

    result = rehearsal.result
    where = (
        f"folder {escape(str(result.path))}"
        if result.path.exists()
        else "rehearsed in a temporary folder, now removed"
    )
    console.print(
        f"dry run on mock endpoints: {result.status}, {result.items_complete} of "
        f"{result.items_total} items, {result.transcripts} transcripts ({where})"
    )
    for error in result.errors:
        console.print(f"  [red]error[/] {escape(error)}")
    table = Table(title="estimate for the real run")
    for column in (
        "endpoint",
        "spec",
        "calls",
        "input tok",
        "output tok (est / max)",
        "cost USD (est / max)",
    ):
        table.add_column(column, justify="left" if column in ("endpoint", "spec") else "right")
    tokenizer = "chars/4"
    for e in rehearsal.endpoints:
        tokenizer = e.tokenizer
        cost = (
            "unknown price"
            if e.cost_usd is None or e.cost_usd_max is None
            else f"{e.cost_usd:.4f} / {e.cost_usd_max:.4f}"
        )
        table.add_row(
            escape(e.name),
            escape(e.spec),
            f"{e.calls:,}",
            f"{e.input_tokens:,}",
            f"{e.output_tokens:,} / {e.output_tokens_max:,}",
            cost,
        )
    console.print(table)
    total = rehearsal.cost_usd
    cost = "unknown (a price is missing)" if total is None else f"${total:.4f}"
    console.print(
        f"total estimated cost: {cost} · input tokens counted with {tokenizer}; "
        f"output estimated as half of max_tokens"
    )
    for e in rehearsal.endpoints:
        if e.batched and e.batch_saving_usd is not None:
            every = e.batched_calls == e.calls
            share = f"all {e.calls:,}" if every else f"{e.batched_calls:,} of {e.calls:,}"
            rest = "" if every else " (the others are sent at once, at the standard price)"
            console.print(
                f"{escape(e.name)} has batch = true: {share} call(s) can wait in a batch, "
                f"priced at the batch rate, saving ${e.batch_saving_usd:.4f} against "
                f"standard prices{rest}"
            )


def print_report(path: Path, console: Console) -> None:
    """The run's report, as ``oversight report RUN`` prints it."""
    from oversight.analysis import analyze
    from oversight.report import print_report as print_analysis

    print_analysis(analyze(path), console=console)


def _result_json(result: RunResult) -> dict[str, Any]:
    return {"path": str(result.path), **{k: v for k, v in vars(result).items() if k != "path"}}
