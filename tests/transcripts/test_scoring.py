"""The one scoring rule: the run summary, rejudge's table, ``Judgment.verdict``, the judges'
votes and the analysis all score a judgment the same way, ties within one tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from oversight.analysis import analyze
from oversight.analysis._stats import row_metrics
from transcripts import JudgeIdentity, Judgment, Question, RunStore, Transcript
from transcripts.scoring import score, status_rank, top_answers, total_cost, verdict, vote

NEAR_TIE = [0.4999999998, 0.5000000002]


def test_probabilities_within_the_tolerance_are_a_tie_everywhere() -> None:
    assert top_answers(NEAR_TIE) == [0, 1]
    assert verdict(NEAR_TIE) is None
    assert score(NEAR_TIE, 0) == score(NEAR_TIE, 1) == 0.5
    assert vote(NEAR_TIE) == [0.5, 0.5]
    judgment = Judgment(
        transcript_id="t", judge=JudgeIdentity(kind="llm", name="j"), probabilities=NEAR_TIE
    )
    assert judgment.verdict is None
    assert verdict([0.4, 0.6]) == 1 and score([0.4, 0.6], 0) == 0.0
    assert score([0.2, 0.4, 0.4], 2) == 0.5 and score([0.6, 0.2, 0.2], 0) == 1.0


@given(
    st.lists(
        st.lists(
            st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.4999999998, 0.5000000002, 1 / 3, 0.75, 1.0]),
            min_size=2,
            max_size=4,
        ),
        min_size=1,
        max_size=8,
    ),
    st.data(),
)
def test_the_analysis_arrays_agree_with_the_scalar_rule(
    rows: list[list[float]], data: st.DataObject
) -> None:
    width = max(len(r) for r in rows)
    probs = np.array([r + [0.0] * (width - len(r)) for r in rows])
    gold = np.array([data.draw(st.integers(0, len(r) - 1)) for r in rows])
    metrics = row_metrics(probs, gold)
    for i, r in enumerate(rows):
        padded = r + [0.0] * (width - len(r))
        assert metrics.score[i] == score(padded, int(gold[i]))
        assert (None if metrics.verdict[i] < 0 else int(metrics.verdict[i])) == verdict(padded)


def test_the_report_scores_a_near_tie_as_half_right(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", run_id="r")
    question = Question(id="q", text="?", answers=["a", "b"], correct=0, source="s")
    store.transcripts.append(
        Transcript(
            id="t", run_id="r", protocol="unassisted", condition="unassisted", question=question
        )
    )
    store.judgments.append(
        Judgment(
            transcript_id="t",
            run_id="r",
            probabilities=NEAR_TIE,
            judge=JudgeIdentity(kind="llm", name="weak"),
        )
    )
    store.close()
    (group,) = analyze(tmp_path / "run", n_bootstrap=10).groups
    assert group.accuracy == 0.5


def test_the_tournament_table_scores_a_near_tie_as_the_report_does(tmp_path: Path) -> None:
    """A consultant for each answer, each judged with a near tie: half right each."""
    store = RunStore.create(tmp_path / "run", run_id="r")
    question = Question(id="q", text="?", answers=["a", "b"], correct=0, source="s")
    for side in (0, 1):
        store.transcripts.append(
            Transcript(
                id=f"t{side}",
                run_id="r",
                protocol="consultancy",
                condition="consultancy",
                question=question,
                assignment={"Consultant": side},
                players={"Consultant": "strong"},
            )
        )
        store.judgments.append(
            Judgment(
                transcript_id=f"t{side}",
                run_id="r",
                probabilities=NEAR_TIE,
                judge=JudgeIdentity(kind="llm", name="weak"),
            )
        )
    store.close()
    analysis = analyze(tmp_path / "run", n_bootstrap=10)
    ((player,),) = [table.players for table in analysis.tournaments]
    assert (player.player, player.consultancy_n) == ("strong", 2)
    assert player.consultancy_accuracy == analysis.groups[0].accuracy == 0.5


def test_one_status_ranking_ok_over_failed_over_skipped() -> None:
    assert status_rank("ok") == status_rank("complete") == status_rank(None) == 2
    assert status_rank("failed") == status_rank("error") == 1
    assert status_rank("skipped") == 0


def test_a_cost_is_unknown_when_any_part_is() -> None:
    assert total_cost([0.1] * 10) == 1.0  # summed exactly (math.fsum), not 0.9999999999999999
    assert total_cost([0.5, None, 1.0]) is None
    assert total_cost([]) == 0.0
