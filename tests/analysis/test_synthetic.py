"""End to end on synthetic runs whose true accuracies and calibration are known."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.analysis import Analysis, analyze
from oversight.analysis.synthetic import SyntheticSpec, make_store

Known = tuple[SyntheticSpec, Analysis]


def _expected(skill: float, spread: float) -> float:
    """Mean confidence = expected accuracy of a calibrated synthetic judge."""
    lo, hi = max(0.5, skill - spread), min(0.99, skill + spread)
    return (lo + hi) / 2


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Known:
    spec = SyntheticSpec(
        n_questions=1500,
        judges=("weak", "over"),
        overconfident=("over",),
        seed=11,
        skill={
            "unassisted": {"weak": 0.62, "over": 0.62},
            "consultancy": {"weak": 0.66, "over": 0.66},
            "debate": {"weak": 0.78, "over": 0.78},
            "expert": {"weak": 0.90, "over": 0.90},
        },
    )
    path: Path = tmp_path_factory.mktemp("known") / "run"
    make_store(path, spec)
    return spec, analyze(path, n_bootstrap=1000)


def test_accuracies_are_recovered_within_their_intervals(result: Known) -> None:
    spec, analysis = result
    for g in analysis.groups:
        truth = _expected(spec.skill[g.by["condition"]][g.by["judge"]], spec.spread)
        assert g.accuracy == pytest.approx(truth, abs=0.04)
        assert g.ci95 is not None
        assert g.ci95[0] - 0.01 <= truth <= g.ci95[1] + 0.01


def test_calibrated_judges_have_small_ece_and_overconfident_ones_do_not(result: Known) -> None:
    _, analysis = result
    for g in analysis.groups:
        if g.by["judge"] == "weak":
            assert g.ece is not None and g.ece < 0.04
        else:
            assert g.ece is not None and g.ece > 0.09


def test_the_debate_gain_and_gap_closed_are_recovered(result: Known) -> None:
    spec, analysis = result
    c = next(c for c in analysis.comparisons if c.assisted == "debate" and c.by["judge"] == "weak")
    u = _expected(0.62, spec.spread)
    a = _expected(0.78, spec.spread)
    e = _expected(0.90, spec.spread)
    assert c.ci95 is not None and c.mcnemar is not None and c.gap_closed_ci95 is not None
    assert c.ci95[0] <= a - u <= c.ci95[1]
    assert c.mcnemar.p_value < 1e-6
    assert c.gap_closed == pytest.approx((a - u) / (e - u), abs=0.12)
    assert c.gap_closed_ci95[0] <= (a - u) / (e - u) <= c.gap_closed_ci95[1]


def test_no_position_or_side_bias_is_reported_where_there_is_none(result: Known) -> None:
    _, analysis = result
    for g in analysis.groups:
        first, second = g.by_gold_position
        assert first.ci95 is not None and second.accuracy is not None
        assert first.ci95[0] - 0.02 <= second.accuracy <= first.ci95[1] + 0.02
        assert g.picks_first == pytest.approx(0.5, abs=0.06)
