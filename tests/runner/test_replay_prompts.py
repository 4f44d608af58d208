"""A replay after a later oversight changed a prompt: refused up front, naming the roles
whose prompts changed, instead of failing every call they make as a cache miss. Runs made
before prompts were recorded still replay, saying once that their prompts cannot be
checked."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import judges.prompts
import protocols.prompts.debate
from oversight import rejudge_async
from oversight.cli import main
from oversight.testing import FAKE_KEY_VARIABLE, FakeOpenAIServer, fake_experiment, scripted_verdict
from transcripts import RunStore
from transcripts.errors import ConfigError


def _reply(body: dict[str, object]) -> object:
    verdict = scripted_verdict(body)
    return verdict if verdict is not None else "I argue for my answer."


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeOpenAIServer, Path]]:
    """One fake server for the module, and a run finished against it once (the tests get
    copies): its folder holds the run's response cache, which its replays read."""
    folder = tmp_path_factory.mktemp("finished")
    with pytest.MonkeyPatch.context() as env, FakeOpenAIServer(reply=_reply) as fake:
        env.setenv(FAKE_KEY_VARIABLE, "test")
        env.setenv("OVERSIGHT_CACHE", str(folder / "cache" / "responses.sqlite"))
        path = folder / "fake.toml"
        path.write_text(fake_experiment(fake.base_url, protocol_options={"resamples": 0}))
        assert main(["run", str(path), "--out", str(folder / "run"), "--no-progress"]) == 0
        yield fake, folder


@pytest.fixture
def server(
    finished: tuple[FakeOpenAIServer, Path], monkeypatch: pytest.MonkeyPatch
) -> FakeOpenAIServer:
    """The module's fake server, its counters at zero."""
    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    finished[0].reset()
    return finished[0]


@pytest.fixture
def ran(tmp_path: Path, finished: tuple[FakeOpenAIServer, Path], server: FakeOpenAIServer) -> Path:
    """The experiment file of a finished run in ``tmp_path / "run"`` (a copy of the
    module's, made while nothing writes to it)."""
    shutil.copytree(finished[1] / "run", tmp_path / "run")
    path = tmp_path / "fake.toml"
    shutil.copy(finished[1] / "fake.toml", path)
    return path


def _replay(path: Path, tmp_path: Path) -> int:
    replay = ["--out", str(tmp_path / "replay"), "--replay", str(tmp_path / "run")]
    return main(["run", str(path), *replay, "--no-progress", "--no-report"])


def test_a_run_records_a_fingerprint_of_each_roles_prompts(ran: Path, tmp_path: Path) -> None:
    frozen = json.loads((tmp_path / "run" / "experiment.json").read_text())
    roles = frozen["prompts"]["roles"]
    assert set(roles) == {"consultancy:consultant", "debate:debater", "judge:weak-judge"}
    assert all(len(digest) == 64 for digest in roles.values())


def test_a_replay_after_a_prompt_changed_is_refused_before_any_request(
    ran: Path,
    tmp_path: Path,
    server: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before: every judgment and debate failed offline, one by one, as a cache miss. Now
    the replay is refused before its folder is made, naming the roles and what to do."""
    capsys.readouterr()
    monkeypatch.setattr(judges.prompts, "JUDGE_SYSTEM", judges.prompts.JUDGE_SYSTEM + " Be fair.")
    monkeypatch.setitem(judges.prompts._ROLE, "debate", judges.prompts._ROLE["debate"] + " Hm.")
    debater = protocols.prompts.debate.render_debater_system
    monkeypatch.setattr(
        protocols.prompts.debate,
        "render_debater_system",
        lambda **fields: debater(**fields) + "\nBe brief.",
    )
    assert _replay(ran, tmp_path) == 1
    said = " ".join(capsys.readouterr().err.split())
    assert "--replay: the prompts of debate:debater, judge:weak-judge are not the ones" in said
    assert "consultancy:consultant" not in said, "an unchanged role is not named"
    assert "the oversight version that made the run" in said and "without --replay" in said
    assert not (tmp_path / "replay").exists() and server.total_requests == 0


def test_an_unchanged_replay_says_nothing_about_prompts(
    ran: Path, tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert _replay(ran, tmp_path) == 0
    printed = capsys.readouterr()
    assert "prompts" not in printed.out + printed.err and server.total_requests == 0


def test_a_run_made_before_prompts_were_recorded_still_replays_saying_so_once(
    ran: Path, tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    frozen_at = tmp_path / "run" / "experiment.json"
    frozen = json.loads(frozen_at.read_text())
    del frozen["prompts"]  # as an oversight before the fingerprint wrote it
    frozen_at.write_text(json.dumps(frozen))
    capsys.readouterr()
    assert _replay(ran, tmp_path) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert printed.count("cannot be checked") == 1, printed
    assert "did not record its prompts" in printed
    assert server.total_requests == 0 and "0 calls sent" in printed


V3_RUN = Path(__file__).parents[1] / "data" / "runs" / "v3-critique-rrm"
CRITIQUE_RRM = Path(__file__).parents[2] / "examples" / "critique_rrm.toml"


def test_a_replay_of_a_run_written_by_the_previous_version_is_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tests/data/runs/v3-critique-rrm`` (schema 3, no prompt fingerprint) replays: its
    prompts cannot be checked, which is said, and the replay goes on."""
    old = tmp_path / "v3"
    shutil.copytree(V3_RUN, old)
    (old / "cache.sqlite").touch()  # the fixture keeps no response cache: an empty one
    small = CRITIQUE_RRM.read_text().replace("\nlimit = 8\n", "\nlimit = 2\n")
    small = small.replace("\nmax_per_source = 2 ", "\nmax_per_source = 1 ")
    experiment = tmp_path / "critique_rrm.toml"
    experiment.write_text(small)
    replay = ["--out", str(tmp_path / "replay"), "--replay", str(old), "--no-progress"]
    main(["run", str(experiment), *replay, "--no-report"])
    printed = capsys.readouterr()
    said = " ".join((printed.out + printed.err).split())
    assert "did not record its prompts" in said and "is not the experiment" not in said
    assert (tmp_path / "replay" / "experiment.json").is_file(), "the replay went on"


def test_an_offline_miss_names_what_differs_from_the_most_alike_cached_request(
    ran: Path,
    tmp_path: Path,
    server: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before: a miss named the endpoint and the key only, so which part of the request had
    changed was for the user to guess. Now an endpoint's first misses name the fields that
    differ from the most alike request the cache holds for it."""
    monkeypatch.setattr(judges.prompts, "JUDGE_SYSTEM", judges.prompts.JUDGE_SYSTEM + " Be fair.")
    monkeypatch.setitem(judges.prompts._ROLE, "debate", judges.prompts._ROLE["debate"] + " Hm.")
    again = tmp_path / "again"
    again.mkdir()
    with (  # a consistent copy, its write-ahead log included
        contextlib.closing(sqlite3.connect(tmp_path / "run" / "cache.sqlite")) as reader,
        contextlib.closing(sqlite3.connect(again / "cache.sqlite")) as writer,
    ):
        reader.backup(writer)
    capsys.readouterr()
    main(["run", str(ran), "--out", str(again), "--offline", "--no-progress", "--no-report"])
    assert server.total_requests == 0
    errors = [
        json.loads(line)["error"]
        for line in (again / "judgments.jsonl").read_text().splitlines()
        if json.loads(line)["status"] == "failed"
    ]
    assert len(errors) == 8, "the debate's judgments miss; the others' prompts are unchanged"
    explained = [e for e in errors if "the most alike cached request" in e]
    assert len(explained) == 3, "an endpoint's first three misses are explained"
    for error in explained:
        assert "of openai/weak-model differs in: system (from character" in error, error
        now = error.partition(", now ")[2]
        assert now.startswith("'... answers on purpose. Hm.\\nQuotes marked"), error
    assert all("key " in e and "run once online" in e for e in errors)


async def test_an_offline_rejudge_by_a_judge_whose_prompts_changed_is_refused(
    ran: Path, tmp_path: Path, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rejudge --offline`` with the settings of the run's judge is answered by the run's
    cache; after that judge's prompt changed, every judgment failed as a miss. It is refused
    before any call, naming the judge; with unchanged prompts it is answered, nothing sent."""
    done = await rejudge_async(tmp_path / "run", "llm:weak", offline=True, conditions=["debate"])
    assert (done.judged, done.failed, server.total_requests) == (8, 0, 0)
    monkeypatch.setattr(judges.prompts, "JUDGE_SYSTEM", judges.prompts.JUDGE_SYSTEM + " Be fair.")
    monkeypatch.setitem(judges.prompts._ROLE, "debate", judges.prompts._ROLE["debate"] + " Hm.")
    with pytest.raises(ConfigError) as refused:
        await rejudge_async(tmp_path / "run", "llm:weak,name=again", offline=True)
    said = str(refused.value)
    assert "has the settings of the run's judge 'weak-judge', whose prompts are not" in said
    assert "without --offline" in said and "Nothing was sent" in said
    assert server.total_requests == 0
    with RunStore.open(tmp_path / "run") as store:
        assert not [j for j in store.judgments.latest() if j.judge.name == "again"]


def test_a_resume_after_a_prompt_changed_is_refused_and_an_unchanged_one_goes_on(
    ran: Path,
    tmp_path: Path,
    server: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before: resuming under an oversight whose judge prompt had changed ran the missing
    items with the new prompt, mixing two sets of prompts in one run, silently."""
    run = tmp_path / "run"
    with RunStore.open(run) as store:
        judged = len(list(store.judgments))
    resume = ["run", str(ran), "--out", str(run), "--no-progress", "--no-report"]
    capsys.readouterr()
    assert main(resume) == 0  # unchanged prompts: resumed (nothing left to do)
    monkeypatch.setitem(judges.prompts._ROLE, "debate", judges.prompts._ROLE["debate"] + " Hm.")
    assert main(resume) == 1
    said = " ".join(capsys.readouterr().err.split())
    assert "the prompts of judge:weak-judge are not the ones this run began with" in said
    assert "would mix two sets of prompts in one run" in said
    assert server.total_requests == 0
    with RunStore.open(run) as store:
        assert len(list(store.judgments)) == judged


async def test_a_roles_requests_made_at_once_hash_the_same_in_any_order() -> None:
    """Before: a role's requests were hashed in arrival order, and a best-of-N player's
    drafts are scored while its opponent speaks, so a busy machine (the whole test suite)
    reordered them: a resume of an unchanged run was refused as if its prompts changed."""
    from oversight.runner._prompts import _Recorder

    hashes = []
    for order in (["Score draft 1.", "Score draft 2."], ["Score draft 2.", "Score draft 1."]):
        recorder = _Recorder()
        scorer = recorder("debate.bo2.vs.refined:preference")
        for prompt in order:
            await scorer.complete(prompt)
        hashes.append(recorder.hashes())
        await recorder.aclose()
    assert hashes[0] == hashes[1]


def test_a_run_whose_fingerprint_was_made_another_way_replays_saying_so_truly(
    ran: Path, tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run recorded by an earlier probe (version 1, which hashed requests in arrival
    order) is not compared; the note said its oversight 'did not record its prompts',
    which it did."""
    frozen_at = tmp_path / "run" / "experiment.json"
    frozen = json.loads(frozen_at.read_text())
    frozen["prompts"]["probe"] = 1
    frozen_at.write_text(json.dumps(frozen))
    capsys.readouterr()
    assert _replay(ran, tmp_path) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "did not record its prompts" not in printed
    assert "recorded its prompts another way" in printed and "cannot be checked" in printed
