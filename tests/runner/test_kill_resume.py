"""kill -9 of ``oversight run`` and ``oversight rejudge`` at seeded random moments, against
the fake OpenAI server in its own process: nothing lost, nothing duplicated, no answered
call paid again. The same code, with many more kills, is ``benchmarks/bench_kill.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_kill.py"
    spec = importlib.util.spec_from_file_location("bench_kill", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_kill"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(600)
@pytest.mark.parametrize("seed", [11])
def test_random_kills_of_run_and_rejudge_lose_nothing_and_repay_nothing(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One kill of each command (each kill is a process start; the benchmark lands many)."""
    bench = _bench()
    monkeypatch.setenv(bench.KEY_VARIABLE, "test")
    figures = bench.kill_suite(tmp_path, kills=2, seed=seed)
    assert figures.kills_run >= 1 and figures.kills_rejudge >= 1
    assert figures.answered_then_repaid == 0
    assert figures.lost == 0 and figures.duplicates == 0
    # Replies the server wrote that no ledger line records were cut off by a kill, and the
    # run says so.
    assert figures.answered_unrecorded <= figures.in_flight_reported
    assert figures.server_replies > 0 and figures.ledger_lines > 0
