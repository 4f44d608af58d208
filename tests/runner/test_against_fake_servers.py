"""The runner against a fake OpenAI server over real HTTP: cost cap and resume, an
always-failing item, re-judging with zero non-judge calls, replay with no network (kill -9
and resume is in test_kill_resume.py, with the server in its own process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oversight import rejudge
from oversight.runner import run_experiment
from oversight.testing import (
    FAKE_KEY_VARIABLE,
    FakeOpenAIServer,
    Fault,
    RecordedRequest,
    cli_command,
    fake_experiment,
    scripted_verdict,
    signal_after,
)
from transcripts import RunStore

KEY_VARIABLE = FAKE_KEY_VARIABLE


def _openai_available() -> bool:
    from oversight.endpoints import endpoint
    from transcripts.errors import ConfigError

    try:
        endpoint("openai/probe", base_url="http://127.0.0.1:9/v1", api_key="x", cache=False)
    except ConfigError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not _openai_available(), reason="the openai provider is not in endpoint() yet"
)


def script(body: dict[str, Any]) -> Any:
    """Deterministic verdicts (:func:`oversight.testing.scripted_verdict`); the server's own
    deterministic inventions for everything else, except that with ``FAIL_LEDGER`` set one
    question always fails."""
    verdict = scripted_verdict(body)
    if (
        verdict is None
        and os.environ.get("FAIL_LEDGER")
        and "Who started the ledger?" in json.dumps(body)
    ):
        return Fault.bad_request("scripted: this question always fails")
    return verdict


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(reply=script, latency=0.005) as fake:
        yield fake


def experiment_file(tmp_path: Path, server: FakeOpenAIServer, **limits: Any) -> Path:
    path = tmp_path / "fake.toml"
    text = fake_experiment(server.base_url, protocol_options={"resamples": 0}, limits=limits)
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "test")


def key(request: RecordedRequest) -> str:
    return json.dumps(request.body, sort_keys=True)


def contents(out: Path) -> tuple[dict[str, list[str]], dict[str, list[float] | None]]:
    store = RunStore.open(out)
    transcripts = {
        t.id: [u.content for u in t.turns]
        for t in store.transcripts.latest()
        if t.status == "complete"
    }
    judgments = {j.id: j.probabilities for j in store.judgments.latest() if j.status == "ok"}
    store.close()
    return transcripts, judgments


async def test_cost_cap_stops_then_resumes_with_no_request_repeated(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    from oversight.runner import run_experiment_async

    whole = await run_experiment_async(
        experiment_file(tmp_path, server), out=tmp_path / "whole", progress=False
    )
    assert whole.status == "complete" and whole.unknown_cost_calls == 0
    total = server.total_requests
    server.reset()
    capped = await run_experiment_async(
        experiment_file(tmp_path, server),
        out=tmp_path / "run",
        max_cost_usd=whole.spent_usd / 3,
        progress=False,
    )
    assert capped.status == "stopped: cost cap"
    first = server.total_requests
    assert 0 < first < total
    resumed = await run_experiment_async(
        experiment_file(tmp_path, server),
        out=tmp_path / "run",
        max_cost_usd=whole.spent_usd * 2,
        progress=False,
    )
    assert resumed.status == "complete"
    assert server.total_requests == total, "every request was sent exactly once in all"
    assert max(Counter(key(r) for r in server.requests).values()) == 1
    assert resumed.spent_usd == pytest.approx(whole.spent_usd)
    assert contents(tmp_path / "run") == contents(tmp_path / "whole")


async def test_an_item_that_always_fails_is_isolated(
    tmp_path: Path, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oversight.runner import run_experiment_async

    monkeypatch.setenv("FAIL_LEDGER", "1")
    exp = experiment_file(tmp_path, server, max_failure_fraction=0.5, item_retries=1)
    result = await run_experiment_async(exp, out=tmp_path / "run", progress=False)
    assert result.status == "complete with errors" and result.items_failed == 6
    store = RunStore.open(tmp_path / "run")
    failed = [t for t in store.transcripts.latest() if t.status == "error"]
    assert {t.question.id for t in failed} == {"lighthouse-2"}
    assert all("400" in (t.error or "") or "scripted" in (t.error or "") for t in failed)
    complete = [t for t in store.transcripts.latest() if t.status == "complete"]
    assert len(complete) == result.items_total - 6


async def test_rejudge_makes_only_judge_calls(tmp_path: Path, server: FakeOpenAIServer) -> None:
    from oversight import rejudge_async
    from oversight.runner import run_experiment_async

    exp = experiment_file(tmp_path, server)
    await run_experiment_async(exp, out=tmp_path / "run", progress=False)
    server.reset()
    result = await rejudge_async(tmp_path / "run", "llm:second", rounds=[1, 2])
    # Unassisted transcripts (8) have no rounds: both cuts show them whole, judged once.
    assert result.judged == 2 * 24 + 8 and result.failed == 0
    models = Counter((r.body or {}).get("model") for r in server.requests)
    assert set(models) == {"second-judge"}, "no debater, consultant or other call was made"
    assert models["second-judge"] == 56 and result.cached_calls == 0


async def test_a_rejudge_cost_cap_is_the_commands_budget_not_the_runs_total(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    """``rejudge --max-cost`` counted the run's earlier spend: a cap below what the run had
    spent stopped before any judge call. It is this command's budget: it judges until it
    has spent it, and says so when it stops."""
    from oversight import rejudge_async
    from oversight.runner import run_experiment_async

    exp = experiment_file(tmp_path, server)
    ran = await run_experiment_async(exp, out=tmp_path / "run", progress=False)
    budget = ran.spent_usd / 100  # far below what the run spent, enough for a few calls
    server.reset()
    result = await rejudge_async(tmp_path / "run", "llm:second", max_cost_usd=budget)
    assert 0 < result.judged < 32 and server.total_requests >= result.judged
    assert result.stopped is not None
    assert "this rejudge spent $" in result.stopped and f"of its ${budget:.4f}" in result.stopped


async def test_rejudge_with_a_missing_key_stops_before_any_judgment(
    tmp_path: Path, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oversight import rejudge_async
    from oversight.errors import MissingAPIKeyError
    from oversight.runner import run_experiment_async

    exp = experiment_file(tmp_path, server)
    await run_experiment_async(exp, out=tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "judgments.jsonl").read_bytes()
    server.reset()
    monkeypatch.delenv(KEY_VARIABLE)
    with pytest.raises(MissingAPIKeyError, match=KEY_VARIABLE):
        await rejudge_async(tmp_path / "run", "llm:second")
    assert server.total_requests == 0
    assert (tmp_path / "run" / "judgments.jsonl").read_bytes() == before


def test_replay_of_a_finished_run_makes_no_network_call(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    exp = experiment_file(tmp_path, server)
    run_experiment(exp, out=tmp_path / "run", progress=False, summary=False)
    server.reset()
    replay = run_experiment(
        exp, out=tmp_path / "replay", replay=tmp_path / "run", progress=False, summary=False
    )
    assert replay.status == "complete" and replay.calls == 0
    assert server.total_requests == 0
    assert contents(tmp_path / "replay") == contents(tmp_path / "run")
    _ = rejudge  # the Python API is the CLI's; see test_rejudge_makes_only_judge_calls


def test_sigterm_stops_cleanly_with_status_interrupted(tmp_path: Path) -> None:
    with FakeOpenAIServer(reply=script, latency=0.03) as server:  # slow enough to catch
        _sigterm_then_resume(tmp_path, server)


def _sigterm_then_resume(tmp_path: Path, server: FakeOpenAIServer) -> None:
    exp = experiment_file(tmp_path, server)
    run = tmp_path / "run"
    env = {**os.environ, "CI": "true"}
    process = subprocess.Popen(
        cli_command("run", str(exp), "--out", str(run), "--no-report"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert signal_after(process, run / "transcripts.jsonl", 5, sig=signal.SIGTERM, timeout=60)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 130, out
    assert "interrupting: no new call is started, calls in flight finish" in " ".join(out.split())
    assert "interrupted" in out
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "interrupted" and 0 < status["items_complete"] < 32
    from oversight.cli import main  # the resume, in this process: it needs no signal

    assert main(["run", str(exp), "--out", str(run), "--no-report", "--no-progress"]) == 0
    assert json.loads((run / "status.json").read_text())["status"] == "complete"


def test_a_missing_key_stops_the_run_before_any_item(
    tmp_path: Path,
    server: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from oversight.cli import main

    monkeypatch.delenv(KEY_VARIABLE)
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                str(experiment_file(tmp_path, server)),
                "--out",
                str(out),
                "--no-progress",
                "--no-report",
            ]
        )
        == 1
    )
    assert KEY_VARIABLE in capsys.readouterr().err
    assert server.total_requests == 0
    assert not (out / "transcripts.jsonl").exists() and not (out / "judgments.jsonl").exists()
    # With the key set, the same command starts the run in the same folder.
    monkeypatch.setenv(KEY_VARIABLE, "test")
    assert (
        main(
            [
                "run",
                str(experiment_file(tmp_path, server)),
                "--out",
                str(out),
                "--no-progress",
                "--no-report",
            ]
        )
        == 0
    )
    assert server.total_requests > 0


def test_a_server_that_reports_no_usage_costs_unknown_in_the_summary_and_the_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Priced endpoints whose replies carry no token counts: the run said ``spend $0.0000``.
    Now every call's cost is unknown (never $0), said in the summary, the ledger and a
    warning that says why, with the most those calls can have cost shown apart as an
    estimate (what ``--max-cost`` counts: tests/runner/test_cost_cap_unknown.py)."""
    from oversight.cli import main
    from oversight.testing import FakeReply

    def no_usage(body: dict[str, Any]) -> Any:
        verdict = scripted_verdict(body)
        return FakeReply(json.dumps(verdict) if verdict else "An argument.", usage=False)

    with FakeOpenAIServer(reply=no_usage) as fake:
        path = experiment_file(tmp_path, fake)
        out = tmp_path / "run"
        assert main(["run", str(path), "--out", str(out)]) == 0
        sent = fake.total_requests
    printed = " ".join(capsys.readouterr().out.split())
    assert "replied without token counts" in printed
    ledger = [json.loads(line) for line in (out / "spend.jsonl").read_text().splitlines()]
    assert len(ledger) == sent and all(line["cost_usd"] is None for line in ledger)
    bound = sum(line["estimated_usd"] for line in ledger)
    assert f"spend $0.0000 + ≤${bound:.4f} estimated for {sent} call(s) without" in printed
    status = json.loads((out / "status.json").read_text())
    assert (status["spent_usd"], status["estimated_calls"]) == (0.0, sent)
    stored = [json.loads(line) for line in (out / "transcripts.jsonl").read_text().splitlines()]
    calls = [u["call"] for t in stored for u in t["turns"] if u.get("call")]
    assert calls and all(c["usage"]["reported"] is False and c["cost_usd"] is None for c in calls)
