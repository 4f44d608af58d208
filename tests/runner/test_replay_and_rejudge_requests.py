"""Replay and re-judging as a researcher relies on them, checked on the requests a fake
OpenAI server received over real HTTP: a replay reproduces the run with no request (and a
replay of a changed experiment is refused before anything is written), and a re-judge is
shown exactly what the run's judge was shown for the same transcript."""

from __future__ import annotations

import hashlib
import json
import re
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
    tag = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
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


_ACCOUNTING = {"run_id", "created_at", "time_s", "cached", "usage", "cost_usd"}
_ACCOUNTING |= {"latency_s", "queued_s"}
"""What a replay does not reproduce, as docs/guide/rejudge.md says: the run's identity and
times, and each call's accounting (answered by the cache: nothing paid)."""


def _records(path: Path) -> dict[str, Any]:
    """Each record by id, without what a replay does not reproduce."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _ACCOUNTING}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    records = [json.loads(line) for line in path.read_text().splitlines()]
    return {r["id"]: strip(r) for r in records}


def test_a_replay_reproduces_every_record_but_its_accounting_with_no_request(
    tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, server)
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    server.reset()
    replay = ["--out", str(tmp_path / "replay"), "--replay", str(tmp_path / "run")]
    assert main(["run", str(path), *replay, "--no-progress", "--no-report"]) == 0
    assert server.total_requests == 0
    assert "0 calls sent, 96 from the cache" in capsys.readouterr().out
    for name in ("transcripts.jsonl", "judgments.jsonl"):
        original, again = _records(tmp_path / "run" / name), _records(tmp_path / "replay" / name)
        assert again == original, name
    quotes = [
        q["verified"]
        for t in _records(tmp_path / "replay" / "transcripts.jsonl").values()
        for u in t["turns"]
        for q in u["quotes"]
    ]
    assert True in quotes and False in quotes, "verified and unverified quotes, both replayed"
    assert not (tmp_path / "replay" / "spend.jsonl").exists()


def _tags(text: str) -> set[str]:
    return set(re.findall(r"Argument [0-9a-f]{12}", text))


async def test_a_rejudge_is_shown_what_the_runs_judge_was_shown(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    """Same transcripts, judge B: every request judge B got is the request the run's judge
    got for the same transcript (answers in the same order, quotes with the same verified
    marks, every round), but for the model's name."""
    ran = await run_experiment_async(_file(tmp_path, server), out=tmp_path / "run", progress=False)
    assert ran.status == "complete"
    original = _judge_asks(list(server.requests), "weak-model")
    server.reset()
    result = await rejudge_async(tmp_path / "run", "llm:second")
    assert result.judged == 32 and result.failed == 0
    again = _judge_asks(list(server.requests), "second-judge")
    assert sum(again.values()) == 32 and again == original
    shown = " ".join(again)
    assert "[verified]" in shown and "[unverified]" in shown


async def test_a_rejudge_of_the_first_rounds_is_shown_only_those_rounds(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    await run_experiment_async(_file(tmp_path, server), out=tmp_path / "run", progress=False)
    server.reset()
    result = await rejudge_async(tmp_path / "run", "llm:second", rounds=1, conditions=["debate"])
    assert result.judged == 8 and all(j.rounds_seen == 1 for j in result.judgments)
    asked = [json.dumps(r.body) for r in server.requests]
    assert len(asked) == 8
    store = RunStore.open(tmp_path / "run")
    for transcript in store.transcripts.latest():
        if transcript.condition != "debate":
            continue
        rounds = sorted({u.round for u in transcript.turns})
        assert len(rounds) == 2
        first = _tags(" ".join(u.content for u in transcript.turns if u.round == rounds[0]))
        later = _tags(" ".join(u.content for u in transcript.turns if u.round != rounds[0]))
        assert first and later
        [request] = [a for a in asked if first <= _tags(a)]
        assert not later & _tags(request), "a later round was shown"
    store.close()


RUNS = Path(__file__).parents[1] / "data" / "runs"
QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart.toml"


def _at(server: FakeOpenAIServer) -> Any:
    """Every judge endpoint a rejudge builds, as judge B at the fake server."""

    def make(spec: str, **options: Any) -> Endpoint:
        options.pop("pricing", None)
        return endpoint("openai/judge-b", base_url=server.base_url, api_key="test", **options)

    return make


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_an_older_runs_transcripts_are_rejudged_with_the_view_a_fresh_run_gives(
    tmp_path: Path, server: FakeOpenAIServer, version: str
) -> None:
    """A run written by an older schema (tests/data/runs), re-judged today: every complete
    transcript is judged, and each whose turns a fresh run of the same experiment
    reproduces is shown to the judge exactly as the fresh one is."""
    old = tmp_path / version
    shutil.copytree(RUNS / f"{version}-quickstart", old)
    fresh = tmp_path / "fresh"
    ran = await run_experiment_async(QUICKSTART, out=fresh, progress=False)
    assert ran.status == "complete"

    def said(run: Path) -> dict[str, Any]:
        store = RunStore.open(run)
        turns = {
            t.id: [(u.round, u.speaker, u.visibility, u.content) for u in t.turns]
            for t in store.transcripts.latest()
            if t.status == "complete"
        }
        store.close()
        return turns

    before, now = said(old), said(fresh)
    alike = sorted(i for i in before if now.get(i) == before[i])
    assert len(alike) >= 24, "at least the unassisted and expert transcripts are alike"
    asked: dict[Path, Counter[str]] = {}
    for run in (old, fresh):
        done = await rejudge_async(run, "llm:mock/b", ids=alike, endpoint_factory=_at(server))
        assert done.judged == len(alike)
        asked[run] = _judge_asks(list(server.requests), "judge-b")
        server.reset()
    assert asked[old] == asked[fresh] and sum(asked[old].values()) == len(alike)
    # And the rest of the older run's transcripts: each judged once, nothing failed.
    rest = await rejudge_async(old, "llm:mock/b", endpoint_factory=_at(server))
    assert (rest.judged, rest.skipped, rest.failed) == (len(before) - len(alike), len(alike), 0)


def test_failed_rejudgments_are_asked_again_only_with_retry_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Judge B refused some transcripts: running the same rejudge again re-sent (and paid
    for) every failed one unasked, on the same calls, with no mark of the attempt. As in
    ``oversight run``, a failed judgment now stays as recorded (the command says so) until
    ``--retry-failed`` asks again, on fresh calls, marked as the second attempt; the report
    counts one judgment of judge B per transcript."""
    from oversight import rejudge
    from oversight.analysis import analyze
    from oversight.runner import run_experiment
    from oversight.testing import Fault

    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    refuse = {"on": True}

    def reply(body: dict[str, Any]) -> Any:
        if body.get("model") == "second-judge" and refuse["on"] and "ledger" in json.dumps(body):
            return Fault.bad_request("scripted: judge B refuses this one")
        return scripted_verdict(body)

    run = tmp_path / "run"
    command = ["rejudge", str(run), "--judge", "llm:second"]
    with FakeOpenAIServer(reply=reply) as server:
        ran = run_experiment(_file(tmp_path, server), out=run, progress=False, summary=False)
        assert ran.status == "complete"
        server.reset()
        first = rejudge(run, "llm:second")
        failed = first.failed
        assert 0 < failed < 32 and first.judged == 32
        refuse["on"] = False
        server.reset()
        capsys.readouterr()
        assert main(command) == 0
        said = " ".join(capsys.readouterr().out.split())
        assert server.total_requests == 0, "a failed judgment was asked again unasked"
        assert f"0 new judgment(s) (0 failed), {32 - failed} already judged" in said
        assert f"{failed} judgment(s) of this judge failed before and are left as" in said
        assert "--retry-failed asks them again" in said
        assert main([*command, "--retry-failed"]) == 0
        assert f"{failed} new judgment(s) (0 failed)" in capsys.readouterr().out
        assert server.total_requests == failed
        again = rejudge(run, "llm:second", retry_failed=True)
        assert (again.judged, again.skipped, again.failed_left) == (0, 32, 0)
        assert server.total_requests == failed
    store = RunStore.open(run)
    mine = [j for j in store.judgments if j.judge.name != "weak-judge"]
    store.close()
    assert len(mine) == 32 + failed  # one record per attempt
    assert sum(j.metadata.get("attempt") == 2 and j.status == "ok" for j in mine) == failed
    report = analyze(run)
    rows = [g for g in report.groups if "openai/second-judge" in g.label]
    assert sum(g.n for g in rows) == 32 and sum(g.n_failed for g in rows) == 0
