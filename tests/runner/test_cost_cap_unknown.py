"""``--max-cost`` holds when a call's cost is not reported: replies without token counts
count at the most they can have cost, and an endpoint with no price is refused up front."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oversight.cli import main
from oversight.testing import (
    FAKE_KEY_VARIABLE,
    FakeOpenAIServer,
    FakeReply,
    fake_experiment,
    scripted_verdict,
)


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")


def scripted(body: dict[str, Any], *, usage: bool = True) -> Any:
    verdict = scripted_verdict(body)
    return FakeReply(json.dumps(verdict) if verdict else "An argument.", usage=usage)


def no_usage(body: dict[str, Any]) -> Any:
    return scripted(body, usage=False)


def experiment(tmp_path: Path, server: FakeOpenAIServer, *, unpriced: str | None = None) -> Path:
    text = fake_experiment(server.base_url, protocol_options={"resamples": 0})
    if unpriced is not None:  # that endpoint's table loses its price (its model has none)
        head, _, rest = text.partition(f"[endpoints.{unpriced}]")
        table, sep, tail = rest.partition("[")
        table = table.replace("pricing = { input = 1.0, output = 2.0 }\n", "")
        text = f"{head}[endpoints.{unpriced}]{table}{sep}{tail}"
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return path


def ledger(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "spend.jsonl").read_text().splitlines()]


def test_replies_without_token_counts_count_toward_the_cap_and_stop_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server that reports no usage: ``--max-cost`` only warned and the run spent on to
    the end. Now each such call counts at the most it can have cost (its prompt counted
    here, all of max_tokens for the reply), the run stops at the budget, and the summary
    says the figure is an estimate."""
    with FakeOpenAIServer(reply=no_usage) as fake:
        path, out = experiment(tmp_path, fake), tmp_path / "run"
        assert main(["run", str(path), "--out", str(out), "--no-report"]) == 0
        whole = fake.total_requests
        fake.reset()
        capped = tmp_path / "capped"
        code = main(["run", str(path), "--out", str(capped), "--max-cost", "0.01", "--no-report"])
        sent = fake.total_requests
        # A resume counts the earlier session's estimates against the cap: nothing is sent.
        fake.reset()
        resumed = main(["run", str(path), "--out", str(capped), "--max-cost", "0.01"])
        assert resumed == 3 and fake.total_requests == 0
    assert code == 3 and 0 < sent < whole
    lines = ledger(capped)
    assert len(lines) == sent and all(line["cost_usd"] is None for line in lines)
    bounds = [line["estimated_usd"] for line in lines]
    # The run stopped once the bounds reached the budget (calls in flight then finished).
    assert all(b > 0 for b in bounds)
    assert 0.01 <= sum(bounds) < 0.01 + 8 * max(bounds)
    printed = " ".join(capsys.readouterr().out.split())
    assert "stopped: cost cap" in printed
    estimated = f"≤${sum(bounds):.4f} estimated for {sent} call(s) without token counts"
    assert f"spend $0.0000 + {estimated}" in printed
    assert "cost cap counts each at the most it can have cost" in printed
    status = json.loads((capped / "status.json").read_text())
    assert (status["estimated_calls"], status["unknown_cost_calls"]) == (sent, 0)
    assert status["estimated_usd"] == pytest.approx(sum(bounds))


def test_a_cost_cap_on_an_endpoint_with_no_price_is_refused_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An endpoint whose model has no known price: the cap only warned and could not count
    its calls. Now the run refuses to start, naming the endpoint and how to price it."""
    with FakeOpenAIServer(reply=scripted) as fake:
        path, out = experiment(tmp_path, fake, unpriced="weak"), tmp_path / "run"
        code = main(["run", str(path), "--out", str(out), "--max-cost", "5"])
        assert fake.total_requests == 0
        error = " ".join(capsys.readouterr().err.split())
        # Without a cap the same run goes, its unknown costs said apart.
        assert main(["run", str(path), "--out", str(out), "--no-report"]) == 0
        assert fake.total_requests > 0
    assert code == 1
    assert "no price is known for endpoint 'weak' (openai/weak-model)" in error
    assert "pricing = { input = ..., output = ... }" in error and "without a cost cap" in error
    assert "call(s) of unknown cost" in " ".join(capsys.readouterr().out.split())


async def test_a_rejudge_cost_cap_on_a_judge_with_no_price_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oversight import rejudge_async
    from oversight.errors import ConfigError
    from oversight.runner import run_experiment_async

    with FakeOpenAIServer(reply=scripted) as fake:
        await run_experiment_async(experiment(tmp_path, fake), out=tmp_path / "run", progress=False)
        fake.reset()
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        with pytest.raises(ConfigError, match="no price is known for endpoint 'openai/mystery'"):
            await rejudge_async(tmp_path / "run", "llm:openai/mystery", max_cost_usd=1.0)
        assert fake.total_requests == 0
