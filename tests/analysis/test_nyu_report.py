"""The report on the real NYU human-debate data shows debate vs consultancy, for human and
AI settings, with intervals and the clustered test (skips without the dataset)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from oversight.analysis import analyze
from oversight.cli import main
from transcripts.export import to_csv
from transcripts.importers.nyu import ImportSummary


@pytest.fixture(scope="module")
def nyu_run(nyu_run: tuple[ImportSummary, Path]) -> Path:
    """The run folder of the session's NYU import (``nyu_run`` of tests/conftest.py)."""
    return nyu_run[1]


def test_nyu_report_compares_debate_with_consultancy_for_humans_and_ai(
    nyu_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = analyze(
        nyu_run, where=["included_in_paper=true", "judge=nyu-live-judge"], n_bootstrap=200
    )
    comps = {(c.assisted, c.baseline): c for c in result.comparisons}
    assert set(comps) == {("human-debate", "human-consultancy"), ("ai-debate", "ai-consultancy")}
    for c in comps.values():
        assert c.ci95 is not None and c.ci95[0] < c.difference < c.ci95[1]  # type: ignore[operator]
        assert c.p_value is not None and c.p_adjusted is not None and c.test
        assert c.n_clusters >= 40
    human = comps[("human-debate", "human-consultancy")]
    # Per-question accuracy of the paper's live judges: debate above consultancy.
    assert human.difference is not None and human.difference > 0
    # Per judgment the table reproduces the paper: 84.4% human debate, 74.5% consultancy.
    acc = {g.by["condition"]: g.accuracy for g in result.groups}
    assert acc["human-debate"] == pytest.approx(0.844, abs=5e-4)
    assert acc["human-consultancy"] == pytest.approx(0.745, abs=5e-4)
    # The side term of the human debaters' ratings: arguing the right side helps a lot.
    (table,) = [r for r in result.ratings if r.group.get("condition") == "human-debate"]
    assert table.side_advantage is not None and table.side_advantage > 1.0
    assert all(np.isfinite(p.elo) for p in table.players)

    assert (
        main(["report", str(nyu_run), "--where", "included_in_paper=true", "--bootstrap", "100"])
        == 0
    )
    out = capsys.readouterr().out
    assert "human-debate" in out and "human-consultancy" in out
    assert "p (clustered)" in out and "p (Holm)" in out


def test_the_papers_own_rule_from_the_export_gives_its_figures_and_its_test(
    nyu_run: Path, tmp_path: Path
) -> None:
    """Michael et al. score a judgment right when p(correct) > 0.5 (a tie is wrong) and test
    debate against consultancy per judgment, unclustered; the report counts a tie half and
    compares per question, clustered by story (docs/guide/nyu-and-export.md says why)."""
    table = tmp_path / "nyu.csv"
    to_csv(nyu_run, table, counted_only=True)
    with table.open(newline="") as f:
        rows = [
            r
            for r in csv.DictReader(f)
            if r["judge_name"] == "nyu-live-judge" and r["meta_included_in_paper"] == "True"
        ]
    right: dict[str, list[bool]] = {}
    for r in rows:
        right.setdefault(r["condition"], []).append(float(r["p_correct"]) > 0.5)
    counts = {c: (sum(v), len(v)) for c, v in right.items()}
    assert counts == {
        "human-debate": (130, 154),
        "ai-debate": (68, 87),
        "human-consultancy": (71, 96),  # 74.0%; the report's 74.5% counts one tie half
        "ai-consultancy": (61, 76),
    }
    ties = [r["meta_room"] for r in rows if float(r["p_correct"]) == 0.5]
    assert ties == ["end-as-a-hero-8"]
    # The paper's test: two proportions, judgments independent (chi-square, 1 df).
    (a, n), (b, m) = counts["human-debate"], counts["human-consultancy"]
    pooled = (a + b) / (n + m)
    z = (a / n - b / m) / math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
    assert 0.04 < math.erfc(abs(z) / math.sqrt(2)) < 0.05  # p = 0.043: significant
    # The report's: per question, clustered by story: the same direction, not significant.
    result = analyze(
        nyu_run, where=["included_in_paper=true", "judge=nyu-live-judge"], n_bootstrap=50
    )
    (human,) = [c for c in result.comparisons if c.assisted == "human-debate"]
    assert human.difference is not None and human.difference > 0
    assert human.p_value is not None and human.p_value > 0.05
