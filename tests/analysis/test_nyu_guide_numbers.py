"""The numbers docs/guide/nyu-and-export.md quotes for the NYU report are the report's
(skips without the dataset)."""

from __future__ import annotations

import re
from pathlib import Path

from oversight.analysis import analyze
from transcripts.importers.nyu import ImportSummary

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "nyu-and-export.md"


def test_the_guide_s_human_debate_test_p_values_are_the_report_s(
    nyu_run: tuple[ImportSummary, Path],
) -> None:
    said = re.search(r"\(p ([0-9.]+); clustered by story alone, ([0-9.]+)\)", GUIDE.read_text())
    assert said is not None
    for cluster, quoted in zip(("sources,annotators", "sources"), said.groups(), strict=True):
        result = analyze(
            nyu_run[1],
            by=["setting"],
            where=["included_in_paper=true", "judge=nyu-live-judge"],
            cluster=cluster,
            n_bootstrap=200,
        )
        (human,) = [c for c in result.comparisons if c.assisted == "human-debate"]
        assert human.p_value is not None
        assert f"{human.p_value:.2f}" == quoted, (cluster, human.p_value)
