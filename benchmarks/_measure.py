"""One ``oversight`` command in its own process, measured by the process itself: wall time
of the command (imports of ``oversight.cli`` excluded), CPU seconds (user + system, imports
included) and peak resident memory (``VmHWM``). Shared by the benchmarks that time commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_CHILD = """
import io, json, os, sys, time, contextlib
from oversight.cli import main
started = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
wall = time.perf_counter() - started
# VmHWM: this program's own peak (ru_maxrss would keep the forking parent's across exec)
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM")) / 1024
cpu = sum(os.times()[:2])
print(json.dumps({"code": code, "wall_s": wall, "cpu_s": cpu, "peak_mb": peak}), file=sys.stderr)
"""


def measure_cli(*args: str, tree: Path | None = None) -> dict[str, Any]:
    """``oversight ARGS`` in a fresh process (running ``tree``'s code when given): the
    child's own ``wall_s``, ``cpu_s`` and ``peak_mb``, and ``process_s`` seen from outside
    (interpreter start and imports too). Exits with the child's errors when it fails."""
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree is not None else None
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        cwd=tree,
        env=env,
        stdin=subprocess.DEVNULL,  # a command that asks (oversight judge) ends at once
        capture_output=True,
        text=True,
        check=False,
    )
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    try:
        result: dict[str, Any] = json.loads(last)
    except json.JSONDecodeError as err:
        raise SystemExit(f"oversight {' '.join(args)} failed:\n{done.stderr[-3000:]}") from err
    result["process_s"] = time.perf_counter() - started
    if result["code"] != 0:
        raise SystemExit(
            f"oversight {' '.join(args)} exited {result['code']}:\n{done.stderr[-3000:]}"
        )
    return result
