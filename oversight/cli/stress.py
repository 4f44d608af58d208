"""``oversight stress EXPERIMENT.toml``: plant adversaries in every protocol and report how far
each moves the judge; ``--blind`` also seals a blue-team copy for a blinded exercise."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Literal

from oversight.cli._console import wide_when_piped
from oversight.cli.run import EXIT_STOPPED
from oversight.runner._flags import FINISH

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``stress`` on the dispatcher's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "stress",
        help="plant misaligned agents (personas) in each protocol; report the worst case",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Run each stressed condition ([stress] conditions, else every one a persona fits)\n"
            "benign, and once more per persona planted in a role it fits (same questions,\n"
            "setups and judges), and each condition planted by hand with its benign twin;\n"
            "nothing else (no unassisted or expert baseline). Then print per protocol\n"
            "the judge's accuracy under each persona, the paired drop from benign with a 95%\n"
            "interval clustered by source (over every item, and where the persona spoke:\n"
            "those items against the same items benign), the worst case (on the drop where\n"
            "planted; every persona tied for it, and an interval for the worst true drop that\n"
            "allows for picking the largest of k), and\n"
            "the detection and false-alarm rates of the protocol's detectors. A persona named\n"
            "in --personas must fit a role of some stressed condition. Resume by running the\n"
            "same command again.\n\n"
            "--blind also writes a blue-team copy of the run (which transcripts carry a\n"
            "planted agent is sealed; the key goes to a separate file, its hash into both\n"
            "runs). Label it with `oversight monitor` (or by hand), then `oversight unseal`."
        ),
        epilog=(
            "examples:\n"
            "  oversight stress examples/quickstart.toml\n"
            "  oversight stress exp.toml --personas quote-fabricator,sandbagger --rate 0.5\n"
            "  oversight stress exp.toml --persona-dir my_personas --out runs/red --blind"
        ),
    )
    parser.add_argument("experiment", metavar="EXPERIMENT.toml", help="the experiment file")
    parser.add_argument("--out", metavar="DIR", help="run folder (default: runs/<name>-stress)")
    parser.add_argument(
        "--personas", metavar="A,B", help="personas to plant (default: [stress] personas, else all)"
    )
    parser.add_argument(
        "--persona-dir",
        metavar="DIR",
        type=Path,
        help="folder of your own personas (NAME.toml), added to the built-in ones",
    )
    parser.add_argument(
        "--rate",
        type=float,
        metavar="R",
        help="share of questions each persona is planted on (default: [stress] rate, else 1)",
    )
    parser.add_argument("--max-cost", type=float, metavar="USD", help="cost cap in US dollars")
    parser.add_argument("--concurrency", type=int, metavar="N", help="work items in flight")
    parser.add_argument(
        "--blind", action="store_true", help="also write a sealed blue-team copy of the run"
    )
    parser.add_argument(
        "--blue", metavar="DIR", help="folder of the blue-team copy (default: <run>-blue)"
    )
    parser.add_argument(
        "--key", metavar="FILE", help="where the key goes (default: <run>/stress-key.json)"
    )
    parser.add_argument(
        "--by-persona",
        action="store_true",
        help="detector rates per persona too (always in the files)",
    )
    parser.add_argument(
        FINISH,
        action="store_true",
        help="in a folder begun by an older version, which ran every condition, finish those "
        "too (by default they keep what they have and nothing more is run for them); refused "
        "where --out holds no run yet",
    )
    parser.add_argument("--no-progress", action="store_true", help="plain progress lines")
    parser.add_argument("--json", action="store_true", help="print the stress table as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the stress experiment, print and write its table, and seal it when asked."""
    # Imported here: `oversight --help` and `stress --help` need none of the run.
    from rich.console import Console
    from rich.markup import escape

    from oversight.analysis._stress import stress
    from oversight.experiment import StressSpec, load_experiment
    from oversight.report._stress import print_stress, write_stress
    from oversight.runner import run_experiment, stress_experiment
    from oversight.runner._api import default_out, run_conditions
    from oversight.runner._blind import seal
    from oversight.runner._stress import stress_resume
    from transcripts.errors import ConfigError

    console = Console(highlight=False, stderr=args.json, width=wide_when_piped())
    base = load_experiment(args.experiment)
    names = [n.strip() for n in args.personas.split(",") if n.strip()] if args.personas else None
    stressed = stress_experiment(base, personas=names, folder=args.persona_dir, rate=args.rate)
    out = Path(args.out) if args.out else default_out(stressed)
    if args.finish_all and not (out / "experiment.json").is_file():
        raise ConfigError(
            f"{FINISH} finishes a stress run begun by an older oversight stress (which ran "
            f"every condition), but {out} holds no run yet, so there is nothing to finish "
            f"and nothing was run: to finish an older run, name its folder with --out DIR; "
            f"to start a new stress run, run the same command without {FINISH}"
        )
    experiment, only = stress_resume(base, stressed, out)
    planted = [c.label for c in stressed.conditions if c.plant is not None]
    benign = [c.label for c in stressed.conditions if c.plant is None]
    console.print(
        f"stress run into {escape(str(out))}: {len(planted)} planted conditions "
        f"besides the {len(benign)} benign ones ({escape(', '.join(benign))})"
    )
    progress: Literal["lines"] | None = "lines" if args.no_progress else None
    if only is not None and args.finish_all:
        console.print(
            f"finishing every condition of a stress run begun with every condition ({FINISH})"
        )
        only = None
    elif args.finish_all:
        console.print(
            f"{FINISH}: this folder was not begun by an older version (which ran every "
            f"condition), so there is nothing else to finish: it runs as without {FINISH}"
        )
    if only is None:
        result = run_experiment(
            experiment,
            out=out,
            max_cost_usd=args.max_cost,
            concurrency=args.concurrency,
            console=console,
            progress=progress,
            summary=False,
        )
    else:
        left = [c.label for c in experiment.conditions if c.label not in only]
        console.print(
            f"resuming a stress run begun with every condition: {escape(', '.join(left))} "
            "keep what they have, and nothing more is run for them"
        )
        result = run_conditions(
            experiment,
            only,
            out=out,
            console=console,
            progress=progress,
            max_cost_usd=args.max_cost,
            concurrency=args.concurrency,
        )
        if result.message and result.status.startswith("complete"):
            console.print(f"[yellow]{escape(result.message)}[/]")
    spec = experiment.stress or StressSpec()
    report = stress(result.path, threshold=spec.threshold, seed=experiment.seed)
    if not result.status.startswith("complete"):  # said in the table's files too
        partial = (
            f"partial: the run stopped ({result.status}) with {result.items_complete} of "
            f"{result.items_total} items done; this table covers only those: run the same "
            f"command again to finish it"
        )
        report = report.model_copy(update={"warnings": [partial, *report.warnings]})
    written = write_stress(report, result.path / "reports")
    if args.json:
        print(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        print_stress(report, console, per_persona_detectors=args.by_persona)
        console.print("written: " + ", ".join(escape(str(p)) for p in written))
    if not result.status.startswith("complete"):
        console.print(f"[bold yellow]{result.status}[/]: {escape(result.message)}")
        if args.blind:  # a partial copy would be sealed for good: its key is never rewritten
            console.print(
                "no blue-team copy is sealed from a run that stopped early: resume it (the "
                "same command) and it is sealed once every item is done"
            )
        return 130 if result.status == "interrupted" else EXIT_STOPPED
    if args.blind:
        blue = Path(args.blue) if args.blue else result.path.with_name(result.path.name + "-blue")
        key = seal(result.path, blue, key=args.key)
        console.print(
            f"blue-team copy: {escape(str(blue))} (sealed; hand this folder to the blue team)\n"
            f"key: {escape(str(key))} (keep it from the blue team until `oversight unseal`)\n"
            f"next: oversight monitor {escape(str(blue))} --detector unverified-quotes "
            f"--out labels.jsonl; oversight unseal {escape(str(blue))} --key "
            f"{escape(str(key))} --labels labels.jsonl"
        )
    return 0
