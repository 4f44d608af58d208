"""`oversight run --retry-failed` as a user types it: a run whose judge fails (over real HTTP
against a fake OpenAI server), then a resume that asks the judge again with fresh calls and
leaves one record per attempt, never a duplicate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oversight.cli import main
from oversight.testing import FakeOpenAIServer

KEY_VARIABLE = "FAKE_OPENAI_KEY"
ITEMS = 4
"""2 questions x the unassisted condition's 2 answer orders."""


class Judge:
    """Verdicts whose probabilities are all zero (schema-valid, unusable) while ``broken``."""

    def __init__(self, *, broken: bool = True) -> None:
        self.broken = broken
        self.asked = 0

    def __call__(self, body: dict[str, Any]) -> Any:
        schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema", {})
        probabilities = schema.get("properties", {}).get("probabilities")
        if probabilities is None:
            return None
        self.asked += 1
        labels = list(probabilities["properties"])
        if self.broken:
            return {"rationale": "?", "probabilities": dict.fromkeys(labels, 0.0)}
        return {
            "rationale": "ok",
            "probabilities": {
                label: 0.8 if i == 0 else 0.2 / (len(labels) - 1) for i, label in enumerate(labels)
            },
        }


def experiment_file(tmp_path: Path, server: FakeOpenAIServer) -> Path:
    """Two sample questions, unassisted, judged by ``weak-judge`` (an LLM judge on the fake
    server's ``openai/weak-model``, priced); judgments may all fail without stopping."""
    path = tmp_path / "exp.toml"
    path.write_text(f"""
name = "retry-failed"
[dataset]
loader = "sample"
limit = 2
[endpoints.weak]
spec = "openai/weak-model"
base_url = "{server.base_url}"
api_key_env = "{KEY_VARIABLE}"
pricing = {{ input = 1.0, output = 2.0 }}
[[conditions]]
label = "unassisted"
protocol = "unassisted"
[[judges]]
kind = "llm"
name = "weak-judge"
endpoint = "weak"
[limits]
max_judgment_failure_fraction = 1.0
""")
    return path


def _records(out: Path) -> list[dict[str, Any]]:
    lines = (out / "judgments.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_run_retry_failed_asks_failed_judges_again_with_fresh_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "test")
    judge = Judge()
    out = tmp_path / "run"
    with FakeOpenAIServer(reply=judge) as server:
        exp = experiment_file(tmp_path, server)
        command = ["run", str(exp), "--out", str(out), "--no-progress", "--no-report"]
        assert main(command) == 0  # complete with errors: the items are complete
        said = capsys.readouterr().out
        assert "--retry-failed" in said
        status = json.loads((out / "status.json").read_text())
        assert (status["items_complete"], status["judgments_failed"]) == (ITEMS, ITEMS)
        first = _records(out)
        assert len(first) == ITEMS and all(r["status"] == "failed" for r in first)
        assert judge.asked > 0

        # The model is fixed; a plain resume neither asks again nor replays the failures.
        judge.broken = False
        asked = judge.asked
        assert main(command) == 0
        capsys.readouterr()
        assert judge.asked == asked and len(_records(out)) == ITEMS

        # --retry-failed asks again over the wire (a replayed cache would fail again).
        assert main([*command, "--retry-failed"]) == 0
        assert judge.asked == asked + ITEMS
        status = json.loads((out / "status.json").read_text())
        assert status["status"] == "complete" and status["judgments_failed"] == 0
        records = _records(out)
        assert len(records) == 2 * ITEMS and len({r["id"] for r in records}) == ITEMS
        assert sorted(r["status"] for r in records) == ["failed"] * ITEMS + ["ok"] * ITEMS

        # Settled: a further --retry-failed sends nothing and writes nothing.
        assert main([*command, "--retry-failed"]) == 0
        assert judge.asked == asked + ITEMS and len(_records(out)) == 2 * ITEMS
