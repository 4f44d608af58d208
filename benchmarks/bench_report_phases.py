"""Where `oversight report RUN --json` spends its CPU, per step, in two code versions side by
side: each repetition runs the report once in every tree (a fresh process each, trees
alternated so they see the same machine load), with the load steps' functions wrapped to
add up their CPU seconds (``time.process_time``; no profiler, whose per-call cost
inflates Python-heavy steps several times). Prints the median per tree and step.

    python benchmarks/bench_report_phases.py RUN --tree OLD --tree NEW [--reps 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

_STEPS = {
    "oversight.analysis._data": [
        "load",
        "_transcripts",
        "_judgments",
        "_final",
        "_probabilities",
        "_columns",
        "_latest",
    ],
    "oversight.analysis._fields": ["_field_codes"],
    "oversight.analysis": ["analyze"],
}

_CHILD = """
import contextlib, importlib, io, json, os, sys, time
steps = json.loads(sys.argv[1])
spent = {}
def wrap(module, name):
    f = getattr(module, name)
    key = name
    depth = [0]
    def timed(*a, **k):
        depth[0] += 1
        start = time.process_time()
        try:
            return f(*a, **k)
        finally:
            depth[0] -= 1
            if not depth[0]:
                spent[key] = spent.get(key, 0.0) + time.process_time() - start
    setattr(module, name, timed)
start = time.process_time()
from oversight.cli import main
for module, names in steps.items():
    m = importlib.import_module(module)
    for name in names:
        if hasattr(m, name):
            wrap(m, name)
spent["imports (before the command)"] = time.process_time() - start
with contextlib.redirect_stdout(io.StringIO()):
    main(sys.argv[2:])
spent["process (CPU s, all)"] = sum(os.times()[:2])
print(json.dumps(spent))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--tree", type=Path, action="append", required=True)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    trees = [t.resolve() for t in args.tree]
    print(f"start {time.strftime('%Y-%m-%d %H:%M:%S')} load {os.getloadavg()}", flush=True)
    found: dict[str, dict[str, list[float]]] = {str(t): {} for t in trees}
    for _ in range(args.reps):
        for tree in trees:
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _CHILD,
                    json.dumps(_STEPS),
                    "report",
                    str(args.run.resolve()),
                    "--json",
                ],
                cwd="/",
                env={**os.environ, "PYTHONPATH": str(tree)},
                capture_output=True,
                text=True,
                check=True,
            )
            for step, seconds in json.loads(done.stdout.strip().splitlines()[-1]).items():
                found[str(tree)].setdefault(step, []).append(seconds)
    print(f"end {time.strftime('%Y-%m-%d %H:%M:%S')} load {os.getloadavg()}")
    steps = list(found[str(trees[0])])
    print("| step | " + " | ".join(Path(t).name for t in trees) + " |")
    print("|---|" + "---:|" * len(trees))
    for step in steps:
        cells = [
            f"{statistics.median(found[str(t)][step]):.3f}" if step in found[str(t)] else "-"
            for t in trees
        ]
        print(f"| {step} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
