"""An API key never reaches a file of the run: not the frozen spec, not a transcript's error
(even when the provider echoes the key back), not the ledgers or the status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oversight.experiment import load_experiment
from oversight.runner import run_experiment
from oversight.testing import FakeOpenAIServer, Fault
from transcripts.errors import ConfigError

KEY = "sk-test-Zq81-never-on-disk-4471"


def _reply(body: dict[str, Any]) -> Any:
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema", {})
    probabilities = schema.get("properties", {}).get("probabilities")
    if probabilities is not None:
        labels = list(probabilities["properties"])
        return {
            "rationale": "r",
            "probabilities": {label: 1.0 if i == 0 else 0.0 for i, label in enumerate(labels)},
        }
    if "Who started the ledger?" in json.dumps(body):
        # As real providers do: the refusal quotes the key it was sent.
        return Fault.bad_request(f"Incorrect API key provided: {KEY}")
    return None


def test_no_file_a_run_writes_holds_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_FAKE_KEY", KEY)
    with FakeOpenAIServer(reply=_reply) as server:
        experiment = load_experiment(
            {
                "name": "keys",
                "dataset": {"loader": "sample", "limit": 4},
                "endpoints": {
                    "strong": {
                        "spec": "openai/strong",
                        "base_url": server.base_url,
                        "api_key_env": "MY_FAKE_KEY",
                        "max_retries": 0,
                        "pricing": {"input": 1.0, "output": 1.0},
                    }
                },
                "conditions": [
                    {
                        "label": "consultancy",
                        "protocol": "consultancy",
                        "roles": {"consultant": "strong"},
                        "options": {"rounds": 1},
                    }
                ],
                "judges": [{"kind": "llm", "name": "judge", "endpoint": "strong"}],
                "limits": {"max_failure_fraction": 1.0},
            }
        )
        out = tmp_path / "run"
        result = run_experiment(experiment, out=out, progress=False, summary=False)
    assert result.items_failed > 0, "the provider's refusal (quoting the key) was recorded"
    assert any(r.api_key == KEY for r in server.requests), "the key was sent to the provider"
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {"experiment.json", "transcripts.jsonl", "spend.jsonl", "status.json"} <= {
        p.name for p in files
    }
    holding = [p.name for p in files if KEY.encode() in p.read_bytes()]
    assert holding == []
    errors = "".join(p.read_text() for p in files if p.name == "transcripts.jsonl")
    assert "Incorrect API key provided: ***" in errors


def test_a_key_in_a_python_built_experiment_is_refused() -> None:
    with pytest.raises(ConfigError) as refused:
        load_experiment(
            {
                "name": "keys",
                "endpoints": {"strong": {"spec": "openai/x", "options": {"api_key": KEY}}},
                "conditions": [{"label": "u", "protocol": "unassisted"}],
            }
        )
    assert "endpoints.strong.options.api_key" in str(refused.value)
    assert KEY not in str(refused.value)
