"""Replay and re-judging as a researcher relies on them, checked on the requests a fake
OpenAI server received over real HTTP: a replay reproduces the run with no request (and a
replay of a changed experiment is refused before anything is written), and a re-judge is
shown exactly what the run's judge was shown for the same transcript."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oversight import rejudge_async
from oversight.cli import main
from oversight.endpoints import Endpoint, endpoint
from oversight.runner import run_experiment_async
from oversight.testing import (
    FAKE_KEY_VARIABLE,
    FakeOpenAIServer,
    RecordedRequest,
    fake_experiment,
    scripted_verdict,
)
from transcripts import RunStore

SAID = "The ledger recorded every ship that passed the point"
"""A sentence of the sample story ``lighthouse``: quoted, it is verified there."""
INVENTED = "the keeper burned the ledger"
"""Quoted, it is in no story: unverified."""


def speak(body: dict[str, Any]) -> Any:
    """A verdict where one is asked; otherwise a speech, distinct per request, quoting one
    sentence of the story and one invented."""
    verdict = scripted_verdict(body)
    if verdict is not None:
        return verdict
    tag = f"{len(json.dumps(body)):06d}"
    return f"Argument {tag}: <quote>{SAID}</quote> yet <quote>{INVENTED}</quote>."


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    with FakeOpenAIServer(reply=speak) as fake:
        yield fake


def _file(tmp_path: Path, server: FakeOpenAIServer, name: str = "fake.toml") -> Path:
    path = tmp_path / name
    path.write_text(fake_experiment(server.base_url, protocol_options={"resamples": 0}))
    return path


def _judge_asks(requests: list[RecordedRequest], model: str) -> Counter[str]:
    """What the judge of ``model`` was shown, one entry per request: everything it was
    sent but the model's name."""
    return Counter(
        json.dumps({k: v for k, v in (r.body or {}).items() if k != "model"}, sort_keys=True)
        for r in requests
        if (r.body or {}).get("model") == model
    )


def test_replay_of_a_changed_experiment_is_refused_before_anything_is_written(
    tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A replay answers every call from the run's cache: with another judge model, every
    judgment failed as a cache miss (`stopped: too many failures`, a run folder of failed
    judgments) and nothing said that the experiment differed. It is refused up front,
    naming what changed and what to do, and no folder is made."""
    path = _file(tmp_path, server)
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    capsys.readouterr()
    server.reset()
    changed = tmp_path / "changed.toml"
    changed.write_text(path.read_text().replace('"openai/weak-model"', '"openai/weak-model-2"'))
    replay = ["--out", str(tmp_path / "replay"), "--replay", str(tmp_path / "run")]
    assert main(["run", str(changed), *replay, "--no-progress"]) == 1
    said = " ".join(capsys.readouterr().err.split())
    assert "is not the experiment" in said and str(tmp_path / "run") in said, said
    assert "endpoints.weak.spec: 'openai/weak-model' -> 'openai/weak-model-2'" in said, said
    assert "--offline" in said, "it says how to reproduce what the cache still answers"
    assert not (tmp_path / "replay").exists() and server.total_requests == 0
    # Only [limits] may differ, as on a resume: the replay then reproduces the run.
    limited = tmp_path / "limited.toml"
    limited.write_text(path.read_text().replace("concurrency = 4", "concurrency = 2"))
    assert main(["run", str(limited), *replay, "--no-progress", "--no-report"]) == 0
    assert server.total_requests == 0
