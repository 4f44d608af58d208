"""Belief curves of live judges, from the NYU debate dataset's own judge turns.

The human-debate curve of Michael et al. 2023 (accuracy 0.52 before any argument, then 0.68,
0.80, 0.82, 0.84) must come out of ``oversight report RUN --by setting`` on the imported
rooms of the paper, and every number must equal a count made straight from the raw room
files, without our importer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from statistics import fmean
from typing import Any

import numpy as np
import pytest
from scipy import stats

from oversight.analysis import analyze
from oversight.cli import main
from transcripts import Transcript, Turn
from transcripts.importers.nyu import ImportSummary

from .helpers import RunBuilder

DATA = Path(__file__).parents[2].parent / "shared/data/nyu-debate"
SETTINGS = {
    (True, True): "human-debate",
    (False, True): "ai-debate",
    (True, False): "human-consultancy",
    (False, False): "ai-consultancy",
}


@pytest.fixture(scope="module")
def nyu_run(nyu_run: tuple[ImportSummary, Path]) -> Path:
    """The run folder of the session's NYU import (``nyu_run`` of tests/conftest.py)."""
    return nyu_run[1]


def _score(p: list[float], gold: int) -> float:
    best = max(p)
    top = [i for i, x in enumerate(p) if abs(x - best) <= 1e-9]
    return 1 / len(top) if gold in top else 0.0


def raw_curves() -> dict[str, dict[str, Any]]:
    """Per setting, from the raw files: beliefs per turn carried forward, and rewards."""
    beliefs: dict[str, list[tuple[list[list[float]], int]]] = defaultdict(list)
    for line in (DATA / "debates-metadata.jsonl").read_text().splitlines():
        meta = json.loads(line)
        if not meta.get("includedInPaper"):
            continue
        room = json.loads((DATA / "debates/official" / f"{meta['name']}.json").read_text())
        turns = [r["JudgeFeedback"]["distribution"] for r in room["rounds"] if "JudgeFeedback" in r]
        setting = SETTINGS[(meta["setting"]["isHuman"], meta["setting"]["isDebate"])]
        beliefs[setting].append((turns, room["setup"]["correctAnswerIndex"]))
    out = {}
    for setting, rooms in beliefs.items():
        steps = max(len(t) for t, _ in rooms)
        carried = [[t[min(k, len(t) - 1)] for t, _ in rooms] for k in range(steps)]
        golds = [g for _, g in rooms]
        out[setting] = {
            "p_gold": [
                fmean(p[g] / sum(p) for p, g in zip(c, golds, strict=True)) for c in carried
            ],
            "accuracy": [
                fmean(_score(p, g) for p, g in zip(c, golds, strict=True)) for c in carried
            ],
            "turns": sorted(len(t) for t, _ in rooms),
        }
    return out


def test_report_by_setting_draws_the_papers_human_debate_curve(
    nyu_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    code = main(
        [
            "report",
            str(nyu_run),
            "--by",
            "setting",
            "--where",
            "included_in_paper=true",
            "--bootstrap",
            "200",
            "--markdown",
            "--plots",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Live judges: belief after each judge turn" in printed
    assert (out / "beliefs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](beliefs.png)" in (out / "report.md").read_text()

    analysis = json.loads((out / "analysis.json").read_text())
    curves = {c["by"]["setting"]: c for c in analysis["beliefs"]}
    assert sorted(curves) == sorted(SETTINGS.values())
    human = curves["human-debate"]
    assert [round(p["accuracy"], 2) for p in human["points"][:5]] == [0.52, 0.68, 0.80, 0.82, 0.84]
    assert human["n_transcripts"] == 154 and human["turns_from"] == "imported"
    # Every curve equals the count from the raw files, point by point.
    for setting, raw in raw_curves().items():
        curve = curves[setting]
        assert [p["p_gold"] for p in curve["points"]] == pytest.approx(raw["p_gold"])
        assert [p["accuracy"] for p in curve["points"]] == pytest.approx(raw["accuracy"])
        used = {int(k): v for k, v in curve["turns_used"].items()}
        assert [k for k, v in used.items() for _ in range(v)] == raw["turns"]
        for p in curve["points"]:
            low, high = p["accuracy_ci95"]
            assert low <= p["accuracy"] <= high


def test_the_reward_is_the_datasets_own_judge_reward(nyu_run: Path) -> None:
    """log2 p(gold) - 0.05 per continue, from the rooms' scoring rule, equals judgeReward."""
    analysis = analyze(nyu_run, by=["setting"], where=["included_in_paper=true"], n_bootstrap=50)
    recorded: dict[str, list[float]] = defaultdict(list)
    for line in (nyu_run / "judgments.jsonl").read_text().splitlines():
        j = json.loads(line)
        if j["judge"]["name"] == "nyu-live-judge" and j["metadata"].get("setting"):
            recorded[j["transcript_id"]].append(j["metadata"]["judge_reward"])
    by_setting: dict[str, list[float]] = defaultdict(list)
    for line in (nyu_run / "transcripts.jsonl").read_text().splitlines():
        t = json.loads(line)
        if t["metadata"]["included_in_paper"] and t["id"] in recorded:
            by_setting[t["metadata"]["setting"]] += recorded[t["id"]]
    for curve in analysis.beliefs:
        setting = curve.by["setting"]
        assert curve.turn_penalty == 0.05
        assert curve.reward == pytest.approx(fmean(by_setting[setting]), abs=1e-9)


def test_intervals_agree_with_an_independent_cluster_bootstrap(nyu_run: Path) -> None:
    """Resampling stories (with all their rooms) by a separate loop and generator gives the
    same 95% interval of mean p(gold) after turn 2, up to Monte Carlo noise."""
    analysis = analyze(
        nyu_run, by=["setting"], where=["included_in_paper=true"], n_bootstrap=2000, seed=5
    )
    human = next(c for c in analysis.beliefs if c.by["setting"] == "human-debate")
    stories: dict[str, list[float]] = defaultdict(list)
    # Questions are stored once per run (questions.jsonl), referenced by the transcripts.
    questions = {}
    for line in (nyu_run / "questions.jsonl").read_text().splitlines():
        record = json.loads(line)
        questions[record["hash"]] = record["question"]
    for line in (nyu_run / "transcripts.jsonl").read_text().splitlines():
        t = json.loads(line)
        if "question" not in t:
            t["question"] = questions[t["question_ref"]]
        if t["metadata"]["setting"] != "human-debate" or not t["metadata"]["included_in_paper"]:
            continue
        beliefs = [
            turn["probabilities"]
            for turn in t["turns"]
            if turn["role"] == "judge" and turn["probabilities"]
        ]
        stories[t["question"]["source"]].append(
            beliefs[min(2, len(beliefs) - 1)][t["question"]["correct"]]
        )
    assert human.n_clusters == len(stories)
    sums = np.array([[sum(v), len(v)] for v in stories.values()])
    assert sums[:, 0].sum() / sums[:, 1].sum() == pytest.approx(human.points[2].p_gold)
    rng = np.random.default_rng(12345)
    means = []
    for _ in range(6000):
        drawn = sums[rng.integers(0, len(sums), len(sums))]
        means.append(drawn[:, 0].sum() / drawn[:, 1].sum())
    expected = np.percentile(means, [2.5, 97.5])
    assert human.points[2].p_gold_ci95 == pytest.approx(tuple(expected), abs=0.012)


def test_report_by_setting_alone_draws_a_curve_per_setting(
    nyu_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``oversight report runs/nyu --by setting``: every finished room with judge turns."""
    assert main(["report", str(nyu_run), "--by", "setting", "--json", "--bootstrap", "50"]) == 0
    curves = {c["by"]["setting"]: c for c in json.loads(capsys.readouterr().out)["beliefs"]}
    assert sorted(curves) == sorted(SETTINGS.values())
    finished: dict[str, int] = defaultdict(int)
    for line in (nyu_run / "transcripts.jsonl").read_text().splitlines():
        t = json.loads(line)
        if t["status"] == "complete" and any(
            turn["role"] == "judge" and turn["probabilities"] for turn in t["turns"]
        ):
            finished[t["metadata"]["setting"]] += 1
    assert {s: c["n_transcripts"] for s, c in curves.items()} == finished
    assert curves["human-debate"]["n_transcripts"] > 154  # more than the paper's rooms


@pytest.mark.parametrize("sources", [10, 60])
def test_a_prior_every_judge_stated_alike_gets_the_same_interval_whatever_the_sources(
    run: RunBuilder, sources: int
) -> None:
    # Every live judge opens at 50/50. From 50 sources on, the bootstrap of identical
    # values gave turn 0 a zero-width [0.5, 0.5]; below, CR2 with the binomial floor.
    for i in range(sources):
        q = run.question(f"q{i}", source=f"s{i}")
        final = [0.9, 0.1] if i % 3 else [0.3, 0.7]
        beliefs = [([0.5, 0.5], "continue"), (final, "end")]
        turns = [
            Turn(role="judge", speaker="Judge", round=r, content="", probabilities=p, decision=d)
            for r, (p, d) in enumerate(beliefs)
        ]
        t = Transcript(id=f"t{i}", protocol="debate", condition="debate", question=q, turns=turns)
        run.store.transcripts.append(t)
        run.judge(t, final)
    (curve,) = analyze(run.path, n_bootstrap=100).beliefs
    prior = curve.points[0]
    half = stats.t.ppf(0.975, sources - 1) * np.sqrt(0.25 / sources)
    assert prior.accuracy == 0.5 and prior.p_gold == 0.5
    assert prior.accuracy_ci95 == pytest.approx((0.5 - half, 0.5 + half))
    assert prior.p_gold_ci95 == pytest.approx((0.5 - half, 0.5 + half))
