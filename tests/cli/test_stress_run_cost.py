"""What ``oversight stress`` pays for: the stressed conditions, their planted twins, nothing
else; over real HTTP against the fake OpenAI server, where each condition has its own speaker
and judge models, so every request names the condition it was sent for."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from oversight.cli import main
from oversight.endpoints._cache import close_caches
from oversight.experiment import load_experiment
from oversight.runner import run_experiment, stress_experiment
from oversight.testing import FAKE_KEY_VARIABLE, FakeOpenAIServer, scripted_verdict
from transcripts import RunStore

SPEAKERS = {"consultancy": "consultant", "debate": "debater", "critique": "critic"}


def _experiment(tmp_path: Path, server: FakeOpenAIServer) -> Path:
    """Unassisted, consultancy, debate and critique, each with its own models
    (``<condition>-speaker``, ``<condition>-judge``); ``[stress]`` stresses debate alone."""
    endpoints, conditions, judges = [], [], []
    for label in ("unassisted", *SPEAKERS):
        for kind in ("speaker", "judge"):
            endpoints.append(
                f'[endpoints.{label}-{kind}]\nspec = "openai/{label}-{kind}"\n'
                f'base_url = "{server.base_url}"\napi_key_env = "{FAKE_KEY_VARIABLE}"\n'
                "pricing = { input = 1.0, output = 2.0 }\n"
            )
        role = SPEAKERS.get(label)
        roles = f'{role} = "{label}-speaker"' + (
            ', answerer = "critique-speaker"' if label == "critique" else ""
        )
        conditions.append(
            f'[[conditions]]\nlabel = "{label}"\nprotocol = "{label}"\n'
            + (f"roles = {{ {roles} }}\n" if role else "")
            + f'judges = ["{label}-judge"]\n'
        )
        judges.append(
            f'[[judges]]\nkind = "llm"\nname = "{label}-judge"\nendpoint = "{label}-judge"\n'
        )
    path = tmp_path / "exp.toml"
    path.write_text(
        'name = "cost"\n[dataset]\nloader = "sample"\nlimit = 4\n'
        + "".join(endpoints + conditions + judges)
        + '[counterbalance]\norders = "identity"\n[limits]\nconcurrency = 1\n'
        + '[stress]\nconditions = ["debate"]\npersonas = ["quote-fabricator"]\n'
    )
    return path


def _models(server: FakeOpenAIServer) -> set[str]:
    return {str(r.body.get("model")) for r in server.requests}


def test_a_stress_run_of_one_condition_sends_nothing_for_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    with FakeOpenAIServer(reply=scripted_verdict) as server:
        path = _experiment(tmp_path, server)
        run = tmp_path / "run"
        assert main(["stress", str(path), "--out", str(run), "--no-progress"]) == 0
        close_caches()
    assert server.requests and _models(server) == {"debate-speaker", "debate-judge"}
    kept = {t.condition for t in RunStore.open(run).transcripts.latest()}
    assert kept == {"debate", "debate+quote-fabricator"}
    report = json.loads((run / "reports" / "stress.json").read_text())
    assert [(r["condition"], r["judge"]) for r in report["rows"]] == [("debate", "debate-judge")]
    out = " ".join(capsys.readouterr().out.split())
    assert "1 planted conditions besides the 1 benign ones (debate)" in out


def test_a_stress_run_begun_with_every_condition_resumes_and_sends_nothing_for_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run folder a stress run began in when it still ran every condition (here: that
    experiment, stopped at its cost cap part way) resumes with nothing lost or repeated."""
    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    with FakeOpenAIServer(reply=scripted_verdict) as server:
        path = _experiment(tmp_path, server)
        base = load_experiment(path)
        stressed = stress_experiment(base)
        twins = [c for c in stressed.conditions if c.plant is not None]
        old = stressed.model_copy(update={"conditions": [*base.conditions, *twins]})
        run = tmp_path / "run"
        first = run_experiment(old, out=run, progress=False, summary=False, max_cost_usd=0.05)
        close_caches()
        assert first.status == "stopped: cost cap"
        before = {t.id: t for t in RunStore.open(run).transcripts.latest()}
        done = Counter(t.condition for t in before.values())
        # Part way: every condition begun, none finished (4 questions; 2 setups a speaker).
        assert set(done) == {"unassisted", *SPEAKERS, "debate+quote-fabricator"}
        assert done["unassisted"] < 4 and done["consultancy"] < 8 and done["critique"] < 8
        server.reset()

        assert main(["stress", str(path), "--out", str(run), "--no-progress"]) == 0
        close_caches()
        resumed = list(server.requests)
        server.reset()
        # Resumed again: the run is complete, so nothing is sent at all.
        assert main(["stress", str(path), "--out", str(run), "--no-progress"]) == 0
        close_caches()
        assert server.requests == []
    server.requests[:] = resumed
    out = " ".join(capsys.readouterr().out.split())
    assert "resuming a stress run begun with every condition" in out
    assert "unassisted, consultancy, critique keep what they have" in out
    assert server.requests and _models(server) <= {"debate-speaker", "debate-judge"}
    after = {t.id: t for t in RunStore.open(run).transcripts.latest()}
    assert all(after[i] == t for i, t in before.items())  # nothing lost or re-run
    new = {after[i].condition for i in after.keys() - before.keys()}
    assert new and new <= {"debate", "debate+quote-fabricator"}
    report = json.loads((run / "reports" / "stress.json").read_text())
    assert [(r["condition"], r["judge"]) for r in report["rows"]] == [("debate", "debate-judge")]
    assert not report["warnings"]


def test_resuming_an_older_stress_folder_says_what_was_left_and_finishes_it_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resumed, a folder begun when stress runs ran every condition finishes the stress
    conditions alone; it used to say "complete · 8 of 8 items" (``oversight show``, the
    status file) while unassisted, consultancy and critique stayed part-done. Now the
    counts are the folder's, the message says what was left and how to finish it, and
    ``--finish-all`` finishes it."""
    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    with FakeOpenAIServer(reply=scripted_verdict) as server:
        path = _experiment(tmp_path, server)
        base = load_experiment(path)
        stressed = stress_experiment(base)
        twins = [c for c in stressed.conditions if c.plant is not None]
        old = stressed.model_copy(update={"conditions": [*base.conditions, *twins]})
        run = tmp_path / "run"
        run_experiment(old, out=run, progress=False, summary=False, max_cost_usd=0.05)
        close_caches()
        # 4 questions: unassisted 4 items, consultancy 8, critique 8; the stress ones 8.
        others = {"unassisted": 4, "consultancy": 8, "critique": 8}
        done = Counter(
            t.condition
            for t in RunStore.open(run).transcripts.latest()
            if t.status == "complete" and t.condition in others
        )
        left = sum(others.values()) - sum(done.values())
        capsys.readouterr()

        assert main(["stress", str(path), "--out", str(run), "--no-progress"]) == 0
        close_caches()
        out = " ".join(capsys.readouterr().out.split())
        status = json.loads((run / "status.json").read_text())
        assert (status["items_complete"], status["items_total"]) == (8 + 20 - left, 28)
        for label, total in others.items():
            assert f"{label} ({done[label]} of {total} items)" in status["message"]
            assert f"{label} ({done[label]} of {total} items)" in out
        assert f"{left} items not run" in status["message"] and "--finish-all" in out
        assert main(["show", str(run)]) == 0
        shown = " ".join(capsys.readouterr().out.split())
        assert f"complete · {28 - left} of 28 items" in shown and "--finish-all" in shown

        server.reset()
        assert main(["stress", str(path), "--out", str(run), "--no-progress", "--finish-all"]) == 0
        close_caches()
    assert _models(server) >= {"unassisted-judge", "consultancy-speaker", "critique-speaker"}
    status = json.loads((run / "status.json").read_text())
    assert (status["status"], status["items_complete"], status["items_total"]) == (
        "complete",
        28,
        28,
    )
    assert status["message"] == ""
    report = json.loads((run / "reports" / "stress.json").read_text())
    assert [(r["condition"], r["judge"]) for r in report["rows"]] == [("debate", "debate-judge")]
