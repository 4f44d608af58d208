"""``examples/live_judge.toml``: a live LLM judge on mock endpoints, run and reported.

The live judge's judgment is its last belief (not a second reading of the finished
transcript), and the report's belief curves, turns used and reward equal what a reader
computes by hand from the saved judge turns.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from statistics import fmean

import pytest

from oversight.cli import main
from oversight.experiment import load_experiment
from transcripts import RunStore, Transcript
from transcripts.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "live_judge.toml"


@pytest.fixture(scope="module")
def live_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "live"
    assert main(["run", str(EXAMPLE), "--out", str(out), "--no-progress"]) == 0
    return out


def beliefs(t: Transcript) -> list[list[float]]:
    return [
        turn.probabilities
        for turn in t.turns
        if turn.role == "judge" and turn.probabilities is not None
    ]


def test_the_live_judges_last_belief_is_its_judgment(live_run: Path) -> None:
    store = RunStore.open(live_run)
    transcripts = {t.id: t for t in store.transcripts.latest()}
    judgments = list(store.judgments.latest())
    assert len(judgments) == len(transcripts)  # one judge, one judgment per transcript
    ended_early = 0
    for j in judgments:
        t = transcripts[j.transcript_id]
        live = [turn for turn in t.turns if turn.decision is not None]
        if t.condition == "unassisted":
            assert not live and not j.live
            continue
        assert j.live and j.probabilities == live[-1].probabilities
        assert [turn.decision for turn in live][:-1] == ["continue"] * (len(live) - 1)
        assert live[-1].decision == "end" and live[0].metadata["live"] == "opening"
        speech_rounds = {turn.round for turn in t.turns if turn.role in ("debater", "consultant")}
        assert len(speech_rounds) == len(live) - 1 == j.rounds_seen
        assert t.roles["Judge"] == "live"
        ended_early += len(speech_rounds) < 4
        # Questions are public turns the next speakers read; beliefs never are.
        for turn in live:
            assert turn.visibility == ("public" if turn.content else "private")
    assert ended_early > 0, "the mock judge ended some protocols before max_rounds"


def test_the_report_draws_the_belief_curves_of_the_run(
    live_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    assert (
        main(
            [
                "report",
                str(live_run),
                "--plots",
                "--markdown",
                "--out",
                str(out),
                "--bootstrap",
                "200",
            ]
        )
        == 0
    )
    assert "Live judges: belief after each judge turn" in capsys.readouterr().out
    assert (out / "beliefs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    analysis = json.loads((out / "analysis.json").read_text())
    curves = {c["by"]["condition"]: c for c in analysis["beliefs"]}
    assert sorted(curves) == ["consultancy-live", "debate-live"]

    by_condition: dict[str, list[Transcript]] = defaultdict(list)
    for t in RunStore.open(live_run).transcripts.latest():
        if t.condition != "unassisted":
            by_condition[t.condition].append(t)
    for condition, members in by_condition.items():
        curve = curves[condition]
        assert curve["by"]["judge"] == "live" and curve["turns_from"] == "live judge"
        steps = max(len(beliefs(t)) for t in members)
        assert len(curve["points"]) == steps
        for k, point in enumerate(curve["points"]):
            carried = [
                (beliefs(t)[min(k, len(beliefs(t)) - 1)], t.question.correct or 0) for t in members
            ]
            assert point["p_gold"] == pytest.approx(fmean(p[g] for p, g in carried))
            assert point["deciding"] == sum(len(beliefs(t)) > k for t in members)
        rewards = [
            math.log2(max(beliefs(t)[-1][t.question.correct or 0], 1e-6))
            - 0.05 * (len(beliefs(t)) - 1)
            for t in members
        ]
        assert curve["reward"] == pytest.approx(fmean(rewards))
        assert curve["turn_penalty"] == 0.05
        used = {int(k): v for k, v in curve["turns_used"].items()}
        assert used == {
            n: sum(len(beliefs(t)) == n for t in members)
            for n in sorted({len(beliefs(t)) for t in members})
        }


def test_a_live_condition_without_its_judge_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    text = EXAMPLE.read_text().replace('judge = "live"\n', "", 1)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(
        ConfigError,
        match=r"live_judge is on, so the condition needs its live "
        r"judge: add judge = \"<name",
    ):
        load_experiment(path)


def test_a_fallback_judge_cannot_be_the_live_judge(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace(
        'kind = "llm"\nendpoint = "weak"', 'kind = "fallback"\nendpoint = "weak"\nthreshold = 0.7'
    )
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="'live' is a fallback judge, which cannot judge live"):
        load_experiment(path)


def test_a_dry_run_rehearses_a_live_person_at_max_rounds(tmp_path: Path) -> None:
    """No one is asked in a dry run: a stand-in hears every round up to max_rounds, so the
    estimate is the most the person could make the debaters speak."""
    from oversight.runner import dry_run

    rehearsal = dry_run(EXAMPLE.with_name("live_human.toml"), out=tmp_path / "dry")
    assert rehearsal.result.status == "complete"
    [strong] = rehearsal.endpoints
    assert strong.calls >= 2 * 4 * 2  # two debates x max_rounds 4 x two debaters (+ redraws)
    judged = [t for t in RunStore.open(tmp_path / "dry").transcripts.latest()]
    assert all(len([x for x in t.turns if x.decision]) == 5 for t in judged)
    assert all(
        len([x for x in t.turns if x.role == "debater" and x.visibility == "public"]) == 8
        for t in judged
    )


def test_the_curves_last_point_is_the_live_judgments_accuracy_with_the_same_interval(
    live_run: Path,
) -> None:
    """After the last turn every belief is final, so the point equals the live judge's row of
    the accuracy table: the same number and the same interval (one rule for both)."""
    from oversight.analysis import analyze

    result = analyze(live_run, by=["condition", "judge"], n_bootstrap=200)
    for curve in result.beliefs:
        [group] = [g for g in result.groups if g.by == curve.by]
        last = curve.points[-1]
        assert last.accuracy == pytest.approx(group.accuracy)
        assert last.p_gold == pytest.approx(group.mean_p_gold)
        assert curve.ci_method == group.ci_method
        assert last.accuracy_ci95 == pytest.approx(group.ci95)
