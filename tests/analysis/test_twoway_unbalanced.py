"""The degrees of freedom of a two-way interval whose people each judged one condition
when the conditions had different numbers of people: the variance of a difference then
rests on each condition's own people, and its t is Welch-Satterthwaite's over them (with
equal judgments per person, the Bell-McCaffrey df of the one-way CR2 by person), not the
total count of people less the conditions."""

from __future__ import annotations

import numpy as np
import pytest

from oversight.analysis._smallsample import cr2_contrast
from oversight.analysis._twoway import two_way_cov, two_way_difference


def _between(per_side: tuple[int, ...], each: int = 10, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Rows of people who each judged ``each`` questions of one condition; per row its
    condition, person, source (every question its own) and a score."""
    rng = np.random.default_rng(seed)
    side = np.repeat(np.arange(len(per_side)), np.array(per_side) * each)
    person = np.repeat(np.arange(sum(per_side)), each)
    source = np.arange(side.size)
    score = (rng.random(side.size) < 0.6 + 0.1 * rng.normal(size=sum(per_side))[person]) * 1.0
    return side, person, source, score


@pytest.mark.parametrize(
    ("a", "u", "df"), [(2, 6, 1.7391304), (2, 10, 1.4336283), (3, 3, 4.0), (4, 4, 6.0)]
)
def test_a_between_difference_has_the_df_of_each_condition_s_people(
    a: int, u: int, df: float
) -> None:
    """Was min(sources - 1, people - 2): 6 df for 2 people against 6 (simulated coverage of
    the population difference 91%, and 89% for 2 against 10); now Welch-Satterthwaite's
    over the two conditions' people, here (equal judgments per person) the Bell-McCaffrey
    df of the person term: the same as before where the conditions have as many people."""
    side, person, source, score = _between((a, u))
    fit = two_way_difference(
        score[side == 0], source[side == 0], score[side == 1], source[side == 1], source, person
    )
    x = (side[:, None] == np.arange(2)).astype(np.float64)
    bell_mccaffrey = cr2_contrast(x, score, person, np.array([1.0, -1.0])).df
    assert fit.df == pytest.approx(bell_mccaffrey, rel=1e-6)
    assert fit.df == pytest.approx(df, rel=1e-6)


def test_one_person_in_a_condition_leaves_no_df() -> None:
    """One person's condition says nothing of how people differ there (CR2 gives that
    person's cluster no variance at all): no interval, as for two people one per side; it
    was t(2 df) for 1 against 3."""
    side, person, source, score = _between((1, 3))
    fit = two_way_difference(
        score[side == 0], source[side == 0], score[side == 1], source[side == 1], source, person
    )
    assert fit.df == 0.0
    assert fit.interval() is None


def test_a_gap_closed_by_three_groups_of_people_rests_on_two_groups_each() -> None:
    """A - U and E - U are each estimated from two of the three conditions' people:
    2 (G/3 - 1) df (the Bell-McCaffrey df of each), where the rule gave G - 3."""
    side, person, source, score = _between((3, 3, 3))
    x = (side[:, None] == np.arange(3)).astype(np.float64)
    contrasts = np.array([[1.0, -1.0, 0.0], [0.0, -1.0, 1.0]])
    _, _, df = two_way_cov(x, score, source, person, contrasts, levels=(1, 3))
    for c in contrasts:
        assert cr2_contrast(x, score, person, c).df == pytest.approx(4.0)
    assert df == pytest.approx(4.0)


def test_the_interval_says_its_df_readably() -> None:
    """Unequal groups give a fractional df: said to two decimals (was ``t(1.73913 df)``);
    whole ones as before."""
    from oversight.analysis._interval_rule import ci_method

    assert ci_method(60, annotators=8, df=1.7391304) == (
        "two-way CR2 over 60 sources and 8 annotators, t(1.74 df)"
    )
    assert ci_method(60, annotators=8, df=6.0).endswith("t(6 df)")


def _club_sandwich_df(x: np.ndarray, cluster: np.ndarray, c: np.ndarray) -> float:
    """clubSandwich's Satterthwaite df of a CR2 contrast of an ``lm`` (target the identity),
    written out from its definition with the full hat matrix: ``g_j = (I - H)[:, j] A_j X_j
    M c`` with ``A_j`` the symmetric inverse square root of ``I - H_jj``, ``P[j, k] = g_j'
    g_k``, df ``= 2 E^2 / V`` with ``E = tr P`` and ``V = 2 sum P^2``."""
    m = np.linalg.inv(x.T @ x)
    h = x @ m @ x.T
    rest = np.eye(x.shape[0]) - h
    g = []
    for j in np.unique(cluster):
        rows = np.nonzero(cluster == j)[0]
        w, v = np.linalg.eigh(rest[np.ix_(rows, rows)])
        a = (v / np.sqrt(w)) @ v.T
        g.append(rest[:, rows] @ a @ x[rows] @ m @ c)
    p = np.array([[gj @ gk for gk in g] for gj in g])
    expectation, variance = np.trace(p), 2.0 * (p**2).sum()
    return float(2.0 * expectation**2 / variance)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_bell_mccaffrey_df_is_club_sandwich_s_satterthwaite_df(seed: int) -> None:
    """The df the two-way rule reduces to with equal judgments per person (above), and the
    one-way CR2 df of every interval over sources, checked against clubSandwich's
    definition on unequal clusters with a covariate (``benchmarks/bench_twoway_bm_df.py``
    measures it as a between-person rule)."""
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(8), rng.integers(3, 15, 8))
    side = (person >= 3).astype(np.float64)
    x = np.column_stack([1.0 - side, side, rng.normal(size=person.size)])
    y = rng.normal(size=person.size)
    for c in (np.array([1.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0])):
        assert cr2_contrast(x, y, person, c).df == pytest.approx(
            _club_sandwich_df(x, person, c), rel=1e-9
        )
