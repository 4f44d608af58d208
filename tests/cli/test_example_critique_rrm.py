"""The example experiment examples/critique_rrm.toml, run as a user runs it, on mock models:
critique with refinement and ratings, a GDC measurement, RRM with a weak evaluator and
prover–estimator debate, and a report with each protocol's accuracy and the GDC gaps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.cli import main
from transcripts import RunStore, Transcript

EXAMPLE = Path(__file__).parents[2] / "examples" / "critique_rrm.toml"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("example") / "run"
    assert main(["run", str(EXAMPLE), "--out", str(out)]) == 0
    return out


def test_every_protocol_ran_and_stored_what_it_measured(run_dir: Path) -> None:
    store = RunStore.open(run_dir)
    transcripts = list(store.transcripts.latest())
    assert transcripts and all(t.status == "complete" for t in transcripts)
    by: dict[str, list[Transcript]] = {}
    for t in transcripts:
        by.setdefault(t.condition, []).append(t)
    refined = by["critique-refine"]
    assert all(t.critique and len(t.critique.ratings) == 2 for t in refined)
    assert all(t.critique and t.critique.final_answer is not None for t in refined)
    assert {r.saw_key for t in refined if t.critique for r in t.critique.ratings} == {False}
    measured = by["critique-gdc"]
    assert {t.critique.flawed for t in measured if t.critique} == {True, False}
    assert all(t.critique and t.critique.p_flawed is not None for t in measured)
    assert all(t.tree and t.tree.kind == "rrm" for t in by["rrm-weak"])
    assert all(t.roles["Evaluator"] == "mock/weak" for t in by["rrm-weak"])
    assert all(t.tree and t.tree.kind == "prover-estimator" for t in by["prover-estimator"])
    assert all(t.roles["Leaf judge"] == "mock/weak" for t in by["prover-estimator"])


def test_the_report_shows_each_protocols_accuracy_with_intervals_and_the_gdc_gaps(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["report", str(run_dir), "--json", "--bootstrap", "200"]) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    decided = {(g["condition"], g["judge"]): g for g in groups}
    for key in [
        ("critique-refine", "weak-judge"),
        ("critique-gdc", "weak-judge"),
        ("rrm-weak", "rrm-weak-rewards"),
        ("rrm-expert-leaves", "rrm-expert-leaves-rewards"),
        ("prover-estimator", "prover-estimator-estimator"),
    ]:
        assert decided[key]["n"] > 0 and decided[key]["accuracy"] is not None, key
        assert decided[key]["ci95"] is not None, key
    assert main(["report", str(run_dir), "--bootstrap", "200", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "Generator–discriminator–critique gaps" in out
    assert all(gap in out for gap in ("D − G", "D − C", "C − G"))
    markdown = (run_dir / "reports" / "gdc.md").read_text()
    assert "critique-gdc" in markdown and "mock/strong" in markdown
    (stats,) = json.loads((run_dir / "reports" / "gdc.json").read_text())
    assert stats["items"] == 32 and stats["flawed"] == 16
    for gap in ("d_minus_g", "d_minus_c", "c_minus_g"):
        assert stats[gap]["value"] is not None and len(stats[gap]["ci95"]) == 2
    assert "RRM rewards and prover–estimator payoffs" in out
    saved = json.loads((run_dir / "reports" / "trees.json").read_text())
    trees = {t["condition"]: t for t in saved}
    assert sorted(trees) == ["prover-estimator", "rrm-expert-leaves", "rrm-weak"]
    assert trees["rrm-weak"]["reward_margin"]["n"] == 16
    assert trees["prover-estimator"]["payoff"]["n"] == 32


def test_a_filtered_report_says_which_sections_its_filter_does_not_reach(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--where chooses judgments; the GDC and tree sections measure transcripts and are of
    the whole run: printed under a filtered report without a word, they read as filtered."""
    capsys.readouterr()
    where = ["--where", "condition=rrm-weak"]
    assert main(["report", str(run_dir), "--bootstrap", "50", *where]) == 0
    out = capsys.readouterr().out
    assert "critique-refine" not in out.split("Generator–discriminator–critique gaps")[0]
    for section in ("gdc", "trees"):
        assert (
            f"note: the {section} section is of the whole run; --where condition=rrm-weak "
            "chose the judgments of the tables above only"
        ) in " ".join(out.split())
    assert main(["report", str(run_dir), "--bootstrap", "50"]) == 0
    assert "note: the gdc section" not in capsys.readouterr().out


def test_show_gives_researchers_the_key_and_ratings_and_judges_neither(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore.open(run_dir)
    planted = next(
        t
        for t in store.transcripts.latest()
        if t.condition == "critique-gdc" and t.critique and t.critique.flawed
    )
    assert planted.critique is not None and planted.critique.flaw
    capsys.readouterr()
    assert main(["show", str(run_dir), planted.id]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Critique outcome (not shown to judges)" in out and "rating of Critic" in out
    assert " ".join(planted.critique.flaw.split())[:30] in out
    assert main(["show", str(run_dir), planted.id, "--as-judge"]) == 0
    judged = " ".join(capsys.readouterr().out.split())
    assert "Critique outcome" not in judged and "Rater" not in judged
    assert " ".join(planted.critique.flaw.split())[:30] not in judged
