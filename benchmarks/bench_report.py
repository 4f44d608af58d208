"""How long ``oversight report`` takes, and how much memory, at 10,000 and 100,000 judgments.

Run from the repository root::

    .venv/bin/python benchmarks/bench_report.py [--sizes 10000 100000] [--repeat 3]
        [--before /tmp/main] [--runs RUN ...] [--bootstrap 2000] [--keep DIR] [--write]

Builds, once per size, a synthetic run store (:mod:`oversight.analysis.synthetic`): N/16
questions (5 per source) x 4 conditions (unassisted, consultancy, debate, expert) x 4 judges
(two LLM judges, an overconfident one and a fallback judge whose escalated items carry LLM
and human components), so N judgments over N/4 transcripts with six argument turns each.
``--runs`` adds run folders made elsewhere (e.g. the 100,000-item run of
``benchmarks/bench_scale.py``: one consultancy transcript and one judgment an item, stories
stored once per run).

Then, ``--repeat`` times, interleaved: the command a user types, ``oversight report RUN
--json`` (every table: the analysis, annotators, GDC, trees, stress, beliefs), each in a
fresh process, with this tree's code and, with ``--before DIR``, with another checkout's
(e.g. ``git worktree add --detach /tmp/main main``), on the same store. Each process measures
itself: wall seconds, CPU seconds (user + system, imports included) and peak resident memory
(``VmHWM``). Both trees are precompiled first (``python -m compileall``): this environment
sets ``PYTHONDONTWRITEBYTECODE=1``, so without it every process would compile every module
it imports (about 0.4 s) and the numbers would measure the compiler.

Also, in this process, where the time of this tree's report goes at the largest size
(reading the store, the analysis, the annotator table, the JSON).

Prints medians and the before/after ratios; ``--write`` puts the section "Report over
100,000 judgments" into BENCHMARKS.md (replacing an earlier one).
"""

from __future__ import annotations

import argparse
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

from _measure import measure_cli

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Report over 100,000 judgments"
PACKAGES = ("oversight", "transcripts", "judges", "protocols")


def _spec(n: int) -> Any:
    from oversight.analysis.synthetic import SyntheticSpec

    return SyntheticSpec(
        n_questions=n // 16,
        judges=("weak", "strong", "overconfident", "fallback"),
        overconfident=("overconfident",),
        rounds_effect=0.03,
        seed=1,
    )


def _precompile(tree: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *PACKAGES],
        cwd=tree,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _measure(tree: Path, run: Path, bootstrap: int) -> dict[str, Any]:
    """``oversight report RUN --json`` in a fresh process running ``tree``'s code."""
    return measure_cli("report", str(run), "--json", "--bootstrap", str(bootstrap), tree=tree)


def _steps(run: Path, bootstrap: int) -> dict[str, float]:
    """CPU seconds of each step of this tree's report, in this process."""
    from oversight.analysis import analyze, annotators
    from oversight.analysis._data import load
    from oversight.report import render_json

    times: dict[str, float] = {}

    def timed(name: str, action: Callable[[], Any]) -> Any:
        began = time.process_time()
        result = action()
        times[name] = time.process_time() - began
        return result

    data = timed("read the store (load)", lambda: load(run))
    result = timed("statistics (analyze)", lambda: analyze(data, n_bootstrap=bootstrap))
    timed("annotator table", lambda: annotators(data, n_bootstrap=bootstrap))
    timed("JSON", lambda: render_json(result))
    return times


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def _section(
    results: dict[tuple[str, str], list[dict[str, Any]]],
    stores: dict[str, str],
    steps: dict[str, list[float]],
    args: argparse.Namespace,
    load: tuple[float, float],
) -> str:
    cpu = platform.processor() or platform.machine()
    command = (
        f".venv/bin/python benchmarks/bench_report.py --sizes {' '.join(map(str, args.sizes))} "
        f"--repeat {args.repeat} --bootstrap {args.bootstrap}"
        + (f" --before {args.before}" if args.before else "")
        + (" --runs " + " ".join("RUN" for _ in args.runs) if args.runs else "")
        + (" --write" if args.write else "")
    )
    lines = [
        HEADING,
        "",
        "Command (from the repository root):",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: {platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, shared with other work: load average "
        f"{load[0]:.1f} at the start, {load[1]:.1f} at the end (wall seconds are inflated by "
        f"the load; CPU seconds much less). Each cell: `oversight report RUN --json` in a "
        f"fresh process (imports included, both trees precompiled with `compileall` because "
        f"`PYTHONDONTWRITEBYTECODE=1` is set here), median of {args.repeat}, before and after "
        f"interleaved on the same store; {args.bootstrap} bootstrap resamples per interval. "
        f"Before: main at {args.before_commit or '(not measured)'}; after: this branch.",
        "",
        "| store | code | wall s | CPU s | peak MB | before / after (CPU, memory) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for label, description in stores.items():
        after = results.get((label, "after"), [])
        before = results.get((label, "before"), [])
        for name, rows in (("before", before), ("after", after)):
            if not rows:
                continue
            ratio = ""
            if name == "after" and before:
                ratio = (
                    f"{_median(before, 'cpu_s') / _median(after, 'cpu_s'):.1f}x, "
                    f"{_median(before, 'peak_mb') / _median(after, 'peak_mb'):.1f}x"
                )
            lines.append(
                f"| {description} | {name} | {_median(rows, 'wall_s'):.2f} | "
                f"{_median(rows, 'cpu_s'):.2f} | {_median(rows, 'peak_mb'):.0f} | {ratio} |"
            )
    if steps:
        lines += [
            "",
            f"Where this tree's report spends its CPU at the largest synthetic size (in one "
            f"process, imports excluded; median of {args.repeat}):",
            "",
            "| step | CPU s |",
            "|---|---:|",
        ]
        lines += [f"| {name} | {statistics.median(v):.2f} |" for name, v in steps.items()]
    lines.append("")
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
    """Build the stores, time the report before and after, print (and record) the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--before", metavar="DIR", help="another checkout to compare with")
    parser.add_argument("--runs", nargs="*", default=[], metavar="RUN", help="more run folders")
    parser.add_argument("--keep", metavar="DIR", help="build the stores here and keep them")
    parser.add_argument("--write", action="store_true", help="record the section in BENCHMARKS.md")
    args = parser.parse_args()
    trees = {"after": ROOT}
    args.before_commit = None
    if args.before:
        trees["before"] = Path(args.before).resolve()
        args.before_commit = subprocess.run(
            ["git", "-C", args.before, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    for tree in trees.values():
        _precompile(tree)
    from oversight.analysis.synthetic import make_store

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        stores: dict[str, str] = {}
        paths: dict[str, Path] = {}
        for n in args.sizes:
            run = base / f"synthetic-{n}"
            if not (run / "judgments.jsonl").exists():
                make_store(run, _spec(n))
            label = f"synthetic {n:,}"
            stores[label] = f"synthetic, {n:,} judgments ({n // 4:,} transcripts)"
            paths[label] = run
        for i, folder in enumerate(args.runs):
            run = Path(folder)
            n = (run / "judgments.jsonl").read_bytes().count(b"\n")
            label = f"run {i}"
            stores[label] = f"`{run.name}` (bench_scale), {n:,} judgments"
            paths[label] = run
        load_start = os.getloadavg()[0]
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        steps: dict[str, list[float]] = {}
        for i in range(args.repeat):
            for label, run in paths.items():
                for name, tree in trees.items():
                    found = _measure(tree, run, args.bootstrap)
                    results.setdefault((label, name), []).append(found)
                    print(
                        f"round {i + 1}: {label} {name}: {found['wall_s']:.2f} s wall, "
                        f"{found['cpu_s']:.2f} s CPU, {found['peak_mb']:.0f} MB",
                        file=sys.stderr,
                    )
            if args.sizes:
                largest = paths[f"synthetic {max(args.sizes):,}"]
                for name, seconds in _steps(largest, args.bootstrap).items():
                    steps.setdefault(name, []).append(seconds)
        section = _section(results, stores, steps, args, (load_start, os.getloadavg()[0]))
    print(section)
    if args.write:
        print(f"wrote {_write(section)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
