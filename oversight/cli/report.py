"""``oversight report RUN``: does assistance beat unassisted judging?

Prints per-group accuracy with clustered confidence intervals, calibration, the paired
assisted-vs-unassisted comparison, bias, debater ratings, judge agreement and escalations;
``--json`` prints the documented JSON instead; ``--markdown`` and ``--plots`` write
``report.md`` (with ``analysis.json``) and PNG plots into ``RUN/reports/`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oversight.cli._console import add_bootstrap_options

if TYPE_CHECKING:
    from rich.console import Console

    from oversight.analysis._data import Data

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``report`` on the dispatcher's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="statistics of a run: does assistance beat unassisted judging?",
        description=(
            "Accuracy per condition and judge with 95% confidence intervals clustered by "
            "question source (CR2 t with few sources), calibration (Brier, log score, ECE), "
            "comparisons between conditions (assisted vs unassisted and debate vs "
            "consultancy by default; paired or unpaired; clustered tests with Holm's "
            "adjustment; exact McNemar for reference; gap closed toward the expert ceiling "
            "with Fieller's interval), position and side bias, side-adjusted debater ratings, "
            "agreement between judges and escalations to people."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN", help="the run folder")
    parser.add_argument(
        "--by",
        action="append",
        default=None,
        metavar="FIELD,...",
        help="group by these fields (default: condition,judge); built-ins such as protocol, "
        "judge_kind, annotator, source, gold_position, side, or any metadata key; repeated, "
        "the fields add up (--by setting --by num_continues is --by setting,num_continues)",
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="keep only judgments whose FIELD equals VALUE (FIELD!=VALUE: differs); "
        "repeat to combine; true/false/null and numbers are understood",
    )
    parser.add_argument("--json", action="store_true", help="print the analysis as JSON")
    parser.add_argument("--markdown", action="store_true", help="write report.md and analysis.json")
    parser.add_argument("--plots", action="store_true", help="write PNG plots")
    parser.add_argument(
        "--out", metavar="DIR", default=None, help="folder for files (default: RUN/reports)"
    )
    add_bootstrap_options(parser)
    parser.add_argument(
        "--pool-judges",
        action="store_true",
        help=(
            "pool the judgments of different judges in one group; by default, when --by "
            "names no judge field and several judges judged, 'judge' is added to the grouping"
        ),
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="A,B",
        help="compare condition A with condition B (A - B); repeat for more pairs; default: "
        "each assisted condition vs unassisted, and debate vs consultancy",
    )
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="CONDITION",
        help="compare every other condition with this one (a tournament's cross-play "
        "conditions only through --compare, as by default)",
    )
    parser.add_argument(
        "--multiplicity",
        choices=("holm", "none"),
        default="holm",
        help="adjust the comparisons' p-values for their number (default: holm)",
    )
    parser.add_argument(
        "--cluster",
        choices=("sources,annotators", "sources"),
        default="sources,annotators",
        metavar="{'sources,annotators' | sources}",
        help="what intervals of judgments by two or more people are clustered by: "
        "sources,annotators (default: about the population of annotators) or sources "
        "(about the people who judged, as for LLM judges); recorded in the JSON settings",
    )
    parser.add_argument(
        "--model",
        choices=("gee", "glmm"),
        default=None,
        help="also fit a logistic model (GEE clustered by source, and by person for "
        "judgments of two or more people unless --cluster sources; or a Bayesian GLMM with "
        "crossed effects for source, judge/annotator and debater and per-judge slopes; "
        "descriptive, no intervals) with rounds and gold position as covariates; needs "
        "statsmodels (pip install 'oversight[stats]')",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Analyse the run and present it as asked; 0 on success."""
    from oversight._gc import gc_paused
    from oversight.analysis._runtime import one_blas_thread

    # Same numbers, less time: the loaded store is large and holds no cycles, and the
    # report's matrix products are too small for BLAS threads (see _runtime).
    with gc_paused(), one_blas_thread():
        return _report(args)


def _report(args: argparse.Namespace) -> int:
    # Imported here so that `oversight --help` and other commands start fast.
    from rich.console import Console
    from rich.markup import escape

    from oversight.analysis import DEFAULT_BY, analyze, annotators
    from oversight.analysis._data import load
    from oversight.report import print_report, render_json, write_report
    from oversight.report._annotators import print_annotators, write_annotators
    from transcripts.errors import ConfigError

    bootstrap = int(getattr(args, "bootstrap", 2000))
    if bootstrap < 1:
        raise ConfigError(f"--bootstrap must be at least 1, got {bootstrap}")
    # The store is read once; every table below is computed from these rows and arrays.
    data = load(args.run_dir)
    result = analyze(
        data,
        by=",".join(getattr(args, "by", None) or DEFAULT_BY),
        where=list(getattr(args, "where", None) or []),
        n_bootstrap=bootstrap,
        seed=int(getattr(args, "seed", 0)),
        pool_judges=bool(getattr(args, "pool_judges", False)),
        compare_pairs=list(getattr(args, "compare", None) or []),
        baseline=getattr(args, "baseline", None),
        multiplicity=str(getattr(args, "multiplicity", "holm")),
        model=getattr(args, "model", None),
        cluster=str(getattr(args, "cluster", "sources,annotators")),
    )
    as_json = bool(getattr(args, "json", False))
    # Piped into a file or a pager, wide tables are better than squeezed ones.
    width = None if sys.stdout.isatty() else 220
    stdout = Console(highlight=False, soft_wrap=as_json, width=width)
    # With --json, stdout holds the JSON alone; messages go to stderr.
    messages = Console(stderr=True, highlight=False) if as_json else stdout
    people = annotators(
        data,
        n_bootstrap=bootstrap,
        seed=int(getattr(args, "seed", 0)),
        where=list(getattr(args, "where", None) or []),
    )
    if as_json:
        # The analysis's documented JSON, with the annotator table added under "annotators".
        print(
            json.dumps(
                {**json.loads(render_json(result)), "annotators": people.model_dump(mode="json")},
                indent=2,
            )
        )
    else:
        print_report(result, stdout)
        print_annotators(people, stdout)
    markdown, plots = bool(getattr(args, "markdown", False)), bool(getattr(args, "plots", False))
    _gdc_section(args, data, bootstrap, stdout if not as_json else None, messages, write=markdown)
    _stress_section(
        args,
        data,
        bootstrap,
        stdout if not as_json else None,
        messages,
        write=markdown or plots,
        plots=plots,
    )
    if markdown or plots:
        out = getattr(args, "out", None)
        files = write_report(
            result,
            Path(out) if out else None,
            json=markdown,
            markdown=markdown,
            plots=plots,
        )
        folder = Path(out) if out else Path(args.run_dir) / "reports"
        extra = write_annotators(people, folder, files.markdown) if markdown else []
        for path in [*files.all(), *extra]:
            messages.print(f"wrote {escape(str(path))}")
    return 0


def _gdc_section(
    args: argparse.Namespace,
    data: Data,
    bootstrap: int,
    console: Console | None,
    messages: Console,
    *,
    write: bool,
) -> None:
    """The GDC gaps of the run's critiques (``oversight gdc``) and its RRM and
    prover–estimator tree statistics, when it has any: printed under the report, and with
    ``--markdown`` written as ``gdc.md``/``gdc.json`` and ``trees.md``/``trees.json``."""
    from rich.markup import escape

    from oversight.analysis import gdc, tree_stats
    from oversight.report import gdc_markdown, print_gdc, tree_table, trees_markdown
    from oversight.report._terminal import _rich
    from transcripts import write_json_atomic

    seed = int(getattr(args, "seed", 0))
    sections: list[tuple[str, list[Any], Any]] = [
        ("gdc", list(gdc(data, n_bootstrap=bootstrap, seed=seed)), gdc_markdown),
        ("trees", list(tree_stats(data, n_bootstrap=bootstrap, seed=seed)), trees_markdown),
    ]
    for name, stats, markdown in sections:
        if not stats:
            continue
        if console is not None:
            console.print()
            if name == "gdc":
                print_gdc(stats, console)
            else:
                console.print(_rich(tree_table(stats)))
        _whole_run_note(args, name, messages)
        if write:
            out = Path(getattr(args, "out", None) or Path(args.run_dir) / "reports")
            out.mkdir(parents=True, exist_ok=True)
            tmp = out / f".{name}.md.tmp"
            tmp.write_text(markdown(stats), encoding="utf-8")
            tmp.replace(out / f"{name}.md")
            write_json_atomic(out / f"{name}.json", [s.model_dump(mode="json") for s in stats])
            messages.print(
                f"wrote {escape(str(out / f'{name}.md'))}\n"
                f"wrote {escape(str(out / f'{name}.json'))}"
            )


def _stress_section(
    args: argparse.Namespace,
    data: Data,
    bootstrap: int,
    console: Console | None,
    messages: Console,
    *,
    write: bool,
    plots: bool,
) -> None:
    """The stress table (``oversight stress``) of a run with planted personas: printed under
    the report, and with ``--markdown``/``--plots`` written as ``stress.md``/``stress.json``
    (and ``stress.png``)."""
    from rich.markup import escape

    from oversight.analysis._stress import has_plants, stress
    from oversight.report._stress import print_stress, write_stress

    if not has_plants(args.run_dir):
        return
    report = stress(
        data,
        n_bootstrap=bootstrap,
        seed=int(getattr(args, "seed", 0)),
        cluster=str(getattr(args, "cluster", "sources,annotators")),
    )
    if console is not None:
        console.print()
        print_stress(report, console)
    _whole_run_note(args, "stress", messages)
    if write:
        out = Path(getattr(args, "out", None) or Path(args.run_dir) / "reports")
        for path in write_stress(report, out, plot=plots):
            messages.print(f"wrote {escape(str(path))}")


def _whole_run_note(args: argparse.Namespace, section: str, messages: Console) -> None:
    """Say, under a section ``--where`` does not filter, that it is of the whole run: the
    clauses choose judgments, and these sections measure transcripts (critiques, trees,
    planted personas), whatever judged them."""
    from rich.markup import escape

    where = list(getattr(args, "where", None) or [])
    if where:
        messages.print(
            f"note: the {section} section is of the whole run; --where "
            f"{escape(' '.join(where))} chose the judgments of the tables above only"
        )
