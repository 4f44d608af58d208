"""Re-judging 100 transcripts through ``batch = true``: killed mid-batch (SIGKILL), resumed
without resubmitting, priced at the batch rate; over real HTTP to the fake OpenAI server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oversight.cli import main
from oversight.endpoints._pricing import lookup_price
from oversight.runner._meter import SpendEntry
from oversight.testing import (
    FakeAnthropicServer,
    FakeOpenAIServer,
    FakeReply,
    Fault,
    RecordedRequest,
)
from transcripts import JsonlLog, RunStore

ROOT = Path(__file__).parents[2]


def _experiment(
    tmp_path: Path, base_url: str, spec: str = "openai/gpt-4o-mini", window: float = 0.05
) -> Path:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"q{i}",
                    "question": f"Is {i} even?",
                    "answers": ["yes", "no"],
                    "correct": i % 2,
                    "source": f"s{i % 10}",
                }
            )
            + "\n"
            for i in range(50)
        )
    )
    experiment = tmp_path / "batch.toml"
    experiment.write_text(
        'name = "batch"\n'
        f'[dataset]\nloader = "jsonl"\npath = "{questions}"\n'
        '[endpoints.weak]\nspec = "mock/weak"\n'
        f'[endpoints.batchjudge]\nspec = "{spec}"\n'
        f'base_url = "{base_url}"\nbatch = true\n'
        f"options = {{ batch_window = {window}, batch_poll_interval = 0.02 }}\n"
        '[[conditions]]\nlabel = "unassisted"\nprotocol = "unassisted"\n'
        '[[judges]]\nname = "first"\nkind = "llm"\nendpoint = "weak"\n'
    )
    return experiment


def _wait_for(condition: object, what: str) -> None:
    for _ in range(2000):  # bounded: fails the test instead of hanging it
        if callable(condition) and condition():
            return
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


def test_rejudge_of_100_transcripts_survives_a_kill_mid_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    verdict = {"rationale": "the first answer fits", "probabilities": {"A": 0.8, "B": 0.2}}
    with FakeOpenAIServer(reply=lambda body: verdict) as server:
        run = tmp_path / "run"
        assert main(["run", str(_experiment(tmp_path, server.base_url)), "--out", str(run)]) == 0
        assert len(list(RunStore.open(run).transcripts.latest())) == 100
        server.batch.hold = True  # the batch stays in progress until released
        command = [
            sys.executable,
            "-m",
            "oversight.cli",
            "rejudge",
            str(run),
            "--judge",
            "llm:batchjudge",
            "--concurrency",
            "200",
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        ledger = run / "batches.jsonl"
        _wait_for(
            lambda: server.requests_by_path["/v1/batches/batch_0"] >= 2,
            "the batch to be submitted and polled",
        )
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        entries = [json.loads(line) for line in ledger.read_text().splitlines()]
        assert [e["event"] for e in entries] == ["submitting", "submitted"]
        assert len(entries[1]["keys"]) == 100  # one batch carries all 100 judge calls
        before = [j for j in RunStore.open(run).judgments.latest() if j.judge.name != "first"]
        assert before == []  # nothing answered yet

        server.batch.hold = False
        capsys.readouterr()
        code = main(["rejudge", str(run), "--judge", "llm:batchjudge", "--concurrency", "200"])
        out = capsys.readouterr().out
        assert code == 0, out
        # The resumed process polled the batch it found; nothing was sent twice.
        assert len(server.batch.batches) == 1
        assert server.requests_by_path["/v1/files"] == 1
        assert server.requests_by_path["/v1/chat/completions"] == 0
        assert server.batch.lines_answered == 100
    judgments = [j for j in RunStore.open(run).judgments.latest() if j.judge.name != "first"]
    assert len(judgments) == 100 and all(j.status == "ok" for j in judgments)
    calls = [c for j in judgments for c in j.calls]
    price = lookup_price("gpt-4o-mini")
    assert price is not None
    assert all(c.batched for c in calls)
    batch_cost = sum(price.cost(c.usage) for c in calls) / 2
    assert sum(c.cost_usd or 0.0 for c in calls) == pytest.approx(batch_cost)
    assert "100 new judgment(s)" in out
    assert (
        f"100 call(s) went through the provider's batch API, priced at its batch rate: "
        f"${batch_cost:.4f}" in out
    )


def test_dry_run_prices_a_batch_endpoint_at_the_batch_rate_and_shows_the_saving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oversight.runner import dry_run

    text = _experiment(tmp_path, "http://127.0.0.1:9/v1").read_text()
    experiment = tmp_path / "batch-judge.toml"
    experiment.write_text(text.replace('endpoint = "weak"', 'endpoint = "batchjudge"'))
    rehearsal = dry_run(str(experiment), out=tmp_path / "dry")
    [estimate] = [e for e in rehearsal.endpoints if e.name == "batchjudge"]
    price = lookup_price("gpt-4o-mini")
    assert price is not None and estimate.batched and estimate.calls == 100
    from transcripts import Usage

    standard = price.cost(
        Usage(input_tokens=estimate.input_tokens, output_tokens=estimate.output_tokens)
    )
    assert estimate.cost_usd == pytest.approx(standard / 2)
    assert estimate.batch_saving_usd == pytest.approx(standard / 2)
    capsys.readouterr()
    assert main(["run", str(experiment), "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        f"batchjudge has batch = true: all 100 call(s) can wait in a batch, priced at the "
        f"batch rate, saving ${standard / 2:.4f} against standard prices"
    ) in out


def test_a_kill_between_creating_an_anthropic_batch_and_writing_its_id_sends_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Message Batches carry no label: the resumed rejudge finds the batch the killed one
    created (listed since its intent, confirmed by the custom ids of its results)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    verdict = {"rationale": "the first answer fits", "probabilities": {"A": 0.8, "B": 0.2}}
    child: list[subprocess.Popen[bytes]] = []
    creates: list[int] = []

    def kill_the_client() -> None:  # the batch exists; its id never reaches the client
        child[0].send_signal(signal.SIGKILL)
        child[0].wait(timeout=30)

    def faults(request: RecordedRequest) -> Fault | None:
        if request.path == "/v1/messages/batches" and request.body is not None:
            creates.append(request.index)
            if len(creates) == 1:
                return Fault.lost_reply(then=kill_the_client)
        return None

    spec = "anthropic/claude-haiku-4-5"
    with FakeAnthropicServer(reply=lambda body: verdict, faults=faults) as server:
        run = tmp_path / "run"
        # A wide window: all 100 verdicts in the one batch, however busy the machine.
        experiment = _experiment(tmp_path, server.base_url, spec, window=0.5)
        assert main(["run", str(experiment), "--out", str(run)]) == 0
        rejudge = ["rejudge", str(run), "--judge", "llm:batchjudge", "--concurrency", "200"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "oversight.cli", *rejudge]
        child.append(
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        )
        _wait_for(lambda: child[0].poll() is not None, "the rejudge to be killed")
        assert child[0].returncode == -signal.SIGKILL
        ledger = [json.loads(line) for line in (run / "batches.jsonl").read_text().splitlines()]
        assert [e["event"] for e in ledger] == ["submitting"]  # the intent, and no id
        assert len(ledger[0]["keys"]) == 100 and len(server.batch.batches) == 1

        capsys.readouterr()
        assert main(rejudge) == 0
        out = capsys.readouterr().out
        assert len(creates) == 1 and len(server.batch.batches) == 1  # never sent again
        assert server.batch.lines_answered == 100
        assert server.requests_by_path["/v1/messages"] == 0
    judgments = [j for j in RunStore.open(run).judgments.latest() if j.judge.name != "first"]
    assert len(judgments) == 100 and all(j.status == "ok" for j in judgments)
    calls = [c for j in judgments for c in j.calls]
    assert all(c.batched for c in calls)
    # No call paid twice: one spend line per request, at the batch price.
    spent = [e for e in JsonlLog(run / "spend.jsonl", SpendEntry) if e.endpoint == spec]
    assert sorted(e.request_hash or "" for e in spent) == sorted(c.request_hash for c in calls)
    price = lookup_price("claude-haiku-4-5")
    assert price is not None
    batch_cost = sum(price.cost(c.usage) for c in calls) / 2
    assert sum(e.cost_usd or 0.0 for e in spent) == pytest.approx(batch_cost)
    assert (
        "100 call(s) went through the provider's batch API, priced at its batch rate: "
        f"${batch_cost:.4f}" in " ".join(out.split())
    )


def test_batched_calls_of_unknown_cost_are_said_apart_not_summed_as_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch whose lines carry no usage: the rejudge said the batched calls cost $0.0000."""
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    verdict = {"rationale": "fits", "probabilities": {"A": 0.8, "B": 0.2}}
    with FakeOpenAIServer(reply=lambda body: FakeReply(json.dumps(verdict), usage=False)) as server:
        run = tmp_path / "run"
        assert main(["run", str(_experiment(tmp_path, server.base_url)), "--out", str(run)]) == 0
        capsys.readouterr()
        assert main(["rejudge", str(run), "--judge", "llm:batchjudge"]) == 0
        out = " ".join(capsys.readouterr().out.split())
    assert (
        "100 call(s) went through the provider's batch API, priced at its batch rate: "
        "$0.0000 + 100 call(s) of unknown cost" in out
    )
