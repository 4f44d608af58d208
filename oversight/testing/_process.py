"""``oversight`` commands in their own process, signalled at a chosen moment: what the
kill-and-resume and interrupt tests and benchmarks share, written once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["cli_command", "line_count", "signal_after"]


def cli_command(*args: str) -> list[str]:
    """The command line of ``oversight ARGS`` under this Python interpreter."""
    return [sys.executable, "-m", "oversight.cli", *args]


def line_count(path: Path) -> int:
    """Lines in ``path`` so far (0 when it does not exist yet)."""
    return path.read_bytes().count(b"\n") if path.exists() else 0


def signal_after(
    process: subprocess.Popen[str] | subprocess.Popen[bytes],
    log: Path,
    lines: int,
    *,
    sig: signal.Signals = signal.SIGINT,
    delay: float = 0.0,
    poll: float = 0.002,
    timeout: float = 120.0,
) -> bool:
    """Send ``sig`` to ``process`` once ``log`` holds ``lines`` lines, ``delay`` seconds
    later (the caller waits for it to end). False, sending nothing, when the process ended
    first;
    a :class:`RuntimeError` (the process killed) when ``log`` did not grow to ``lines`` in
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while line_count(log) < lines and process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError(f"{log} did not reach {lines} lines in {timeout:.0f} s")
        time.sleep(poll)
    if delay:
        time.sleep(delay)
    if process.poll() is not None:
        return False
    process.send_signal(sig)
    return True
