"""How long the ``oversight`` command takes to end once its work is done: the console
script's exit (:func:`oversight.cli.entry`: exit handlers, flushed streams, ``os._exit``)
against the interpreter's own (``sys.exit(main())``: the same, then every module and object
torn down), side by side.

Run from the repository root (after ``bash .ci/dev example``, which writes
``runs/quickstart``)::

    .venv/bin/python benchmarks/bench_cli_exit.py [--run runs/quickstart] [--reps 5]

Each repetition runs every command both ways, alternating which goes first, and times it
from start until the process has ended and its output pipes are closed (what a shell
pipeline or CI log waits for). Commands: ``show RUN --limit 3``, ``report RUN``, and the
quickstart experiment run into a fresh folder (mock models, no keys). Prints a Markdown
table of medians.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_START = "import sys; sys.argv[0] = 'oversight'; from oversight.cli import "
WAYS = {
    "entry (this exit)": _START + "entry; entry()",
    "sys.exit(main())": _START + "main; sys.exit(main())",
}
"""How the command ends, by the Python that starts it."""


def _time(code: str, args: list[str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, check=False
    )
    took = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{args} failed ({done.returncode}):\n{done.stderr.decode()[-2000:]}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/quickstart", help="a finished run folder")
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each")
    args = parser.parse_args(argv)
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "show --limit 3": ["show", args.run, "--limit", "3"],
            "report": ["report", args.run],
            "run quickstart": ["run", "examples/quickstart.toml", "--no-report"],
        }
        for rep in range(args.reps):
            ways = list(WAYS) if rep % 2 == 0 else list(WAYS)[::-1]
            for name, command in commands.items():
                for way in ways:
                    extra = (
                        ["--out", str(Path(tmp) / f"{rep}-{len(times)}")] if "run" in name else []
                    )
                    took = _time(WAYS[way], [*command, *extra])
                    times.setdefault((name, way), []).append(took)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.2f}; "
        f"{args.reps} repetitions\n"
    )
    print("| command | " + " | ".join(f"{w} median s" for w in WAYS) + " | saved s |")
    print("|---|" + "---|" * (len(WAYS) + 1))
    for name in commands:
        medians = [statistics.median(times[name, way]) for way in WAYS]
        print(
            f"| {name} | "
            + " | ".join(f"{m:.3f}" for m in medians)
            + f" | {medians[1] - medians[0]:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
