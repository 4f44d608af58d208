"""The cluster bootstrap and the Bradley-Terry fit, on data with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from oversight.analysis import fit_bradley_terry
from oversight.analysis._bootstrap import (
    Resampler,
    percentile_interval,
    resample_sums,
    sums_by_cluster,
)
from oversight.analysis._ratings import fit_bradley_terry_batch


def _accuracy_interval(
    cluster: np.ndarray, score: np.ndarray, n_boot: int, seed: int
) -> tuple[float, float] | None:
    clusters, local = np.unique(cluster, return_inverse=True)
    sums = sums_by_cluster(local, np.stack([score, np.ones(score.size)], axis=1), clusters.size)
    boot = resample_sums(sums, n_boot, np.random.default_rng(seed))
    return percentile_interval(boot[:, 0] / boot[:, 1], clusters.size)


def test_independent_rows_give_the_binomial_interval() -> None:
    rng = np.random.default_rng(0)
    score = (rng.random(2000) < 0.7).astype(float)
    lo, hi = _accuracy_interval(np.arange(2000), score, 4000, 1) or (0, 0)
    p = score.mean()
    half = 1.96 * np.sqrt(p * (1 - p) / 2000)
    assert lo == pytest.approx(p - half, abs=0.004)
    assert hi == pytest.approx(p + half, abs=0.004)


def test_clustered_interval_matches_cluster_robust_standard_errors() -> None:
    # 60 stories of 12 questions each; questions of a story share a story effect.
    rng = np.random.default_rng(2)
    cluster = np.repeat(np.arange(60), 12)
    story_skill = rng.uniform(0.1, 1.0, size=60)
    score = (rng.random(cluster.size) < story_skill[cluster]).astype(float)
    lo, hi = _accuracy_interval(cluster, score, 6000, 3) or (0, 0)
    fit = sm.OLS(score, np.ones(score.size)).fit(cov_type="cluster", cov_kwds={"groups": cluster})
    se = float(fit.bse[0])
    # The bootstrap half-width matches 1.96 cluster-robust SEs (within resampling noise),
    # and is far wider than the naive interval that ignores clustering.
    assert (hi - lo) / 2 == pytest.approx(1.96 * se, rel=0.12)
    naive = 1.96 * np.sqrt(score.mean() * (1 - score.mean()) / score.size)
    assert (hi - lo) / 2 > 1.5 * naive


def test_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(4)
    truth, hits, trials = 0.7, 0, 300
    for t in range(trials):
        cluster = np.repeat(np.arange(40), 5)
        skill = np.clip(truth + rng.normal(0, 0.15, size=40), 0, 1)
        score = (rng.random(cluster.size) < skill[cluster]).astype(float)
        interval = _accuracy_interval(cluster, score, 400, t)
        assert interval is not None
        hits += interval[0] <= truth <= interval[1]
    # Mean of the skills is ~0.7 (clipping is symmetric enough); allow for percentile-interval
    # undercoverage at 40 clusters and Monte Carlo noise.
    assert 0.88 <= hits / trials <= 0.99


def test_one_cluster_gives_no_interval() -> None:
    assert _accuracy_interval(np.zeros(50, dtype=np.int64), np.ones(50), 100, 0) is None


def test_resampler_is_reproducible_and_agrees_with_chunked_draws() -> None:
    sums = np.random.default_rng(0).random((30, 2))
    clusters = np.arange(100, 130)
    a = Resampler(500, seed=9).sums(clusters, sums)
    b = Resampler(500, seed=9).sums(clusters, sums)
    assert np.array_equal(a, b)
    assert a.shape == (500, 2)
    # Every resample draws 30 clusters: the count column (all ones) sums to 30.
    ones = Resampler(500, seed=9).sums(clusters, np.ones((30, 1)))
    assert np.all(ones == 30)


def _matches(theta: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = theta.size
    wins = np.zeros((k, k))
    design, outcome = [], []
    for _ in range(n):
        i, j = rng.choice(k, size=2, replace=False)
        won = rng.random() < 1 / (1 + np.exp(-(theta[i] - theta[j])))
        wins[(i, j) if won else (j, i)] += 1
        x = np.zeros(k)
        x[i], x[j] = 1.0, -1.0
        design.append(x[1:])
        outcome.append(float(won))
    return wins, np.array(design), np.array(outcome)


def test_bradley_terry_mle_matches_logistic_regression() -> None:
    theta = np.array([0.0, 0.6, -0.4, 1.1])
    wins, design, outcome = _matches(theta, 3000, 1)
    ours = fit_bradley_terry(wins, prior=0.0)
    logit = sm.Logit(outcome, design).fit(disp=0)
    reference = np.concatenate([[0.0], logit.params])
    assert ours == pytest.approx(reference - reference.mean(), abs=1e-5)


def test_bradley_terry_recovers_known_strengths() -> None:
    theta = np.array([0.0, 0.6, -0.4, 1.1])
    wins, _, _ = _matches(theta, 20000, 2)
    assert fit_bradley_terry(wins) == pytest.approx(theta - theta.mean(), abs=0.06)


def test_batched_newton_fit_agrees_with_scipy() -> None:
    theta = np.array([0.3, -0.2, 0.5])
    batch = np.stack([_matches(theta, 300, s)[0] for s in range(5)])
    batched = fit_bradley_terry_batch(batch, prior=0.01)
    for b in range(5):
        assert batched[b] == pytest.approx(fit_bradley_terry(batch[b], prior=0.01), abs=1e-6)


def test_a_debater_who_always_wins_gets_a_finite_rating() -> None:
    wins = np.array([[0.0, 10.0], [0.0, 0.0]])
    theta = fit_bradley_terry(wins)
    assert np.all(np.isfinite(theta)) and theta[0] > theta[1] + 3
    assert np.all(np.isfinite(fit_bradley_terry_batch(wins[None])))
