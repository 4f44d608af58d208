"""The report on the real NYU human-debate data shows debate vs consultancy, for human and
AI settings, with intervals and the clustered test (skips without the dataset)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from oversight.analysis import analyze
from oversight.cli import main
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
