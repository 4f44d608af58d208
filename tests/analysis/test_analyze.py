"""``analyze`` on hand-built run stores whose numbers are known exactly."""

from __future__ import annotations

import math
from typing import Any

import pytest
from scipy.stats import binomtest

from oversight.analysis import analyze
from oversight.analysis._data import load
from transcripts.errors import ConfigError

from .helpers import RunBuilder


def test_per_group_statistics_match_hand_computation(run: RunBuilder) -> None:
    for i, p in enumerate([0.9, 0.6, 0.5, 0.2]):
        run.item(f"q{i}", p)
    t = run.transcript(run.question("qf"))
    run.judge(t, None, status="failed", error="no verdict")
    run.judge(t, None, status="skipped", judge="j")  # a different key? same judge: see below
    # Unscored: no gold, and a transcript that ended in error.
    run.judge(run.transcript(run.question("qn", correct=None)), [0.7, 0.3])
    run.judge(run.transcript(run.question("qe"), status="error"), [0.7, 0.3])

    result = analyze(run.path, n_bootstrap=200)
    (g,) = result.groups
    assert g.by == {"condition": "unassisted", "judge": "j"}
    assert g.n == 4
    assert g.accuracy == pytest.approx((1 + 1 + 0.5 + 0) / 4)
    assert g.mean_p_gold == pytest.approx(0.55)
    assert g.brier == pytest.approx(2 * (0.1**2 + 0.4**2 + 0.5**2 + 0.8**2) / 4)
    assert g.log_score == pytest.approx(sum(math.log(p) for p in (0.9, 0.6, 0.5, 0.2)) / 4)
    # Confidences 0.9, 0.6, 0.5, 0.8 with scores 1, 1, 0.5, 0: one judgment per bin.
    assert g.ece == pytest.approx((0.1 + 0.4 + 0.0 + 0.8) / 4)
    # Right-closed bins (a, b]: 0.5 in (0.4, 0.5], 0.9 in (0.8, 0.9].
    assert [b.n for b in g.calibration] == [0, 0, 0, 0, 1, 1, 0, 1, 1, 0]
    assert g.n_unscored == 2
    # The failed and the skipped judgment share a key (transcript, judge, rounds): the
    # final-judgment rule keeps the failed one over the skip.
    assert (g.n_failed, g.n_skipped) == (1, 0)
    assert g.ci95 is not None and g.accuracy is not None
    assert g.ci95[0] <= g.accuracy <= g.ci95[1]
    assert result.totals.scored == 4 and result.totals.unscored == 2
    assert any("could not be scored" in w for w in result.warnings)


def test_the_warning_counts_each_reason_a_judgment_was_not_scored(run: RunBuilder) -> None:
    # It said "N ok judgments could not be scored (no gold answer, a transcript that ended
    # in error, or probabilities of the wrong length)": which, and how many, it did not say.
    run.item("q0", 0.9)
    run.judge(run.transcript(run.question("qn", correct=None)), [0.7, 0.3])
    run.judge(run.transcript(run.question("qm", correct=None)), [0.7, 0.3])
    run.judge(run.transcript(run.question("qe"), status="error"), [0.7, 0.3])
    run.judge(run.transcript(run.question("qw")), [0.5, 0.3, 0.2])  # 3 for 2 answers
    result = analyze(run.path, n_bootstrap=50)
    assert result.totals.unscored == 4
    assert (
        "4 ok judgments could not be scored and were left out: 2 on a question without a "
        "gold answer, 1 on a transcript that ended in error, 1 without one probability per "
        "answer of the question"
    ) in result.warnings


@pytest.mark.parametrize("n_bins", [0, -1, 2.5])
def test_a_bad_number_of_calibration_bins_is_refused_clearly(run: RunBuilder, n_bins: Any) -> None:
    # It failed deep in numpy ("'list' argument must have no negative elements").
    run.item("q", 0.9)
    with pytest.raises(ConfigError, match=r"n_bins .* must be a positive integer"):
        analyze(run.path, n_bins=n_bins)


def test_skipped_judgments_are_counted_not_scored(run: RunBuilder) -> None:
    run.item("q1", 0.8)
    t = run.transcript(run.question("q2"))
    run.judge(t, None, status="skipped", kind="human", judge="people")
    result = analyze(run.path, n_bootstrap=50)
    people = next(g for g in result.groups if g.by["judge"] == "people")
    assert (people.n, people.n_skipped, people.accuracy) == (0, 1, None)


def test_groups_are_ordered_baseline_first_expert_last(run: RunBuilder) -> None:
    for cond in ("expert", "debate", "unassisted", "consultancy"):
        for judge in ("b", "a"):
            run.item(f"{cond}{judge}", 0.7, condition=cond, judge=judge)
    result = analyze(run.path, n_bootstrap=50)
    labels = [g.label for g in result.groups]
    assert labels[:2] == ["unassisted · a", "unassisted · b"]
    assert labels[-2:] == ["expert · a", "expert · b"]


def test_by_and_where_resolve_metadata_and_coerce_values(run: RunBuilder) -> None:
    for i, (paper, setting, turns) in enumerate(
        [(True, "ai-debate", 2), (True, "human-debate", 3), (False, "ai-debate", 2)]
    ):
        q = run.question(f"q{i}", metadata={"difficulty": "hard" if i else "easy"})
        t = run.transcript(
            q,
            condition=setting,
            protocol="debate",
            metadata={"included_in_paper": paper, "setting": setting, "judge_turns": turns},
        )
        run.judge(t, [0.8, 0.2])

    kept = analyze(run.path, by="setting", where=["included_in_paper=true"], n_bootstrap=50)
    assert {g.by["setting"]: g.n for g in kept.groups} == {"ai-debate": 1, "human-debate": 1}
    assert kept.totals.filtered_out == 1
    same = analyze(run.path, by="setting", where={"included_in_paper": True}, n_bootstrap=50)
    assert [g.n for g in same.groups] == [g.n for g in kept.groups]
    numbers = analyze(run.path, by=["difficulty"], where=["judge_turns=2"], n_bootstrap=50)
    assert {g.by["difficulty"]: g.n for g in numbers.groups} == {"easy": 1, "hard": 1}
    negated = analyze(run.path, by="question", where=["setting!=ai-debate"], n_bootstrap=50)
    assert [g.by["question"] for g in negated.groups] == ["q1"]
    assert negated.groups[0].mean_rounds == 3.0  # judge_turns of the transcript
    with pytest.raises(ConfigError, match="unknown field 'nonsense'"):
        analyze(run.path, by="nonsense", n_bootstrap=50)
    with pytest.raises(ConfigError, match="FIELD=VALUE"):
        analyze(run.path, where=["no-equals-sign"], n_bootstrap=50)


def test_paired_comparison_and_gap_closed_are_exact(run: RunBuilder) -> None:
    unassisted = [1, 0, 0, 1, 0, 1, 0, 0]
    debate = [1, 1, 1, 1, 0, 0, 1, 0]
    for i, (u, d) in enumerate(zip(unassisted, debate, strict=True)):
        q = run.question(f"q{i}")
        run.judge(run.transcript(q, condition="unassisted"), [0.8, 0.2] if u else [0.3, 0.7])
        run.judge(run.transcript(q, condition="debate"), [0.8, 0.2] if d else [0.3, 0.7])
        run.judge(run.transcript(q, condition="expert"), [0.9, 0.1])
    run.item("only-debate", 0.9, condition="debate")  # no pair: left out of the comparison

    result = analyze(run.path, n_bootstrap=500)
    (c,) = result.comparisons
    assert (c.assisted, c.baseline, c.expert) == ("debate", "unassisted", "expert")
    assert c.n_questions == 8
    assert c.accuracy_assisted == pytest.approx(5 / 8)
    assert c.accuracy_baseline == pytest.approx(3 / 8)
    assert c.difference == pytest.approx(2 / 8)
    assert c.mcnemar is not None
    assert (c.mcnemar.assisted_only, c.mcnemar.baseline_only) == (3, 1)
    assert (c.mcnemar.both, c.mcnemar.neither) == (2, 2)
    assert c.mcnemar.p_value == pytest.approx(binomtest(3, 4, 0.5).pvalue)
    assert c.gap_closed == pytest.approx((5 / 8 - 3 / 8) / (1 - 3 / 8))
    assert c.ci95 is not None and c.difference is not None
    assert c.ci95[0] <= c.difference <= c.ci95[1]
    assert c.gap_closed_ci95 is not None
    assert c.by == {"judge": "j"}


def test_several_transcripts_of_a_question_average_before_pairing(run: RunBuilder) -> None:
    q = run.question("q")
    run.judge(run.transcript(q, condition="unassisted", order=[0, 1]), [0.8, 0.2])
    run.judge(run.transcript(q, condition="unassisted", order=[1, 0]), [0.3, 0.7])
    run.judge(run.transcript(q, condition="debate"), [0.9, 0.1])
    (c,) = analyze(run.path, n_bootstrap=50).comparisons
    assert c.n_questions == 1
    assert c.accuracy_baseline == pytest.approx(0.5)
    assert c.difference == pytest.approx(0.5)
    assert c.mcnemar is not None and c.mcnemar.excluded == 1  # a 0.5 question is a tie


def test_gap_closed_is_null_when_the_expert_is_no_better(run: RunBuilder) -> None:
    for i in range(4):
        q = run.question(f"q{i}")
        run.judge(run.transcript(q, condition="unassisted"), [0.8, 0.2])
        run.judge(run.transcript(q, condition="debate"), [0.8, 0.2])
        run.judge(run.transcript(q, condition="expert"), [0.2, 0.8])
    result = analyze(run.path, n_bootstrap=50)
    assert result.comparisons[0].gap_closed is None
    assert any("gap closed" in w for w in result.warnings)


def test_intervals_need_two_sources(run: RunBuilder) -> None:
    for i in range(10):
        run.item(f"q{i}", 0.8 if i % 2 else 0.3, source="one-story")
    (g,) = analyze(run.path, n_bootstrap=100).groups
    assert g.n_clusters == 1 and g.n_questions == 10
    assert g.accuracy == pytest.approx(0.5)
    assert g.ci95 is None


def test_position_and_consultant_side_bias(run: RunBuilder) -> None:
    # The judge believes whatever the consultant argues: always right when the consultant
    # argued gold, always wrong otherwise. And it always picks the answer shown first.
    for i in range(8):
        side = 0 if i % 2 == 0 else 1  # gold is 0
        order = [side, 1 - side]
        t = run.transcript(
            run.question(f"q{i}"),
            condition="consultancy",
            order=order,
            assignment={"Consultant": side},
            roles={"Consultant": "mock/c"},
        )
        probs = [0.0, 0.0]
        probs[side] = 0.9
        probs[1 - side] = 0.1
        run.judge(t, probs)
    (g,) = analyze(run.path, n_bootstrap=100).groups
    sides = {s.value: s.accuracy for s in g.by_assigned_side}
    assert sides == {"correct": 1.0, "incorrect": 0.0}
    positions = {s.value: (s.n, s.accuracy) for s in g.by_gold_position}
    assert positions == {0: (4, 1.0), 1: (4, 0.0)}
    assert g.picks_first == 1.0


def test_reports_are_reproducible_for_a_seed(run: RunBuilder) -> None:
    for i in range(30):
        run.item(f"q{i}", 0.8 if i % 3 else 0.3, source=f"s{i // 3}")
    a = analyze(run.path, n_bootstrap=300, seed=1).model_dump_json()
    b = analyze(run.path, n_bootstrap=300, seed=1).model_dump_json()
    c = analyze(run.path, n_bootstrap=300, seed=2).model_dump_json()
    assert a == b
    assert a != c


def test_judgments_without_a_transcript_are_counted_and_left_out(run: RunBuilder) -> None:
    run.item("q", 0.9)
    run.judge("missing-transcript", [0.9, 0.1])
    result = analyze(run.path, n_bootstrap=50)
    assert result.totals.orphaned == 1 and result.totals.scored == 1
    assert any("not in the store" in w for w in result.warnings)


def test_no_baseline_is_said_not_invented(run: RunBuilder) -> None:
    run.item("q", 0.9, condition="debate")
    run.item("q", 0.9, condition="critique")
    result = analyze(run.path, n_bootstrap=50)
    assert result.comparisons == []
    assert any("no condition uses the unassisted protocol" in w for w in result.warnings)


def test_why_there_is_no_comparison_names_the_real_reason(run: RunBuilder) -> None:
    # Each of these said "no condition uses the unassisted protocol", even with only an
    # unassisted condition in the run.
    run.item("q0", 0.9, source="s0")
    (only,) = [w for w in analyze(run.path, n_bootstrap=20).warnings if "compar" in w]
    assert only.startswith("no comparison: only one condition (unassisted) has scored")
    run.item("q0", 0.9, condition="expert", source="s0")
    (expert,) = [w for w in analyze(run.path, n_bootstrap=20).warnings if "compar" in w]
    assert "besides the unassisted baseline there are only expert ceilings" in expert
    run.item("q1", 0.9, condition="debate", judge="other", source="s1")
    result = analyze(run.path, n_bootstrap=20)
    (apart,) = [w for w in result.warnings if w.startswith("no comparison")]
    assert "never judged in the same group of judge" in apart and result.comparisons == []


def test_more_than_two_answers(run: RunBuilder) -> None:
    q = run.question("q", answers=3, correct=2)
    run.judge(run.transcript(q), [0.3, 0.3, 0.4])
    run.judge(run.transcript(run.question("r", answers=2)), [0.6, 0.4])
    (g,) = analyze(run.path, n_bootstrap=50).groups
    assert g.accuracy == 1.0
    assert g.brier == pytest.approx(((0.09 + 0.09 + 0.36) + 2 * 0.16) / 2)


def test_questions_of_two_and_three_answers_are_scored_side_by_side(run: RunBuilder) -> None:
    """The probabilities of each width are read together (one of three answers alone,
    three of two), zero-padded to the widest; a list of the wrong width is not scored."""
    run.item("q0", 0.9)
    run.item("q1", 0.4)
    run.judge(run.transcript(run.question("q3", correct=2, answers=3)), [0.2, 0.1, 0.7])
    run.judge(run.transcript(run.question("qw", answers=3)), [0.6, 0.4])  # 2 for 3 answers
    data = load(run.path)
    assert data.valid.tolist() == [True, True, True, False]
    assert data.probs.tolist() == [
        [0.9, 0.1, 0.0],
        [0.4, 0.6, 0.0],
        [0.2, 0.1, 0.7],
        [0.0, 0.0, 0.0],
    ]
    result = analyze(run.path, n_bootstrap=50)
    assert result.totals.scored == 3 and result.totals.unscored == 1
    (g,) = result.groups
    assert g.accuracy == pytest.approx((1 + 0 + 1) / 3)
