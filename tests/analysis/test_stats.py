"""The statistics against independent implementations and hand-worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

from oversight.analysis import (
    cohens_kappa,
    expected_calibration_error,
    krippendorff_alpha,
    mcnemar_exact,
)
from oversight.analysis._stats import calibration_bins, row_metrics, selective_accuracy


def test_scores_count_a_tie_as_half_and_split_multiway_ties() -> None:
    probs = np.array(
        [
            [0.7, 0.3, 0.0],  # gold 0 on top: 1
            [0.3, 0.7, 0.0],  # wrong: 0
            [0.5, 0.5, 0.0],  # two-way tie with gold: 1/2
            [0.4, 0.3, 0.3],  # gold top at 0.4 (< 0.5 but the verdict): 1
            [1 / 3, 1 / 3, 1 / 3],  # three-way tie: 1/3
        ]
    )
    m = row_metrics(probs, np.zeros(5, dtype=np.int64))
    assert m.score == pytest.approx([1.0, 0.0, 0.5, 1.0, 1 / 3])
    assert list(m.verdict) == [0, 1, -1, 0, -1]
    assert m.confidence == pytest.approx([0.7, 0.7, 0.5, 0.4, 1 / 3])


def test_brier_and_log_score_match_their_textbook_definitions() -> None:
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=200)
    gold = rng.integers(0, 4, size=200)
    m = row_metrics(probs, gold)
    for i in range(200):
        expected = sum((probs[i, k] - (k == gold[i])) ** 2 for k in range(4))
        assert m.brier[i] == pytest.approx(expected)
        assert m.log_score[i] == pytest.approx(math.log(max(probs[i, gold[i]], 1e-6)))
    # Two answers: Brier is 2 * (1 - p_gold)^2; a coin flip scores 0.5.
    two = row_metrics(np.array([[0.5, 0.5], [0.8, 0.2]]), np.array([0, 0]))
    assert two.brier == pytest.approx([0.5, 2 * 0.2**2])


def test_log_score_is_floored_not_infinite() -> None:
    m = row_metrics(np.array([[0.0, 1.0]]), np.array([0]))
    assert m.log_score[0] == pytest.approx(math.log(1e-6))


def _ece_by_loop(conf: list[float], correct: list[float], n_bins: int = 10) -> float:
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [
            i for i, c in enumerate(conf) if (lo <= c < hi) or (b == n_bins - 1 and c == 1.0)
        ]
        if members:
            acc = sum(correct[i] for i in members) / len(members)
            mean_conf = sum(conf[i] for i in members) / len(members)
            total += len(members) / len(conf) * abs(acc - mean_conf)
    return total


def test_ece_matches_a_plain_loop_over_equal_width_bins() -> None:
    rng = np.random.default_rng(7)
    conf = rng.uniform(0.5, 1.0, size=500)
    correct = (rng.random(500) < conf**2).astype(float)
    ours = expected_calibration_error(conf, correct)
    assert ours == pytest.approx(_ece_by_loop(list(conf), list(correct)))


def test_bins_are_right_closed_like_sklearn_calibration_curve() -> None:
    from sklearn.calibration import calibration_curve

    conf = np.array([0.3, 0.6, 0.7, 1.0, 0.5, 0.55, 0.05, 0.0])
    counts, mean_conf, accuracy = calibration_bins(conf, np.ones(8))
    # (a, b]: exact tenths land in the lower bin; [0, 0.1] holds 0.
    assert counts.tolist() == [2, 0, 1, 0, 1, 2, 1, 0, 0, 1]
    assert math.isnan(mean_conf[1]) and math.isnan(accuracy[1])
    rng = np.random.default_rng(4)
    conf = np.concatenate([np.round(rng.random(300), 1), rng.random(300)])
    right = (rng.random(600) < conf).astype(float)
    counts, mean_conf, accuracy = calibration_bins(conf, right)
    prob_true, prob_pred = calibration_curve(right, conf, n_bins=10, strategy="uniform")
    assert mean_conf[counts > 0] == pytest.approx(prob_pred)
    assert accuracy[counts > 0] == pytest.approx(prob_true)


def test_perfectly_calibrated_judgments_have_zero_ece() -> None:
    # In each bin, accuracy equals the confidence exactly.
    conf = np.array([0.75] * 4 + [0.95] * 20)
    correct = np.array([1, 1, 1, 0] + [1] * 19 + [0], dtype=float)
    assert expected_calibration_error(conf, correct) == pytest.approx(0.0)


def test_selective_accuracy_keeps_judgments_at_or_above_the_threshold() -> None:
    conf = np.array([0.55, 0.65, 0.75, 0.85, 0.95])
    score = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    points = selective_accuracy(conf, score, (0.5, 0.75, 0.96))
    assert points[0] == (0.5, 5, 1.0, pytest.approx(0.6))
    assert points[1] == (0.75, 3, pytest.approx(0.6), pytest.approx(2 / 3))
    assert points[2][1] == 0 and math.isnan(points[2][3])


@pytest.mark.parametrize(
    ("b", "c"),
    [
        (0, 0),
        (5, 0),
        (12, 4),
        (30, 41),
        (100, 70),
        (3, 3),
        (1, 2),
        (900, 1000),
        (4900, 5100),
        (24000, 24400),
    ],
)
def test_mcnemar_exact_matches_statsmodels_and_scipy(b: int, c: int) -> None:
    expected = mcnemar([[10, b], [c, 7]], exact=True).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9)
    if b + c:
        assert mcnemar_exact(b, c) == pytest.approx(binomtest(b, b + c, 0.5).pvalue, rel=1e-9)


def test_cohens_kappa_matches_statsmodels_on_random_raters() -> None:
    rng = np.random.default_rng(11)
    for _ in range(20):
        a = rng.integers(0, 3, size=80)
        b = np.where(rng.random(80) < 0.6, a, rng.integers(0, 3, size=80))
        table = np.zeros((3, 3))
        np.add.at(table, (a, b), 1)
        assert cohens_kappa(a, b) == pytest.approx(sm_cohens_kappa(table).kappa)


def test_cohens_kappa_hand_worked() -> None:
    # 50 items: both yes 20, both no 15, a-yes/b-no 5, a-no/b-yes 10.
    # p_o = 35/50 = 0.7; p_e = (25*30 + 25*20)/50^2 = 0.5; kappa = 0.4.
    a = np.array([1] * 20 + [0] * 15 + [1] * 5 + [0] * 10)
    b = np.array([1] * 20 + [0] * 15 + [0] * 5 + [1] * 10)
    assert cohens_kappa(a, b) == pytest.approx(0.4)


def test_krippendorff_alpha_reproduces_krippendorffs_worked_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4 observers x
    # 12 units example with missing values; nominal alpha = 0.743.
    m = -1
    ratings = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, m, m, m],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, m, 3],
            [m, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, m],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, m],
        ]
    ).T
    assert krippendorff_alpha(ratings) == pytest.approx(0.743, abs=5e-4)


def _alpha_by_pairs(ratings: list[list[int]]) -> float:
    """Nominal alpha from its pairwise definition, value by value (no matrices)."""
    pairs_disagree, values = 0.0, []
    for unit in ratings:
        vals = [v for v in unit if v >= 0]
        if len(vals) < 2:
            continue
        values += vals
        m = len(vals)
        pairs_disagree += sum(
            1 for i in range(m) for j in range(m) if i != j and vals[i] != vals[j]
        ) / (m - 1)
    n = len(values)
    expected = sum(1 for i in range(n) for j in range(n) if i != j and values[i] != values[j])
    return 1.0 - (n - 1) * pairs_disagree / expected


def test_krippendorff_alpha_matches_the_pairwise_definition() -> None:
    rng = np.random.default_rng(5)
    for _ in range(10):
        truth = rng.integers(0, 3, size=30)
        ratings = np.where(rng.random((30, 4)) < 0.7, truth[:, None], rng.integers(0, 3, (30, 4)))
        ratings[rng.random((30, 4)) < 0.2] = -1
        assert krippendorff_alpha(ratings) == pytest.approx(_alpha_by_pairs(ratings.tolist()))


def test_agreement_statistics_are_nan_when_undefined() -> None:
    same = np.array([1, 1, 1])
    assert math.isnan(cohens_kappa(same, same))
    assert math.isnan(krippendorff_alpha(np.array([[1, 1], [1, 1]])))
    assert math.isnan(krippendorff_alpha(np.array([[1, -1], [-1, 2]])))  # nothing pairable
