"""RRM reward margins and prover–estimator payoffs, checked against NumPy on the same data."""

from __future__ import annotations

import numpy as np
import pytest

from oversight.analysis import tree_stats
from transcripts import Question, Transcript, Tree, TreeNode


def rrm(k: int, rewards: list[float], gold: int, source: str) -> Transcript:
    roots = [TreeNode(id=chr(65 + i), claim="c", answer=i, score=r) for i, r in enumerate(rewards)]
    return Transcript(
        id=f"r{k}",
        protocol="rrm",
        condition="rrm",
        question=Question(
            id=f"q{k}",
            text="?",
            answers=["a", "b", "c"][: len(rewards)],
            correct=gold,
            source=source,
        ),
        tree=Tree(kind="rrm", roots=roots, decide="rewards", rewards=rewards),
    )


def pe(k: int, payoff: float, argued: int, source: str) -> Transcript:
    return Transcript(
        id=f"p{k}",
        protocol="prover-estimator",
        condition="pe",
        question=Question(id=f"q{k}", text="?", answers=["a", "b"], correct=0, source=source),
        assignment={"Prover": argued},
        tree=Tree(
            kind="prover-estimator",
            decide="estimator",
            prover_payoff=payoff,
            roots=[TreeNode(id="A", claim="c", answer=argued, estimate=0.5)],
        ),
    )


def test_reward_margins_and_payoffs_match_numpy() -> None:
    rng = np.random.default_rng(3)
    rewards = rng.random((60, 3)).round(2)
    rewards[0] = [0.5, 0.5, 0.1]  # a tie for first that includes the gold
    golds = rng.integers(0, 3, 60)
    payoffs = rng.normal(0.05, 0.3, 80).round(3)
    payoffs[0] = 0.0
    argued = rng.integers(0, 2, 80)
    items = [rrm(k, list(map(float, rewards[k])), int(golds[k]), f"s{k % 12}") for k in range(60)]
    items += [pe(k, float(payoffs[k]), int(argued[k]), f"s{k % 12}") for k in range(80)]
    pe_stats, rrm_stats = tree_stats(items, n_bootstrap=300)
    margin = [rewards[k, golds[k]] - np.delete(rewards[k], golds[k]).mean() for k in range(60)]
    first = [
        (1 / np.sum(rewards[k] == rewards[k].max())) * (rewards[k, golds[k]] == rewards[k].max())
        for k in range(60)
    ]
    assert rrm_stats.reward_margin.value == pytest.approx(np.mean(margin))
    assert rrm_stats.gold_ranked_first.value == pytest.approx(np.mean(first))
    assert rrm_stats.payoff.value is None and rrm_stats.sources == 12
    won = np.where(payoffs == 0, 0.5, (payoffs > 0).astype(float))
    assert pe_stats.payoff.value == pytest.approx(payoffs.mean())
    assert pe_stats.prover_wins.value == pytest.approx(won.mean())
    honest = payoffs[argued == 0].mean() - payoffs[argued == 1].mean()
    assert pe_stats.honesty_premium.value == pytest.approx(honest)
    assert pe_stats.honesty_premium.ci95 is not None
    low, high = pe_stats.honesty_premium.ci95
    assert low < honest < high
    assert pe_stats.reward_margin.value is None and pe_stats.kind == "prover-estimator"


def test_items_without_gold_or_tree_are_left_out() -> None:
    no_gold = rrm(0, [0.2, 0.8], 0, "s").model_copy(
        update={"question": Question(id="q", text="?", answers=["a", "b"])}
    )
    assert tree_stats([no_gold]) == []


def test_a_payoff_that_is_zero_but_for_rounding_is_a_draw() -> None:
    # 0.7 - 0.6 - 0.1 is 2.8e-17, not 0: the prover "won" a debate that was a draw, where
    # debater matches count a difference within 1e-9 as a draw.
    payoff = 0.7 - 0.6 - 0.1
    assert payoff != 0
    (stats,) = tree_stats([pe(0, payoff, 0, "s0"), pe(1, payoff, 1, "s1")], n_bootstrap=20)
    assert stats.prover_wins.value == 0.5


def test_with_few_sources_the_tree_intervals_are_cr2_t_as_statsmodels_computes_them() -> None:
    # One item per source, 20 sources: below 50 the report's means and differences are CR2
    # with a Bell-McCaffrey t; the tree statistics used the percentile bootstrap whatever
    # the sources. With one item per source CR2 is HC2, and for two groups of ten the
    # Bell-McCaffrey df is n - 2, statsmodels' residual df.
    import statsmodels.api as sm
    from scipy import stats

    rng = np.random.default_rng(8)
    payoffs = rng.normal(0.1, 0.3, 20).round(3)
    argued = np.array([0, 1] * 10)
    (result,) = tree_stats(
        [pe(k, float(payoffs[k]), int(argued[k]), f"s{k}") for k in range(20)], n_bootstrap=300
    )
    x = np.stack([np.ones(20), argued == 0], axis=1).astype(float)
    fit = sm.OLS(payoffs, x).fit(cov_type="HC2", use_t=True)
    assert fit.df_resid == 18
    assert result.honesty_premium.ci95 == pytest.approx(tuple(fit.conf_int(0.05)[1]))
    assert result.honesty_premium.ci_method == "CR2, t(Bell-McCaffrey df)"
    # HC2 of a mean of independent items is the one-sample t interval.
    one = stats.ttest_1samp(payoffs, 0.0).confidence_interval(0.95)
    assert result.payoff.ci95 == pytest.approx((one.low, one.high))


def test_a_tree_statistic_without_variation_says_so_in_the_words_of_the_comparisons() -> None:
    # Every payoff alike on 6 sources: no interval for the payoff or the honesty premium,
    # and ci_method read "no variation between items to estimate from" where a comparison
    # without variation reads "no variation between sources".
    items = [pe(k, 0.2, k % 2, f"s{k % 6}") for k in range(12)]
    (result,) = tree_stats(items, n_bootstrap=50)
    for stat in (result.payoff, result.honesty_premium):
        assert stat.ci95 is None
        assert stat.ci_method == "no interval: no variation between sources"
