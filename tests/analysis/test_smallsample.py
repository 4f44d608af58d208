"""CR2, Fieller, the sign-flip test and Holm, each checked against a reference library."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from oversight.analysis._smallsample import (
    cr2_contrast,
    cr2_means,
    fieller,
    fieller_covers,
    holm,
    proportion_interval,
    sign_flip_test,
    t_quantile,
)


def _two_groups(seed: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = (rng.random(n) < 0.4).astype(float)
    x = np.stack([np.ones(n), group], axis=1)
    y = rng.normal(size=n) * (1 + group) + 0.5 * group
    return x, y


def test_cr2_with_one_observation_per_cluster_is_statsmodels_hc2() -> None:
    x, y = _two_groups(0)
    fit = cr2_contrast(x, y, np.arange(y.size), np.array([0.0, 1.0]))
    ref = sm.OLS(y, x).fit(cov_type="HC2")
    assert fit.estimate == pytest.approx(ref.params[1])
    assert fit.se == pytest.approx(ref.bse[1], rel=1e-10)
    # HC2 of a two-group difference is Welch's standard error.
    welch = stats.ttest_ind(y[x[:, 1] == 1], y[x[:, 1] == 0], equal_var=False)
    assert fit.estimate / fit.se == pytest.approx(welch.statistic)


def test_cr2_matches_the_dense_textbook_formula() -> None:
    rng = np.random.default_rng(1)
    x, y = _two_groups(1, n=36)
    cluster = rng.integers(0, 7, y.size)
    fit = cr2_contrast(x, y, cluster, np.array([0.0, 1.0]))
    # V = M (sum_c X_c' A_c e_c e_c' A_c X_c) M with A_c = (I - H_cc)^(-1/2) by scipy.
    m = np.linalg.inv(x.T @ x)
    e = y - x @ (m @ x.T @ y)
    meat = np.zeros((2, 2))
    for c in np.unique(cluster):
        rows = cluster == c
        h = x[rows] @ m @ x[rows].T
        a = np.real(scipy.linalg.fractional_matrix_power(np.eye(rows.sum()) - h, -0.5))
        u = x[rows].T @ a @ e[rows]
        meat += np.outer(u, u)
    v = m @ meat @ m
    assert fit.se == pytest.approx(np.sqrt(v[1, 1]), rel=1e-8)
    # The intercept-only closed form agrees with the general one.
    mean, cov, df = cr2_means(y, np.unique(cluster, return_inverse=True)[1])
    general = cr2_contrast(np.ones((y.size, 1)), y, cluster, np.array([1.0]))
    assert mean[0] == pytest.approx(general.estimate)
    assert np.sqrt(cov[0, 0]) == pytest.approx(general.se, rel=1e-10)
    assert df[0] == pytest.approx(general.df, rel=1e-10)


def test_bell_mccaffrey_df_is_c_minus_1_for_equal_clusters_and_less_otherwise() -> None:
    y = np.random.default_rng(2).normal(size=40)
    assert cr2_means(y, np.repeat(np.arange(8), 5))[2][0] == pytest.approx(7.0)
    unequal = np.concatenate([np.zeros(26), np.arange(1, 8).repeat(2)]).astype(np.int64)
    assert cr2_means(y, unequal)[2][0] < 7.0


def test_proportion_interval_without_variation_is_clopper_pearson_over_sources() -> None:
    y = np.ones(10)
    mean, cov, df = cr2_means(y, np.repeat(np.arange(5), 2))
    from oversight.analysis._smallsample import Cr2

    fit = Cr2(float(mean[0]), float(np.sqrt(cov[0, 0])), float(df[0]))
    assert fit.interval() is None  # a zero standard error says nothing
    lo, hi = proportion_interval(1.0, fit, 5, 10)  # type: ignore[misc]
    ref = stats.binomtest(5, 5).proportion_ci(method="exact")
    assert (lo, hi) == pytest.approx((ref.low, ref.high))


def test_fieller_endpoints_are_where_the_t_test_of_the_ratio_just_rejects() -> None:
    a, b, df = 0.12, 0.30, 11.0
    cov = np.array([[0.0016, 0.0006], [0.0006, 0.0025]])
    lo, hi = fieller(a, b, cov, df)  # type: ignore[misc]
    crit = stats.t.ppf(0.975, df)
    for theta in (lo, hi):
        t = (a - theta * b) / np.sqrt(cov[0, 0] - 2 * theta * cov[0, 1] + theta**2 * cov[1, 1])
        assert abs(t) == pytest.approx(crit)
    assert lo < a / b < hi
    assert fieller_covers(a, b, cov, df, a / b) and not fieller_covers(a, b, cov, df, hi + 0.1)
    # A denominator not clearly away from zero: the set is unbounded.
    assert fieller(a, 0.05, cov, df) is None
    assert t_quantile(0.975, df) == pytest.approx(crit)


def test_sign_flip_test_is_scipys_exact_permutation_test() -> None:
    totals = np.array([1.0, 2.0, -0.5, 3.0, 1.5, 0.0, 2.5, -1.0, 0.5, 1.0])
    ours = sign_flip_test(totals, np.random.default_rng(0))
    ref = stats.permutation_test(
        (totals,),
        np.sum,
        permutation_type="samples",
        alternative="two-sided",
        n_resamples=np.inf,
    )
    assert ours == pytest.approx(ref.pvalue)
    many = np.random.default_rng(1).normal(0.3, 1, 30)
    approx = stats.permutation_test(
        (many,), np.sum, permutation_type="samples", n_resamples=20000, random_state=2
    )
    assert sign_flip_test(many, np.random.default_rng(3)) == pytest.approx(approx.pvalue, abs=0.01)


def test_holm_is_statsmodels_multipletests() -> None:
    p = [0.01, 0.04, 0.03, 0.2, 0.005]
    assert holm([*p, None]) == pytest.approx([*multipletests(p, method="holm")[1], None])


def test_cr3_with_one_observation_per_cluster_is_statsmodels_hc3() -> None:
    x, y = _two_groups(4)
    fit = cr2_contrast(x, y, np.arange(y.size), np.array([0.0, 1.0]), jackknife=True)
    ref = sm.OLS(y, x).fit(cov_type="HC3")
    assert fit.se == pytest.approx(ref.bse[1], rel=1e-10)


def test_sign_flip_with_many_sources_is_the_normal_limit_of_scipys_permutation_test() -> None:
    totals = np.random.default_rng(5).normal(0.25, 1, 80)
    approx = stats.permutation_test(
        (totals,), np.sum, permutation_type="samples", n_resamples=40000, random_state=6
    )
    assert sign_flip_test(totals, np.random.default_rng(0)) == pytest.approx(
        approx.pvalue, abs=0.01
    )


def test_a_share_equal_in_every_source_keeps_the_independent_judgments_width() -> None:
    from oversight.analysis._smallsample import Cr2

    y = np.array([1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1], dtype=float)  # 3/4 each
    mean, cov, df = cr2_means(y, np.repeat(np.arange(4), 4))
    fit = Cr2(float(mean[0]), float(np.sqrt(max(cov[0, 0], 0.0))), float(df[0]))
    assert fit.se == pytest.approx(0.0, abs=1e-12)
    lo, hi = proportion_interval(0.75, fit, 4, 16)  # type: ignore[misc]
    half = stats.t.ppf(0.975, 3) * np.sqrt(0.75 * 0.25 / 16)
    assert (lo, hi) == pytest.approx((0.75 - half, min(1.0, 0.75 + half)))
