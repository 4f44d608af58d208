"""How long ``oversight`` takes to start: the same commands from two checkouts, side by side
(before and after a change to what the command line imports).

Run from the repository root, with a second checkout (e.g. ``git worktree add /tmp/base
<commit>``) and a finished run (``bash .ci/dev example`` writes ``runs/quickstart``)::

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/bench_cli_startup.py \\
        --before /tmp/base --run runs/quickstart [--reps 7]

Each command runs once from each checkout first (to write its ``.pyc`` files), then ``reps``
times each, alternating which checkout goes first, each timed from start until the process
has ended. Prints the machine's load and a Markdown table of medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands(run: str) -> list[list[str]]:
    return [
        ["--help"],
        ["show", "--help"],
        ["show", run, "--limit", "1"],
        ["report", "--help"],
        ["report", run],
        ["judge", "--help"],
        ["run", "--help"],
        ["rejudge", "--help"],
    ]


def _time(tree: Path, args: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(tree), COLUMNS="100")
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "oversight.cli", *args],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, type=Path, help="the other checkout")
    parser.add_argument("--run", required=True, help="a finished run folder")
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": ROOT}
    run = str(Path(args.run).resolve())
    times: dict[tuple[str, str], list[float]] = {}
    print(f"load average at start: {os.getloadavg()}")
    for command in _commands(run):
        for tree in trees.values():
            _time(tree, command)  # writes the .pyc files
        for rep in range(args.reps):
            order = list(trees) if rep % 2 == 0 else list(reversed(trees))
            for name in order:
                key = (" ".join(command).replace(run, "RUN"), name)
                times.setdefault(key, []).append(_time(trees[name], command))
    print(f"load average at end: {os.getloadavg()}")
    print("\n| command | before s | after s |\n|---|---|---|")
    for command in _commands(run):
        shown = " ".join(command).replace(run, "RUN")
        before, after = (statistics.median(times[(shown, n)]) for n in trees)
        print(f"| `oversight {shown}` | {before:.3f} | {after:.3f} |")


if __name__ == "__main__":
    main()
