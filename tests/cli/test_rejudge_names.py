"""`oversight rejudge` as a user types it, over real HTTP against a fake OpenAI server: a
second re-judging under a judge name an earlier one used with other settings is refused
before any request (it would replace the first in the report); with its own name it runs,
and the report compares the judges on the same transcripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.cli import main
from oversight.testing import FakeOpenAIServer
from tests.cli.test_retry_failed_cli import ITEMS, KEY_VARIABLE, Judge, experiment_file
from transcripts import TornRecordWarning


def test_a_judge_name_taken_by_other_settings_is_refused_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "test")
    judge = Judge(broken=False)
    out = tmp_path / "run"
    with FakeOpenAIServer(reply=judge) as server:
        exp = experiment_file(tmp_path, server)
        assert main(["run", str(exp), "--out", str(out), "--no-progress", "--no-report"]) == 0
        # The default name of `llm:weak` is its model, openai/weak-model.
        assert main(["rejudge", str(out), "--judge", "llm:weak"]) == 0
        capsys.readouterr()
        asked, log = judge.asked, (out / "judgments.jsonl").read_bytes()

        # Same model, other options: the same default name. Refused, nothing sent or written.
        assert main(["rejudge", str(out), "--judge", "llm:weak,samples=3"]) == 1
        err = " ".join(capsys.readouterr().err.split())
        assert "judge name 'openai/weak-model' is already used" in err
        assert f"{ITEMS} re-judgment(s) with --judge 'llm:weak'" in err
        assert "--judge 'llm:weak,samples=3' would be filed under the same name" in err
        assert "--judge 'llm:weak,samples=3,name=NAME'" in err
        assert judge.asked == asked and (out / "judgments.jsonl").read_bytes() == log

        # The name of the run's own judge, with other settings: refused too.
        taken = "llm:weak,samples=3,name=weak-judge"
        assert main(["rejudge", str(out), "--judge", taken]) == 1
        err = " ".join(capsys.readouterr().err.split())
        assert "judge name 'weak-judge' is already used" in err
        assert "the run's judge judges[0] (llm, endpoint 'weak')" in err
        # The way out offered replaces the name given (it added a second name=, an error).
        assert "--judge 'llm:weak,samples=3,name=NAME'" in err and "name=weak-judge," not in err
        assert judge.asked == asked and (out / "judgments.jsonl").read_bytes() == log

        # The same settings again, spelled out or not, are the same judge: not refused.
        assert main(["rejudge", str(out), "--judge", "llm:weak"]) == 0
        assert main(["rejudge", str(out), "--judge", "llm:weak,samples=1"]) == 0
        capsys.readouterr()

        # With a name of its own it runs.
        assert main(["rejudge", str(out), "--judge", "llm:weak,samples=3,name=weak-x3"]) == 0
        assert judge.asked > asked
    capsys.readouterr()
    assert main(["report", str(out), "--json", "--bootstrap", "50"]) == 0
    report = json.loads(capsys.readouterr().out)
    pairs = {(c["judge_a"], c["judge_b"]): c["n_pairs"] for c in report["judge_comparisons"]}
    assert pairs == {
        ("openai/weak-model", "weak-judge"): ITEMS,
        ("openai/weak-model", "weak-x3"): ITEMS,
        ("weak-judge", "weak-x3"): ITEMS,
    }


def test_the_refusal_holds_when_the_judgments_log_ends_in_a_torn_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kill mid-write leaves a torn last line: the fast read gives up and the store's own
    reader (which skips it with a warning) finds the earlier re-judging all the same."""
    monkeypatch.setenv(KEY_VARIABLE, "test")
    judge = Judge(broken=False)
    out = tmp_path / "run"
    with FakeOpenAIServer(reply=judge) as server:
        exp = experiment_file(tmp_path, server)
        assert main(["run", str(exp), "--out", str(out), "--no-progress", "--no-report"]) == 0
        assert main(["rejudge", str(out), "--judge", "llm:weak"]) == 0
        with open(out / "judgments.jsonl", "a") as f:
            f.write('{"id": "torn", "judge": {"name": "openai/weak')
        capsys.readouterr()
        asked = judge.asked
        with pytest.warns(TornRecordWarning, match="cut short"):
            assert main(["rejudge", str(out), "--judge", "llm:weak,samples=3"]) == 1
        err = " ".join(capsys.readouterr().err.split())
        assert f"{ITEMS} re-judgment(s) with --judge 'llm:weak'" in err
        assert judge.asked == asked
