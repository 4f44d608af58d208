"""How long ``oversight report`` takes over 100,000 judgments.

Run from the repository root::

    .venv/bin/python benchmarks/bench_report.py [--repeat 3] [--bootstrap 2000] [--write]

Builds, once, a synthetic run store in a temporary folder: 6,250 questions (5 per source)
x 4 conditions (unassisted, consultancy, debate, expert) = 25,000 transcripts with six
argument turns each, judged by 4 judges (two LLM judges, an overconfident one and a fallback
judge whose escalated items carry LLM and human components) = 100,000 judgments. Then times,
``--repeat`` times each:

* the report: reading the store and every statistic (``analyze``, 2,000 cluster-bootstrap
  resamples per interval), the JSON, the Markdown and the terminal tables;
* the plots (four PNGs), separately;
* the command a user types, ``oversight report RUN --markdown``, in a fresh process
  (interpreter start and imports included).

Prints the best and the median of the repeats; ``--write`` puts the section
"Report over 100,000 judgments" into BENCHMARKS.md (replacing an earlier one).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from oversight.analysis import analyze
from oversight.analysis._data import load
from oversight.analysis.synthetic import SyntheticSpec, make_store
from oversight.report import print_report, render_json, render_markdown, write_plots

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Report over 100,000 judgments"
SPEC = SyntheticSpec(
    n_questions=6250,
    judges=("weak", "strong", "overconfident", "fallback"),
    overconfident=("overconfident",),
    rounds_effect=0.03,
    seed=1,
)


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def _report(run: Path, bootstrap: int) -> dict[str, float]:
    times: dict[str, float] = {}
    times["read the store (load)"], data = _timed(lambda: load(run))
    times["statistics (analyze)"], result = _timed(lambda: analyze(data, n_bootstrap=bootstrap))
    times["JSON"], _ = _timed(lambda: render_json(result))
    times["Markdown"], _ = _timed(lambda: render_markdown(result))
    sink = Console(file=io.StringIO(), width=200)
    times["terminal tables"], _ = _timed(lambda: print_report(result, sink))
    times["report total"] = sum(times.values())
    with tempfile.TemporaryDirectory() as tmp:
        times["plots (4 PNGs)"], _ = _timed(lambda: write_plots(result, Path(tmp)))
    return times


def _cli(run: Path, bootstrap: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            str(ROOT / ".venv/bin/oversight"),
            "report",
            str(run),
            "--markdown",
            "--out",
            tmp,
            "--bootstrap",
            str(bootstrap),
        ]
        began = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - began


def _section(
    rows: dict[str, list[float]], sizes: dict[str, int], build_s: float, args: argparse.Namespace
) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        HEADING,
        "",
        "Command (from the repository root):",
        "",
        "```",
        f".venv/bin/python benchmarks/bench_report.py --repeat {args.repeat} "
        f"--bootstrap {args.bootstrap}"
        + (f" --keep {args.keep}" if args.keep else "")
        + (" --write" if args.write else ""),
        "```",
        "",
        f"Machine: {platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}. Store: 25,000 transcripts "
        f"({sizes['transcripts.jsonl'] / 1e6:.0f} MB) and 100,000 judgments "
        f"({sizes['judgments.jsonl'] / 1e6:.0f} MB): 6,250 questions x 4 conditions x 4 judges, "
        f"{args.bootstrap} bootstrap resamples per interval ("
        + (f"built in {build_s:.0f} s, not timed" if build_s else "store reused from --keep")
        + f"). Seconds, best and median of {args.repeat}:",
        "",
        "| step | best (s) | median (s) |",
        "|---|---:|---:|",
    ]
    for name, values in rows.items():
        lines.append(f"| {name} | {min(values):.2f} | {statistics.median(values):.2f} |")
    lines += [
        "",
        "The report (reading + statistics + JSON + Markdown + terminal tables) must stay "
        "under 10 s. Reading the two files is most of it: each line is parsed once, straight "
        "from JSON into small row models; every statistic, the cluster bootstrap included, "
        "is vectorised with numpy. The fresh-process line adds the interpreter start and the "
        "imports of every `oversight` subcommand the CLI dispatcher loads.",
        "",
    ]
    return "\n".join(lines)


def _write(section: str) -> Path:
    target = ROOT / "BENCHMARKS.md"
    text = target.read_text() if target.exists() else "# Benchmarks\n\n"
    if HEADING in text:
        before, _, rest = text.partition(HEADING)
        after = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    target.write_text(text)
    return target


def main() -> int:
    """Build the store, time the report, print (and with --write, record) the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--keep", metavar="DIR", help="build the store here and keep it")
    parser.add_argument("--write", action="store_true", help="record the section in BENCHMARKS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.keep) if args.keep else Path(tmp) / "run"
        build_s = 0.0
        if not (run / "judgments.jsonl").exists():
            build_s, _ = _timed(lambda: make_store(run, SPEC))
            print(f"built {run} in {build_s:.1f} s", file=sys.stderr)
        sizes = {n: (run / n).stat().st_size for n in ("transcripts.jsonl", "judgments.jsonl")}
        rows: dict[str, list[float]] = {}
        for i in range(args.repeat):
            for name, seconds in _report(run, args.bootstrap).items():
                rows.setdefault(name, []).append(seconds)
            rows.setdefault("`oversight report RUN --markdown` (fresh process)", []).append(
                _cli(run, args.bootstrap)
            )
            print(f"round {i + 1}: report {rows['report total'][-1]:.2f} s", file=sys.stderr)
        section = _section(rows, sizes, build_s, args)
    print(section)
    if args.write:
        print(f"wrote {_write(section)}", file=sys.stderr)
    return 0 if max(rows["report total"]) < 10.0 else 1


if __name__ == "__main__":
    sys.exit(main())
