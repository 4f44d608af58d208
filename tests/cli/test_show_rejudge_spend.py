"""``oversight show RUN``'s spend after an ``oversight rejudge`` of a finished run: the
rejudge writes its paid calls to the run's ledger (``spend.jsonl``) and not its
``status.json``, so the spend shown is the ledger's (the run's total, all its judges), with
what the rejudge spent said apart. Over real HTTP against the fake OpenAI server, through
the commands a user types."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from oversight.cli import main
from oversight.testing import (
    FAKE_KEY_VARIABLE,
    FakeOpenAIServer,
    cli_command,
    fake_experiment,
    scripted_verdict,
)
from tests.cli.test_show_status import ROOT, _first_line


def _ledger_usd(run: Path, skip: int = 0) -> tuple[float, int]:
    """Dollars and lines of the ledger, from its ``skip``-th line on."""
    lines = [json.loads(line) for line in (run / "spend.jsonl").read_text().splitlines()]
    return sum(entry["cost_usd"] for entry in lines[skip:]), len(lines)


def test_show_counts_a_rejudge_s_spend_in_the_run_s_and_says_it_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    run = tmp_path / "run"
    with FakeOpenAIServer(reply=scripted_verdict) as server:
        exp = tmp_path / "exp.toml"
        exp.write_text(fake_experiment(server.base_url))
        assert main(["run", str(exp), "--out", str(run), "--no-progress", "--no-report"]) == 0
        run_usd, run_lines = _ledger_usd(run)
        capsys.readouterr()
        assert main(["show", str(run), "--limit", "1"]) == 0
        assert _first_line(capsys.readouterr().out) == (
            f"{run}: complete · 32 of 32 items · spend ${run_usd:.4f}"
        )
        assert main(["rejudge", str(run), "--judge", "llm:second"]) == 0
        capsys.readouterr()
        total_usd, total_lines = _ledger_usd(run)
        rejudge_usd, _ = _ledger_usd(run, skip=run_lines)
        assert total_lines > run_lines and rejudge_usd > 0  # the rejudge paid for its calls
        status = json.loads((run / "status.json").read_text())
        assert status["spent_usd"] == pytest.approx(run_usd)  # as the run left it
        assert main(["show", str(run), "--limit", "1"]) == 0
        assert _first_line(capsys.readouterr().out) == (
            f"{run}: complete · 32 of 32 items · spend ${total_usd:.4f} · ${rejudge_usd:.4f} "
            f"of it by oversight rejudge after the run's last session"
        )
        # The run's next session counts the rejudge's calls in its own: nothing apart.
        assert main(["run", str(exp), "--out", str(run), "--no-progress", "--no-report"]) == 0
    capsys.readouterr()
    assert main(["show", str(run), "--limit", "1"]) == 0
    assert _first_line(capsys.readouterr().out) == (
        f"{run}: complete · 32 of 32 items · spend ${total_usd:.4f}"
    )


def test_show_counts_the_calls_a_killed_rejudge_left_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rejudge killed with its calls held by the server: sent, perhaps charged, never
    answered; show says them, apart, as cut off, not as nothing spent."""
    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    run = tmp_path / "run"
    with FakeOpenAIServer(reply=scripted_verdict) as server:
        exp = tmp_path / "exp.toml"
        exp.write_text(fake_experiment(server.base_url))
        assert main(["run", str(exp), "--out", str(run), "--no-progress", "--no-report"]) == 0
        run_usd, _ = _ledger_usd(run)
        capsys.readouterr()
        server.latency = 3600.0  # every judge call of the rejudge waits an hour
        sent = (run / "sent.jsonl").read_text().count("\n")
        rejudge = subprocess.Popen(
            cli_command("rejudge", str(run), "--judge", "llm:second"),
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120  # bounded: the server's own count, no fixed wait
            while server.in_flight == 0:  # a call in flight, marked as sent
                assert rejudge.poll() is None and time.monotonic() < deadline
                time.sleep(0.005)
            rejudge.send_signal(signal.SIGKILL)
        finally:
            rejudge.kill()
            rejudge.wait()
    held = (run / "sent.jsonl").read_text().count("\n") - sent  # none answered
    assert held >= 1
    assert main(["show", str(run), "--limit", "1"]) == 0
    cut_off = (
        f"{held} call(s) cut off in flight (by a kill or a cancellation; perhaps charged by the "
        "provider, cost unknown)"
    )
    assert _first_line(capsys.readouterr().out) == (
        f"{run}: complete · 32 of 32 items · spend ${run_usd:.4f} + {cut_off} · $0.0000 + "
        f"{cut_off} of it by oversight rejudge after the run's last session"
    )
