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


@pytest.mark.timeout(600)
def test_a_killed_stress_run_resumes_to_the_uninterrupted_one_and_repays_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 of ``oversight stress`` with calls in flight, then the same command again:
    the planted and benign transcripts and the stress table are those of a run never
    killed, and no answered call is paid twice."""
    import json
    import signal
    import subprocess

    from oversight.cli import main
    from oversight.testing import cli_command, fake_experiment, signal_after
    from transcripts import RunStore

    bench = _bench()
    monkeypatch.setenv(bench.KEY_VARIABLE, "test")
    server = bench.Server(tmp_path, 0.02)
    try:
        exp = tmp_path / "stress.toml"
        exp.write_text(
            fake_experiment(server.base_url, name="kills")
            + '\n[stress]\npersonas = ["sandbagger", "quote-fabricator"]\n'
        )
        red, whole = tmp_path / "red", tmp_path / "whole"
        args = ["stress", str(exp), "--no-progress"]
        process = subprocess.Popen(
            cli_command(*args, "--out", str(red)),
            env=bench._env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert signal_after(process, red / "sent.jsonl", 12, sig=signal.SIGKILL, delay=0.01)
        process.wait()
        assert not (red / "reports" / "stress.json").exists()
        assert main([*args, "--out", str(red)]) == 0  # the same command: resumed
        assert main([*args, "--out", str(whole)]) == 0  # never killed
    finally:
        server.close()
    repaid, ledger = bench._repaid(red)
    assert repaid == 0 and ledger > 0
    assert bench._contents(red) == bench._contents(whole)

    def planted(run: Path) -> dict[str, object]:
        return {
            t.id: t.planted.model_dump() if t.planted else None
            for t in RunStore.open(run).transcripts.latest()
        }

    assert planted(red) == planted(whole) and any(planted(red).values())
    tables = [json.loads((r / "reports" / "stress.json").read_text()) for r in (red, whole)]
    assert tables[0]["rows"] == tables[1]["rows"]
