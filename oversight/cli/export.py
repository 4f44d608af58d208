"""``oversight export RUN``: a run's judgments (or transcripts) as CSV or Parquet, or the
whole run as Inspect ``.eval`` logs (``--format inspect``, see :mod:`oversight.interop`).

One row per judgment, joined with its transcript's condition, protocol, question id, source
and gold answer, with a probability column per answer and ``p_correct``; see
:mod:`transcripts.export` for every column. From Python, ``transcripts.export.to_dataframe``
gives the same table as a pandas DataFrame.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transcripts import RunStore
    from transcripts.export import TableKind

__all__ = ["FORMATS", "add_parser", "run"]

FORMATS = ("csv", "parquet", "inspect")
"""File formats ``oversight export`` writes."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``export`` on the dispatcher's subparsers."""
    parser = subparsers.add_parser(
        "export",
        help="write a run's judgments or transcripts as CSV or Parquet, or as Inspect logs",
        description=(
            "Write a run's judgments (one row each, joined with its transcript's condition, "
            "protocol, question, source and gold answer, with p_0, p_1, ... and p_correct) "
            "or its transcripts (one row each, without turns) as CSV or Parquet, for "
            "analysis elsewhere. Parquet needs the export extra: pip install "
            "'oversight[export]'."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN", help="the run folder")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="csv, parquet, or inspect (.eval logs for `inspect view`, one per "
        "condition; needs the inspect extra) (default: parquet for a .parquet or .pq "
        "--out, else csv; another suffix must say which)",
    )
    parser.add_argument(
        "--kind",
        metavar="KIND",
        default=None,
        # No `choices`: they live with the tables (transcripts.export.KINDS), and importing
        # them here would load the run store for every `--help`; `run` checks the value.
        help="judgments: one row per judgment (default); transcripts: one per transcript; "
        "attention: one per answer to an attention check of a human study (joined by "
        "annotator; never among the judgments) (csv and parquet)",
    )
    parser.add_argument(
        "--condition",
        action="append",
        metavar="C",
        default=None,
        help="only this condition's transcripts and their judgments (repeatable); for "
        "inspect, a condition's log (a transcript without a condition goes to its "
        "protocol's)",
    )
    parser.add_argument(
        "--counted-only",
        action="store_true",
        help="only the judgments the report scores (see the counted and not_counted columns)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        default=None,
        help="file to write (default: RUN/exports/KIND.FORMAT); for inspect, "
        "the folder for the logs (default: RUN/inspect)",
    )
    parser.set_defaults(handler=run)


def _format(args: argparse.Namespace) -> str:
    from transcripts.errors import ConfigError

    if args.format is not None:
        return str(args.format)
    suffix = Path(args.out).suffix.lower() if args.out else ""
    if suffix in (".pq", ".parquet"):
        return "parquet"
    if suffix in ("", ".csv"):
        return "csv"
    raise ConfigError(
        f"--out {args.out}: which format is {suffix!r}? Name a .csv or .parquet file, or say "
        f"which with --format csv, parquet or inspect"
    )


def run(args: argparse.Namespace) -> int:
    """Write the table and say where."""
    from rich.console import Console
    from rich.markup import escape

    from transcripts import RunStore
    from transcripts.errors import ConfigError
    from transcripts.export import KINDS, to_csv, to_parquet

    kind: TableKind = args.kind or "judgments"
    if kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    store = RunStore.open(args.run_dir)
    fmt = _format(args)
    if fmt == "inspect":
        table_only = [
            f
            for f, given in [("--kind", args.kind), ("--counted-only", args.counted_only)]
            if given
        ]
        if table_only:
            raise ConfigError(
                f"{' and '.join(table_only)} choose the rows of a csv or parquet table; an "
                f"Inspect log holds each transcript with all its judgments and scores only "
                f"those the report counts: drop {' and '.join(table_only)}, or use --format csv"
            )
        from oversight.interop import export_inspect

        if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
            raise ConfigError(
                f"--out {args.out} is a file; --format inspect writes a folder of logs, one "
                f"per condition: name a folder"
            )

        files = export_inspect(store.path, args.out, conditions=args.condition)
        console = Console(highlight=False, soft_wrap=True)  # paths stay whole for copying
        for file in files:
            console.print(f"wrote {escape(str(file))}")
        console.print(
            f"view them: inspect view --log-dir {escape(str(files[0].parent))}"
            if files
            else "the run has no transcripts: nothing written"
        )
        return 0
    out = Path(args.out) if args.out else store.path / "exports" / f"{kind}.{fmt}"
    if out.is_dir():
        raise ConfigError(
            f"--out {out} is a folder; name the file to write, e.g. --out {out / f'{kind}.{fmt}'}"
        )
    own = out.exists() or out.name.endswith(_RECORDS)  # a log the run may write later too
    if own and _within(out, store.path) and not _within(out, store.path / "exports"):
        raise ConfigError(
            f"--out {out} would write over the run's own {out.name}; name a file outside "
            f"the run folder, or in {store.path / 'exports'}"
        )
    if args.counted_only and kind == "transcripts":
        raise ConfigError("--counted-only applies to --kind judgments and attention only")
    if args.condition and kind == "attention":
        raise ConfigError(
            "--condition chooses transcripts; attention checks have no condition: drop "
            "--condition with --kind attention"
        )
    write = to_parquet if fmt == "parquet" else to_csv
    written = write(store, out, kind, counted_only=args.counted_only, conditions=args.condition)
    console = Console(highlight=False)
    console.print(f"wrote {written} {kind} rows to {escape(str(out))}")
    checks = _attention_answers(store) if kind == "judgments" else 0
    if checks:
        console.print(
            f"The run's {checks} attention-check answers are not in this table: "
            f"--kind attention writes them (one row each, with annotator and passed)."
        )
    return 0


def _attention_answers(store: RunStore) -> int:
    """Answers in the run's ``attention.jsonl`` (0 without one)."""
    from transcripts.study import ATTENTION_FILE, attention_log

    if not (store.path / ATTENTION_FILE).exists():
        return 0
    log = attention_log(store)
    try:
        return sum(1 for _ in log.latest_entries())
    finally:
        log.close()


_RECORDS = (".jsonl", ".json", ".idx", ".sqlite", "-shm", "-wal")
"""Endings of the files a run folder keeps its records in."""


def _within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is in ``folder`` (links and ``..`` resolved)."""
    return path.resolve().is_relative_to(folder.resolve())
