"""``batch = true`` is per call site: in a debate experiment only the opening round (spoken
at once) and the judges' verdicts wait in a provider batch; the later rounds go through the
standard API at the standard price. Over real HTTP, the real SDKs, the fake servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oversight.cli import main
from oversight.endpoints._pricing import lookup_price
from oversight.runner import dry_run, run_experiment
from oversight.runner._usage import usage_by_condition
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer, FakeServer
from transcripts import RunStore

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
STANDARD_PATH = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


def _schema(body: dict[str, Any]) -> dict[str, Any]:
    openai = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
    anthropic = ((body.get("output_config") or {}).get("format") or {}).get("schema")
    return openai or anthropic or {}


def script(body: dict[str, Any]) -> Any:
    """A verdict where one is asked for; the server's echo for a speech."""
    probabilities = _schema(body).get("properties", {}).get("probabilities")
    if probabilities is None:
        return None
    first, second = list(probabilities["properties"])
    return {"rationale": "scripted", "probabilities": {first: 0.7, second: 0.3}}


def experiment(tmp_path: Path, provider: str, base_url: str, *, batch: bool = True) -> Path:
    path = tmp_path / f"{provider}.toml"
    path.write_text(
        f"""
name = "batch-sites"
[dataset]
loader = "sample"
limit = 2
[endpoints.model]
spec = "{provider}/{MODELS[provider]}"
base_url = "{base_url}"
api_key_env = "FAKE_KEY"
batch = {str(batch).lower()}
options = {{ batch_window = 0.05, batch_poll_interval = 0.01, retry_backoff = 0 }}
[[conditions]]
label = "unassisted"
protocol = "unassisted"
[[conditions]]
label = "debate"
protocol = "debate"
roles = {{ debater = "model" }}
options = {{ rounds = 2, resamples = 0, simultaneous = true }}
[[judges]]
kind = "llm"
name = "judge"
endpoint = "model"
"""
    )
    return path


def batched_bodies(server: FakeServer) -> list[dict[str, Any]]:
    """The request bodies the fake server received inside batches."""
    if isinstance(server, FakeOpenAIServer):
        bodies = []
        for batch in server.batch.batches.values():
            lines = server.batch.files[batch.input_file_id].decode().splitlines()
            bodies += [json.loads(line)["body"] for line in lines]
        return bodies
    assert isinstance(server, FakeAnthropicServer)
    return [r["params"] for b in server.batch.batches.values() for r in b["requests"]]


def _round(body: dict[str, Any]) -> int | None:
    """The debate round a speech request asks for (None for a verdict)."""
    text = json.dumps(body)
    for r in (1, 2):
        if f"This is round {r} of 2" in text:
            return r
    return None


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_opening_round_and_verdicts_go_in_batches_later_rounds_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    monkeypatch.setenv("FAKE_KEY", "test")
    fake = FakeOpenAIServer if provider == "openai" else FakeAnthropicServer
    with fake(reply=script) as server:
        base_url = server.base_url
        result = run_experiment(experiment(tmp_path, provider, base_url), out=tmp_path / "run")
        batched = batched_bodies(server)
        standard = [r.body for r in server.requests if r.path == STANDARD_PATH[provider]]
    assert result.status == "complete", result.message
    store = RunStore.open(tmp_path / "run")
    transcripts = list(store.transcripts.latest())
    debates = sum(t.condition == "debate" for t in transcripts)
    assert debates > 0 and len(transcripts) > debates
    # What the server received: opening speeches and every verdict in batches, ...
    assert sorted(_round(b) or 0 for b in batched) == [0] * len(transcripts) + [1] * 2 * debates
    # ... the second round's speeches (which read the first) through the standard API.
    assert [_round(b) for b in standard] == [2] * 2 * debates
    # The records say the same, and price each call at its own rate.
    price = lookup_price(MODELS[provider])
    assert price is not None
    for t in transcripts:
        for turn in t.turns:
            assert turn.call is not None and turn.call.batched is (turn.round == 0)
            rate = 0.5 if turn.round == 0 else 1.0
            assert turn.call.cost_usd == pytest.approx(price.cost(turn.call.usage) * rate)
    verdicts = [c for j in store.judgments.latest() for c in j.calls]
    assert len(verdicts) == len(transcripts) and all(c.batched for c in verdicts)
    usage = usage_by_condition(tmp_path / "run")
    assert (usage["debate"].calls, usage["debate"].batched_calls) == (5 * debates, 3 * debates)
    opening = [u.call for t in transcripts for u in t.turns if u.call and u.round == 0]
    debate_ids = {t.id for t in transcripts if t.condition == "debate"}
    judged = [c for j in store.judgments.latest() if j.transcript_id in debate_ids for c in j.calls]
    saved = sum(price.cost(c.usage) / 2 for c in [*opening, *judged])
    assert usage["debate"].batch_saved_usd == pytest.approx(saved)
    unassisted = len(transcripts) - debates
    assert (usage["unassisted"].calls, usage["unassisted"].batched_calls) == (unassisted,) * 2


def test_dry_run_saves_only_on_the_batchable_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    estimates = {}
    for batch in (True, False):
        path = experiment(tmp_path, "openai", "http://127.0.0.1:9/v1", batch=batch)
        rehearsal = dry_run(str(path), out=tmp_path / f"dry-{batch}")
        [estimates[batch]] = [e for e in rehearsal.endpoints if e.name == "model"]
    transcripts = list(RunStore.open(tmp_path / "dry-True").transcripts.latest())
    debates = sum(t.condition == "debate" for t in transcripts)
    batched, standard = estimates[True], estimates[False]
    # Opening speeches and verdicts may wait in a batch; the second round may not.
    assert batched.calls == standard.calls == len(transcripts) + 4 * debates
    assert batched.batched_calls == len(transcripts) + 2 * debates
    assert standard.batched_calls == 0 and standard.batch_saving_usd is None
    assert batched.cost_usd is not None and standard.cost_usd is not None
    assert batched.batch_saving_usd == pytest.approx(standard.cost_usd - batched.cost_usd)
    # Half of the batched share only: less than half of the whole bill.
    assert 0 < batched.batch_saving_usd < standard.cost_usd / 2
    capsys.readouterr()
    assert main(["run", str(tmp_path / "openai.toml"), "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "model has batch = true" not in out  # the file now says batch = false
    path = experiment(tmp_path, "openai", "http://127.0.0.1:9/v1", batch=True)
    assert main(["run", str(path), "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        f"model has batch = true: {batched.batched_calls} of {batched.calls} call(s) can wait "
        f"in a batch, priced at the batch rate, saving ${batched.batch_saving_usd:.4f} "
        "against standard prices (the others are sent at once, at the standard price)"
    ) in out
