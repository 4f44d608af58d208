"""``oversight stress --finish-all`` where there is nothing to finish: a folder with no run
yet is refused before anything is sent, saying why and what to do; a folder of this
version runs as without the flag, and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.cli import main
from oversight.endpoints._cache import close_caches
from oversight.testing import FAKE_KEY_VARIABLE, FakeOpenAIServer, scripted_verdict

from .test_stress_run_cost import _experiment


@pytest.mark.parametrize("made", [False, True])
def test_finish_all_in_a_folder_with_no_run_is_refused_and_sends_nothing(
    made: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    with FakeOpenAIServer(reply=scripted_verdict) as server:
        path = _experiment(tmp_path, server)
        run = tmp_path / "fresh"
        if made:
            run.mkdir()  # an empty folder, made by hand
        assert main(["stress", str(path), "--out", str(run), "--finish-all"]) == 1
    assert not server.requests
    err = " ".join(capsys.readouterr().err.split())
    assert f"{run} holds no run yet, so there is nothing to finish and nothing was run" in err
    assert "name its folder with --out DIR" in err and "without --finish-all" in err
    assert not run.exists() or not any(run.iterdir())


def test_finish_all_in_a_folder_of_this_version_runs_as_without_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    with FakeOpenAIServer(reply=scripted_verdict) as server:
        path = _experiment(tmp_path, server)
        run = tmp_path / "run"
        assert main(["stress", str(path), "--out", str(run), "--no-progress"]) == 0
        close_caches()
        capsys.readouterr()
        assert main(["stress", str(path), "--out", str(run), "--no-progress", "--finish-all"]) == 0
        close_caches()
    out = " ".join(capsys.readouterr().out.split())
    assert "--finish-all: this folder was not begun by an older version" in out
    assert (run / "reports" / "stress.json").is_file()
