"""Issue 21's read steps on a kept store, repeated and interleaved: medians, not one shot.

Run from the repository root on a store kept by ``bench_scale.py --keep DIR``::

    python benchmarks/bench_scale_steps.py DIR [--reps 5] [--tree PATH ...] [--steps report]

Each repetition runs, in this order and each in its own process (``_measure.py``: wall,
CPU user + system, peak resident memory), the resume of the finished run (``oversight run
DIR/scale.toml --out DIR/run --no-report``), ``oversight show DIR/run --limit 10`` and
``oversight report DIR/run --json``. With several ``--tree`` (worktrees of two versions),
each step runs in every tree before the next step, so the versions see the same machine
load; ``--steps`` runs only the steps named (``resume``, ``show``, ``report``); with
``--compare-json`` the report's JSON of every tree must be byte-identical to the first
tree's. Prints each measurement, then the median per tree and step, with the load
average before and after (the machine is shared: load decides the wall times).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _measure import measure_cli


def _steps(folder: Path) -> dict[str, tuple[str, ...]]:
    run = str(folder / "run")
    return {
        "resume": ("run", str(folder / "scale.toml"), "--out", run, "--no-report"),
        "show --limit 10": ("show", run, "--limit", "10"),
        "report --json": ("report", run, "--json"),
    }


def _report_json(tree: Path, run: Path) -> bytes:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-m", "oversight.cli", "report", str(run), "--json"],
        cwd=tree,
        env=env,
        capture_output=True,
        check=True,
    )
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder kept by bench_scale.py --keep")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tree", type=Path, action="append", default=None)
    parser.add_argument("--compare-json", action="store_true")
    parser.add_argument(
        "--steps",
        nargs="+",
        choices=("resume", "show", "report"),
        default=None,
        help="run only these steps (default: all three)",
    )
    args = parser.parse_args()
    trees = [t.resolve() for t in (args.tree or [Path(__file__).resolve().parents[1]])]
    for tree in trees:
        packages = ["oversight", "transcripts", "judges", "protocols"]
        subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], cwd=tree, check=True)
    print(f"start {time.strftime('%Y-%m-%d %H:%M:%S')} load {os.getloadavg()}", flush=True)
    if args.compare_json and len(trees) > 1:
        first = _report_json(trees[0], args.folder / "run")
        for tree in trees[1:]:
            same = _report_json(tree, args.folder / "run") == first
            print(f"report --json of {tree} identical to {trees[0]}: {same}", flush=True)
            if not same:
                raise SystemExit("report JSON differs")
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for rep in range(args.reps):
        for name, command in _steps(args.folder).items():
            if args.steps and name.split()[0] not in args.steps:
                continue
            for tree in trees:
                m = measure_cli(*command, tree=tree)
                results.setdefault((str(tree), name), []).append(m)
                print(
                    f"rep {rep + 1} {tree.name} {name}: {m['process_s']:.2f} s "
                    f"({m['cpu_s']:.2f} CPU s) {m['peak_mb']:.0f} MB",
                    flush=True,
                )
    print(f"end {time.strftime('%Y-%m-%d %H:%M:%S')} load {os.getloadavg()}")
    print()
    print("| tree | step | median wall s (CPU s) | range wall s | peak MB (max) |")
    print("|---|---|---|---|---|")
    for (tree, name), ms in results.items():
        wall = [m["process_s"] for m in ms]
        cpu = [m["cpu_s"] for m in ms]
        print(
            f"| {Path(tree).name} | {name} | {statistics.median(wall):.2f} "
            f"({statistics.median(cpu):.2f}) | {min(wall):.2f}-{max(wall):.2f} | "
            f"{max(m['peak_mb'] for m in ms):.0f} |"
        )


if __name__ == "__main__":
    main()
