"""Side-adjusted Bradley-Terry ratings, checked against statsmodels' logistic regression."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from oversight.analysis import rate_players
from oversight.analysis._ratings import ELO_SCALE
from transcripts.errors import ConfigError


def _matches(
    seed: int, n: int = 400
) -> tuple[list[str], list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    skill = np.array([0.8, 0.0, -0.5, 0.3])
    a = rng.integers(0, 4, n)
    b = (a + rng.integers(1, 4, n)) % 4
    ca = rng.random(n) < 0.5
    cb = ~ca
    z = skill[a] - skill[b] + 1.5 * (ca.astype(float) - cb)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    names = [f"p{i}" for i in range(4)]
    return [names[i] for i in a], [names[i] for i in b], y, ca, cb, np.stack([a, b])


def test_with_a_flat_prior_the_fit_is_statsmodels_logistic_mle() -> None:
    first, second, y, ca, cb, ab = _matches(1)
    fit = rate_players(
        first, second, y, first_correct=ca, second_correct=cb, prior_sd=1e4, side_prior_sd=1e4
    )
    # Reference: logit of y on (e_a - e_b) without player 0's column, plus the side column.
    design = np.zeros((y.size, 4))
    design[np.arange(y.size), ab[0]] += 1
    design[np.arange(y.size), ab[1]] -= 1
    design[:, 0] = ca.astype(float) - cb
    ref = sm.Logit(y, design).fit(disp=0)
    elo = {p.debater: p.elo for p in fit.players}
    for i in (1, 2, 3):
        assert (elo[f"p{i}"] - elo["p0"]) / ELO_SCALE == pytest.approx(ref.params[i], abs=1e-4)
    assert fit.side_advantage == pytest.approx(ref.params[0], abs=1e-4)
    lo, hi = fit.side_advantage_ci95  # type: ignore[misc]
    assert (hi - lo) / 2 == pytest.approx(1.959964 * ref.bse[0], rel=1e-3)


def test_the_prior_is_statsmodels_ridge_penalty() -> None:
    first, second, y, ca, cb, ab = _matches(2, n=60)
    fit = rate_players(first, second, y, first_correct=ca, second_correct=cb, prior_sd=1.0)
    design = np.zeros((y.size, 5))
    design[np.arange(y.size), ab[0]] += 1
    design[np.arange(y.size), ab[1]] -= 1
    design[:, 4] = ca.astype(float) - cb
    # statsmodels minimises -loglike / n + alpha / 2 * |beta|^2 (L1_wt = 0).
    alpha = np.array([1.0, 1.0, 1.0, 1.0, 1 / 25]) / y.size
    ref = sm.GLM(y, design, family=sm.families.Binomial()).fit_regularized(
        alpha=alpha, L1_wt=0.0, cnvrg_tol=1e-12, maxiter=2000
    )
    elo = {p.debater: p.elo for p in fit.players}
    for i in range(4):
        assert (elo[f"p{i}"] - 1500) / ELO_SCALE == pytest.approx(ref.params[i], abs=1e-4)
    assert fit.side_advantage == pytest.approx(ref.params[4], abs=1e-4)


def test_the_side_term_separates_skill_from_the_luck_of_the_assignment() -> None:
    # Equal players; "lucky" argued the correct side in 90% of its matches.
    rng = np.random.default_rng(3)
    n = 300
    lucky_correct = rng.random(n) < 0.9
    z = 2.0 * np.where(lucky_correct, 1.0, -1.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    first, second = ["lucky"] * n, ["unlucky"] * n
    plain = rate_players(first, second, y)
    sided = rate_players(
        first, second, y, first_correct=lucky_correct, second_correct=~lucky_correct
    )
    gap = {f.players[0].elo - f.players[1].elo for f in (plain,)}.pop()
    assert gap > 150  # plain Bradley-Terry credits the assignment to the player
    ratings = {p.debater: p for p in sided.players}
    lo, hi = ratings["lucky"].ci95  # type: ignore[misc]
    assert lo < 1500 < hi
    assert abs(ratings["lucky"].elo - ratings["unlucky"].elo) < 60
    assert sided.side_advantage_ci95 is not None and sided.side_advantage_ci95[0] > 1.0


def test_a_side_blind_rating_shrinks_gaps_as_khan_et_al_s_aggregate_elo_does() -> None:
    # docs/guide/khan.md: in a round robin where every pair argues both sides, a side-blind
    # fit (the paper's aggregate Elo) averages each pair's win rates over the two sides; at
    # a 2-logit truth advantage its gaps are about 45% of the side-adjusted ones.
    skill, n = np.array([-0.6, -0.3, 0.0, 0.3, 0.6]), 1000
    first, second, outcome, gold_first = [], [], [], []
    for i in range(5):
        for j in range(5):
            if i != j:  # i argues the gold, j the distractor: its expected wins, exactly
                wins = round(n / (1 + np.exp(-(skill[i] - skill[j] + 2.0))))
                first += [f"p{i}"] * n
                second += [f"p{j}"] * n
                outcome += [1.0] * wins + [0.0] * (n - wins)
                gold_first += [True] * n
    sided = rate_players(
        first, second, outcome, first_correct=gold_first, second_correct=[False] * len(first)
    )
    blind = rate_players(first, second, outcome)
    spread = {f.side_advantage is None: np.ptp([p.elo for p in f.players]) for f in (sided, blind)}
    assert abs(spread[False] / ELO_SCALE / 1.2 - 1) < 0.03  # side-adjusted: the true gaps
    assert 0.4 < spread[True] / spread[False] < 0.5


def test_one_match_moves_a_player_little_and_bad_input_is_refused() -> None:
    fit = rate_players(["a"], ["b"], [1.0])
    assert all(abs(p.elo - 1500) < 100 for p in fit.players)
    with pytest.raises(ConfigError, match="one entry per match"):
        rate_players(["a"], ["b", "c"], [1.0])
    with pytest.raises(ConfigError, match="outcome"):
        rate_players(["a"], ["b"], [2.0])
    with pytest.raises(ConfigError, match="both first_correct"):
        rate_players(["a"], ["b"], [1.0], first_correct=[True])


def test_accuracy_vs_elo_is_statsmodels_wls_with_hc2() -> None:
    from scipy import stats

    from oversight.analysis import accuracy_vs_elo

    elo = np.array([1350.0, 1420, 1500, 1560, 1610, 1700])
    acc = np.array([0.62, 0.66, 0.70, 0.71, 0.76, 0.80])
    n = np.array([40, 55, 60, 38, 70, 45])
    rel = accuracy_vs_elo(elo, acc, n)
    x = sm.add_constant((elo - 1500) / 100)
    ref = sm.WLS(acc, x, weights=n).fit(cov_type="HC2")
    assert rel.slope_per_100_elo == pytest.approx(ref.params[1])
    assert rel.accuracy_at_1500 == pytest.approx(ref.params[0])
    half = stats.t.ppf(0.975, rel.df) * ref.bse[1]
    assert rel.slope_ci95 == pytest.approx((ref.params[1] - half, ref.params[1] + half))
    with pytest.raises(ConfigError, match="at least 3 players"):
        accuracy_vs_elo([1500, 1600], [0.7, 0.8])
